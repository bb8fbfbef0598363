import type { JSONRPCRequest, RequestId } from '@modelcontextprotocol/server';
import type { CallScope } from '../guard/chain.ts';
import { idKey } from './jsonrpc.ts';

/** A client request in a session, from its receipt until it is answered or withdrawn. */
export interface Exchange {
  /** The client's request id (answers carry it back). */
  readonly id: RequestId;
  /** {@link idKey} of `id`. */
  readonly key: string;
  readonly method: string;
  readonly params: Record<string, unknown> | undefined;
  /** When it was received, ms (the session's clock). */
  readonly startedAt: number;
  /** The id it was forwarded under, while the upstream's answer is awaited. */
  upstreamId?: number;
  /** When it was forwarded upstream, ms (the session's clock): audited durations start here. */
  forwardedAt?: number;
  /** The audit row of a tools/call, until its outcome is recorded. */
  auditId?: number;
  /** Held by the guard for this call (released when the call ends). */
  scope?: CallScope;
  /** While the guard holds the call (waiting for a person): aborting it withdraws the call. */
  held?: AbortController;
}

/** What {@link Exchanges.reserve} returns. */
export interface Reservation {
  /** The ids already in progress in the session or given twice; nothing is reserved when any. */
  clashes: RequestId[];
  /** Drops the reservations that no request took up (call once the transport has handled the POST). */
  release(): void;
}

/**
 * The client requests in progress in one session, and the ids they travel under upstream.
 *
 * Every request forwarded upstream gets a fresh numeric id from the session (1, 2, …), mapped
 * back to the client's id on the answer; Warden's own requests use `mcp-warden/…` strings
 * (UpstreamSupervisor), so no client id, whatever it is, can be mistaken for one of Warden's or
 * for another client request's (JSON-RPC 2.0 section 4; MCP 2025-11-25 basic, "Requests": ids
 * are unique per session among requests in progress). Ids 1 and "1" are different ids.
 */
export class Exchanges {
  readonly #open = new Map<string, Exchange>();
  readonly #upstream = new Map<number, Exchange>();
  readonly #reserved = new Map<string, object>();
  #nextUpstreamId = 1;

  /**
   * Reserves the ids of requests about to be delivered (one POST), so a second request with an
   * id in progress is refused before it reaches the transport, which routes answers by id.
   */
  reserve(ids: readonly RequestId[]): Reservation {
    const keys = ids.map(idKey);
    const clashes = ids.filter((_, i) => {
      const key = keys[i]!;
      return this.#open.has(key) || this.#reserved.has(key) || keys.indexOf(key) !== i;
    });
    if (clashes.length > 0) return { clashes, release: () => undefined };
    const token = {};
    for (const key of keys) this.#reserved.set(key, token);
    return {
      clashes: [],
      release: () => {
        for (const key of keys) if (this.#reserved.get(key) === token) this.#reserved.delete(key);
      },
    };
  }

  /** Registers a request; undefined when a request with the same id is still in progress. */
  open(request: JSONRPCRequest, startedAt: number): Exchange | undefined {
    const key = idKey(request.id);
    if (this.#open.has(key)) return undefined;
    this.#reserved.delete(key);
    const exchange: Exchange = {
      id: request.id,
      key,
      method: request.method,
      params: request.params,
      startedAt,
    };
    this.#open.set(key, exchange);
    return exchange;
  }

  /** True while `exchange` has been neither answered nor withdrawn. */
  isOpen(exchange: Exchange): boolean {
    return this.#open.get(exchange.key) === exchange;
  }

  /** The request in progress with the client's id `id`. */
  get(id: RequestId): Exchange | undefined {
    return this.#open.get(idKey(id));
  }

  /** Assigns the id `exchange` is forwarded under. @returns that id. */
  forwarding(exchange: Exchange): number {
    const upstreamId = this.#nextUpstreamId++;
    exchange.upstreamId = upstreamId;
    this.#upstream.set(upstreamId, exchange);
    return upstreamId;
  }

  /** The request forwarded under `upstreamId` still awaiting its answer (not taken). */
  forwardedAs(upstreamId: unknown): Exchange | undefined {
    return typeof upstreamId === 'number' ? this.#upstream.get(upstreamId) : undefined;
  }

  /** The request forwarded under `upstreamId`, no longer awaited upstream once taken. */
  takeAnswered(upstreamId: RequestId): Exchange | undefined {
    if (typeof upstreamId !== 'number') return undefined;
    const exchange = this.#upstream.get(upstreamId);
    if (!exchange) return undefined;
    this.#upstream.delete(upstreamId);
    delete exchange.upstreamId;
    return exchange;
  }

  /** The method of the request forwarded under `upstreamId` and still awaited, if any. */
  methodOf(upstreamId: RequestId | null | undefined): string | undefined {
    return typeof upstreamId === 'number' ? this.#upstream.get(upstreamId)?.method : undefined;
  }

  /**
   * Ends an exchange (answered or withdrawn).
   * @returns false when it had ended already, so every request is answered at most once.
   */
  close(exchange: Exchange): boolean {
    if (!this.isOpen(exchange)) return false;
    this.#open.delete(exchange.key);
    if (exchange.upstreamId !== undefined) this.#upstream.delete(exchange.upstreamId);
    return true;
  }

  /** Requests whose answer is awaited from the upstream, oldest first. */
  awaitingUpstream(): Exchange[] {
    return [...this.#upstream.values()];
  }

  /** Every request in progress, oldest first. */
  all(): Exchange[] {
    return [...this.#open.values()];
  }
}
