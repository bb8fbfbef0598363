import type { ControlEvent } from './contract.ts';
import {
  operation,
  UI_OPERATIONS,
  type OperationArgs,
  type OperationOutput,
  type RequestOperationName,
  type RequestParts,
  type UiOperationName,
} from './operations.ts';

/** A method per request operation named, with its positional arguments (operations.ts). */
export type OperationMethods<Names extends RequestOperationName> = {
  [K in Names]: (...args: OperationArgs<K>) => Promise<OperationOutput<K>>;
};

/** One method per operation the UI may call. */
export type WardenApiMethods = OperationMethods<UiOperationName>;

/**
 * What the UI may do, and nothing more: one method per UI operation (operations.ts), typed
 * from the table, plus `subscribe` for the event stream. Implemented by ControlClient over HTTP
 * (CLI, browser dashboard) and by the Electron preload over IPC, which exposes exactly these
 * methods under `window.warden`. Every method rejects with a WardenError whose message is meant
 * for a person.
 */
export interface WardenApi extends WardenApiMethods {
  /**
   * Follows the daemon's events (approvals requested and resolved, audit rows, status changes).
   * `onOpen` runs each time the stream is (re)connected: read the current state there, so
   * nothing falls between a read and the stream. Reconnects after 1 s when the stream drops.
   * @returns a function that stops following.
   */
  subscribe(onEvent: (event: ControlEvent) => void, onOpen?: () => void): () => void;
}

/**
 * Calls an operation with its request's parts, validated by the daemon (or, in process, by the
 * same schemas): what the CLI uses where the positional arguments carry too little.
 */
export interface ControlCaller {
  request<K extends RequestOperationName>(name: K, parts: RequestParts): Promise<OperationOutput<K>>;
}

/** The request methods of WardenApi (all but `subscribe`), in table order. */
export const WARDEN_API_METHODS: readonly UiOperationName[] = UI_OPERATIONS;

export type WardenApiMethod = UiOperationName;

/**
 * The methods of the operations named, over `caller`: each builds its operation's request from
 * its positional arguments (the table's `request`) and calls `caller.request`.
 */
export function operationMethods<N extends RequestOperationName>(
  caller: ControlCaller,
  names: readonly N[],
): OperationMethods<N> {
  const methods: Record<string, unknown> = {};
  for (const name of names) {
    const build = operation(name).request as ((...args: unknown[]) => RequestParts) | undefined;
    methods[name] = (...args: unknown[]) => caller.request(name, build ? build(...args) : {});
  }
  return methods as OperationMethods<N>;
}
