import { createParser } from 'eventsource-parser';
import { z } from 'zod';
import { describeError, fromWire, WardenError } from '../errors.ts';
import { controlEventSchema, type ControlEvent } from './contract.ts';
import {
  fillPath,
  operation,
  queryEntries,
  REQUEST_OPERATIONS,
  type OperationOutput,
  type RequestOperationName,
  type RequestParts,
} from './operations.ts';
import { operationMethods, type ControlCaller, type OperationMethods, type WardenApi } from './warden-api.ts';

/** Reconnect delay of `subscribe` after the event stream drops, ms. */
const RECONNECT_MS = 1000;

/**
 * A typed client of the daemon's control API over HTTP, derived from the operations table
 * (operations.ts): each WardenApi method builds its operation's request from its arguments and
 * validates the answer with the operation's output schema. Runs in Node (CLI) and in the
 * browser (dashboard): it only needs `fetch`. Errors are the daemon's WardenError rebuilt from
 * its `{ error: { code, message } }` (fromWire, errors.ts; a code this version does not know is
 * UNRECOGNIZED), or DAEMON_UNREACHABLE when it does not answer or answers without an error body.
 */
class HttpControlClient implements ControlCaller {
  readonly #base: string;
  readonly #token: string;

  /**
   * @param base the API root, e.g. "http://127.0.0.1:47113/api/v1" (or "/api/v1" in a page).
   * @param token the daemon's bearer token, or a dashboard session token.
   */
  constructor(base: string, token: string) {
    this.#base = base.replace(/\/$/, '');
    this.#token = token;
    Object.assign(this, operationMethods(this, REQUEST_OPERATIONS));
  }

  /**
   * Calls an operation with its request's parts (the WardenApi methods build them from their
   * arguments; the CLI passes more where it needs to, e.g. a protect's channel).
   * @throws WardenError the daemon's error, DAEMON_UNREACHABLE, USAGE for a "." or ".." name.
   */
  async request<K extends RequestOperationName>(name: K, parts: RequestParts): Promise<OperationOutput<K>> {
    const spec = operation(name);
    const query = parts.query ? new URLSearchParams(queryEntries(parts.query)).toString() : '';
    const path = `${fillPath(spec.path, parts.params, seg)}${query ? `?${query}` : ''}`;
    const body = parts.body ?? (spec.method === 'POST' || spec.method === 'PUT' ? {} : undefined);
    const response = await this.#fetch(spec.method, path, body);
    if (!response.ok) throw await errorOf(response);
    if (spec.response === 'text') return (await response.text()) as OperationOutput<K>;
    return spec.output.parse(await response.json()) as OperationOutput<K>;
  }

  /**
   * A browser dashboard URL with a fresh one-time ticket (daemon token only; not part of
   * WardenApi: the UI cannot mint access for others).
   */
  async dashboardUrl(): Promise<string> {
    const response = await this.#fetch('POST', '/ui/ticket', {});
    if (!response.ok) throw await errorOf(response);
    return z.object({ url: z.string() }).parse(await response.json()).url;
  }

  /**
   * Follows the event stream until `signal` aborts (one connection; see `subscribe` for the
   * reconnecting form). `onOpen` runs once the stream is connected.
   * @throws WardenError the daemon's error when it refuses the stream, DAEMON_UNREACHABLE when
   *   it does not answer.
   */
  async events(
    onEvent: (event: ControlEvent) => void,
    signal: AbortSignal,
    onOpen?: () => Promise<void> | void,
  ): Promise<void> {
    const response = await this.#fetch('GET', operation('events').path, undefined, signal);
    if (!response.ok || !response.body) {
      throw response.ok
        ? new WardenError(
            'DAEMON_UNREACHABLE',
            `the event stream answered HTTP ${response.status} without a body`,
          )
        : await errorOf(response);
    }
    await onOpen?.();
    const parser = createParser({
      onEvent: (event) => {
        const parsed = controlEventSchema.safeParse(JSON.parse(event.data));
        if (parsed.success) onEvent(parsed.data);
      },
    });
    const decoder = new TextDecoder();
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        parser.feed(decoder.decode(value, { stream: true }));
      }
    } catch (error) {
      if (!signal.aborted) throw error;
    }
  }

  subscribe(onEvent: (event: ControlEvent) => void, onOpen?: () => void): () => void {
    const controller = new AbortController();
    const loop = async (): Promise<void> => {
      while (!controller.signal.aborted) {
        try {
          await this.events(onEvent, controller.signal, onOpen);
        } catch {
          // The daemon restarted or the network blipped: try again below.
        }
        if (controller.signal.aborted) return;
        await new Promise((resolve) => setTimeout(resolve, RECONNECT_MS));
      }
    };
    void loop();
    return () => controller.abort();
  }

  #fetch(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<Response> {
    return fetch(`${this.#base}${path}`, {
      method,
      headers: { authorization: `Bearer ${this.#token}`, 'content-type': 'application/json' },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      ...(signal ? { signal } : {}),
    }).catch((error: unknown) => {
      throw new WardenError(
        'DAEMON_UNREACHABLE',
        `the Warden daemon did not answer (${describeError(error)})`,
        { cause: error },
      );
    });
  }
}

/** The HTTP client: every WardenApi method (derived from the table), plus ticket and events. */
export type ControlClient = HttpControlClient & WardenApi & OperationMethods<RequestOperationName>;

/** See HttpControlClient. */
export const ControlClient = HttpControlClient as unknown as new (
  base: string,
  token: string,
) => ControlClient;

/**
 * The WardenError an error response carries (`{ error: { code, message } }`, the control API's
 * shape), or DAEMON_UNREACHABLE naming the status when the body is not one.
 */
async function errorOf(response: Response): Promise<WardenError> {
  let body: unknown;
  try {
    body = await response.json();
  } catch (error) {
    return new WardenError(
      'DAEMON_UNREACHABLE',
      `the Warden daemon answered HTTP ${response.status} without an error (${describeError(error)})`,
    );
  }
  return (
    fromWire((body as { error?: unknown } | null)?.error) ??
    new WardenError(
      'DAEMON_UNREACHABLE',
      `the Warden daemon answered HTTP ${response.status} without an error`,
    )
  );
}

/**
 * One path segment, percent-encoded. "." and ".." (even encoded, WHATWG URL parsing treats
 * "%2e" as a dot) would change the route, so they are refused.
 * @throws WardenError USAGE for "." or "..".
 */
function seg(value: string): string {
  if (value === '.' || value === '..') throw new WardenError('USAGE', `"${value}" is not a valid name`);
  return encodeURIComponent(value);
}
