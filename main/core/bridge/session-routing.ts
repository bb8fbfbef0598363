import type { JSONRPCMessage, JSONRPCRequest, RequestId } from '@modelcontextprotocol/server';
import { WardenError } from '../errors.ts';
import type { Exchange, Exchanges } from './exchanges.ts';
import { errorResponseFor } from './jsonrpc.ts';
import { isCheckedNotification } from './jsonrpc-check.ts';

/**
 * Which client request a server-to-client message belongs to, so it goes onto that request's
 * response stream (MCP 2025-11-25 basic/transports, Streamable HTTP): progress by its
 * progressToken (MCP basic/utilities/progress), list_changed and resources/updated onto the
 * standalone stream, anything else onto the latest request still awaiting the upstream.
 */
export class StreamRoutes {
  readonly #exchanges: Exchanges;
  readonly #progress = new Map<string | number, Exchange>();

  constructor(exchanges: Exchanges) {
    this.#exchanges = exchanges;
  }

  /** Notes the progress token of a request being forwarded, if it has one. */
  forwarded(exchange: Exchange, request: JSONRPCRequest): void {
    const token = (request.params?._meta as { progressToken?: unknown } | undefined)?.progressToken;
    if (typeof token === 'string' || typeof token === 'number') this.#progress.set(token, exchange);
  }

  /** Forgets the progress tokens of a request that ended. */
  ended(exchange: Exchange): void {
    for (const [token, owner] of this.#progress) if (owner === exchange) this.#progress.delete(token);
  }

  /** The client's id of the request `message` belongs to; undefined for the standalone stream. */
  relatedRequest(message: JSONRPCMessage): RequestId | undefined {
    if (isCheckedNotification(message)) {
      if (message.method === 'notifications/progress') {
        const token = message.params?.progressToken as string | number | undefined;
        const exchange = token === undefined ? undefined : this.#progress.get(token);
        if (exchange && this.#exchanges.isOpen(exchange)) return exchange.id;
      }
      if (message.method.endsWith('/list_changed') || message.method === 'notifications/resources/updated') {
        return undefined;
      }
    }
    return this.#exchanges.awaitingUpstream().at(-1)?.id;
  }
}

/** The answer to a request whose id is already in use by a request in progress in the session. */
export function duplicateIdError(id: RequestId): JSONRPCMessage {
  return errorResponseFor(
    id,
    new WardenError(
      'INVALID_REQUEST',
      `Invalid Request: the id ${JSON.stringify(id)} is in use by a request still in progress in this session (MCP: request ids are unique in a session)`,
    ),
  );
}
