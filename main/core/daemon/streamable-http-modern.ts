import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { JSONRPCMessage, JSONRPCRequest, RequestId } from '@modelcontextprotocol/server';
import { errorResponseWith } from '../bridge/jsonrpc.ts';
import { isCheckedNotification, isCheckedResponse } from '../bridge/jsonrpc-check.ts';
import type { ServerConfig } from '../config/schema.ts';
import { describeError } from '../errors.ts';
import { MODERN_ERROR, modernErrorHttpStatus, requestMeta, SUBSCRIPTION_ID_META_KEY } from '../era/modern.ts';
import {
  missingStandardHeader,
  nameHeaderMismatch,
  paramHeaderDeclarations,
  paramHeaderMismatch,
} from '../era/param-headers.ts';
import type { Logger } from '../log.ts';
import { sendJson } from './http-answers.ts';
import type { EndpointSession, SessionHost, SessionRegistry, TrackedSession } from './session-opening.ts';
import { SseStream } from './streamable-http-sse.ts';

/** One 2026-07-28 request in flight on its own POST. */
interface InFlight {
  res: ServerResponse;
  /** The client's id (answers carry it back). */
  id: RequestId;
  /** The client's progress token, when the request had one (Warden forwards its own). */
  progressToken?: string | number;
  /** Set once a message related to the request came before its answer. */
  stream?: SseStream;
}

/** The shared bridge of one server and what is in flight on it. */
interface StatelessBridge extends TrackedSession {
  readonly registryId: string;
  readonly inFlight: Map<number, InFlight>;
  nextId: number;
}

/**
 * The 2026-07-28 side of the Streamable HTTP endpoint `/mcp/<server>` (spec
 * basic/transports/streamable-http, basic/index#statelessness): each POST is one request that
 * stands alone, with no session. Every configured server has one bridge (BridgeSession) shared by
 * these requests, opened on the first and registered with the endpoint's sessions (so a
 * changed server, pause and restart reach it like any session). Each request travels through
 * it under an id (and progress token) of Warden's, so requests of different clients never
 * meet; the answer goes back under the client's own.
 *
 * The response is JSON unless a message related to the request (progress, Warden's "waiting
 * for approval", a `subscriptions/listen` notification) comes first; then it is an event stream
 * (no Mcp-Session-Id) ending after the answer. A client that closes the response before the
 * answer cancels the request (spec basic/transports/streamable-http#cancellation): Warden
 * withdraws a held call or cancels it upstream. Messages related to no request in flight have
 * no stream in this era and are dropped. Client notifications get 202 and are dropped (on HTTP
 * this era has none that a server must act on; cancellation is the closed stream).
 */
export class StatelessRoute {
  readonly #host: SessionHost;
  readonly #registry: SessionRegistry;
  readonly #log: Logger;
  readonly #bridges = new Map<string, StatelessBridge>();

  constructor(host: SessionHost, registry: SessionRegistry) {
    this.#host = host;
    this.#registry = registry;
    this.#log = host.logger;
  }

  /**
   * Serves one classified 2026-07-28 request (or notification) of an admitted server. The
   * `Mcp-Name` header and a `tools/call`'s `Mcp-Param-*` headers are checked against the body
   * first (400, -32020); the decision is made on the body.
   */
  async handle(
    req: IncomingMessage,
    res: ServerResponse,
    admitted: { server: ServerConfig; trusted: boolean },
    message: JSONRPCMessage,
  ): Promise<void> {
    if (!('id' in message) || !('method' in message)) {
      res.writeHead(202).end();
      return;
    }
    const request = message;
    const bridge = this.#bridgeFor(admitted.server, admitted.trusted);
    const mismatch =
      missingStandardHeader(request.method, (name) => headerText(req, name)) ??
      nameHeaderMismatch(request.method, request.params, headerText(req, 'mcp-name')) ??
      (request.method === 'tools/call' ? await this.#paramMismatch(bridge.session, req, request) : undefined);
    if (mismatch) {
      sendJson(
        res,
        400,
        errorResponseWith(request.id, {
          code: MODERN_ERROR.HeaderMismatch,
          message: `Bad Request: the request headers and body disagree: ${mismatch}`,
          data: { source: 'mcp-warden', reason: 'HEADER_MISMATCH' },
        }),
      );
      return;
    }
    const internal = bridge.nextId++;
    const meta = requestMeta(request.params);
    const token = meta?.progressToken;
    const flight: InFlight = {
      res,
      id: request.id,
      ...(typeof token === 'string' || typeof token === 'number' ? { progressToken: token } : {}),
    };
    bridge.inFlight.set(internal, flight);
    res.once('close', () => {
      if (bridge.inFlight.get(internal) !== flight) return;
      bridge.inFlight.delete(internal);
      // The client went away before the answer: the closed stream is the cancellation.
      void bridge.session.fromDownstream({
        jsonrpc: '2.0',
        method: 'notifications/cancelled',
        params: { requestId: internal, reason: 'the client closed the response stream' },
      });
    });
    const forwarded: JSONRPCRequest = {
      ...request,
      id: internal,
      ...(flight.progressToken !== undefined
        ? {
            params: {
              ...request.params,
              _meta: { ...meta, progressToken: `mcp-warden/progress/${internal}` },
            },
          }
        : {}),
    };
    const reservation = bridge.session.reserve([internal]);
    void bridge.session.fromDownstream(forwarded);
    reservation.release();
  }

  /** The Mcp-Param-* disagreement of a tools/call with its pinned tool's declarations, if any. */
  async #paramMismatch(
    session: EndpointSession,
    req: IncomingMessage,
    request: JSONRPCRequest,
  ): Promise<string | undefined> {
    const name = request.params?.name;
    if (typeof name !== 'string') return undefined;
    let definition: Record<string, unknown> | undefined;
    try {
      definition = await session.toolDefinition?.(name);
    } catch (error) {
      // The call itself is refused by the guard when the list cannot be read.
      this.#log.debug({ err: describeError(error) }, 'no tool list to check Mcp-Param-* headers against');
      return undefined;
    }
    const declarations = paramHeaderDeclarations(definition?.inputSchema);
    if (declarations.length === 0) return undefined;
    return paramHeaderMismatch(declarations, request.params?.arguments, (header) => headerText(req, header));
  }

  #bridgeFor(server: ServerConfig, trusted: boolean): StatelessBridge {
    const known = this.#bridges.get(server.name);
    if (known) return known;
    const registryId = `stateless-${randomUUID()}`;
    const logger = this.#log.child({ server: server.name, session: registryId, era: '2026-07-28' });
    const inFlight = new Map<number, InFlight>();
    const session = this.#host.openSession({
      server,
      trusted,
      sessionless: true,
      downstream: {
        send: (message, options) => {
          this.#toClient(inFlight, message, options?.relatedRequestId);
          return Promise.resolve();
        },
        closeRequestStream: (id) => {
          const flight = typeof id === 'number' ? inFlight.get(id) : undefined;
          if (!flight) return;
          inFlight.delete(id as number);
          if (flight.stream) flight.stream.end();
          else if (!flight.res.headersSent) flight.res.writeHead(202).end();
        },
      },
      sessionId: () => registryId,
      logger,
    });
    const bridge: StatelessBridge = {
      registryId,
      session,
      inFlight,
      nextId: 1,
      end: async () => {
        if (this.#bridges.get(server.name) === bridge) this.#bridges.delete(server.name);
        await session.close();
        for (const flight of inFlight.values()) flight.res.destroy();
        inFlight.clear();
      },
    };
    this.#bridges.set(server.name, bridge);
    this.#registry.add(registryId, bridge);
    logger.info('stateless bridge started');
    return bridge;
  }

  /** A message of the shared bridge for the client whose request it names (internal ids). */
  #toClient(inFlight: Map<number, InFlight>, message: JSONRPCMessage, related: RequestId | undefined): void {
    if (isCheckedResponse(message)) {
      const internal = message.id;
      const flight = typeof internal === 'number' ? inFlight.get(internal) : undefined;
      if (!flight) return;
      inFlight.delete(internal as number);
      const answer = { ...message, id: flight.id } as JSONRPCMessage;
      if (flight.stream) {
        flight.stream.write(answer);
        flight.stream.end();
      } else if (!flight.res.destroyed) {
        // The HTTP status follows the error's code (spec basic/transports/streamable-http).
        sendJson(flight.res, 'error' in answer ? modernErrorHttpStatus(answer.error.code) : 200, answer);
      }
      return;
    }
    const flight = typeof related === 'number' ? inFlight.get(related) : undefined;
    if (!flight || !isCheckedNotification(message)) {
      this.#log.debug(
        { method: 'method' in message ? message.method : undefined },
        'dropped a message related to no request in flight (2026-07-28 has no standalone stream)',
      );
      return;
    }
    flight.stream ??= new SseStream(flight.res, undefined);
    flight.stream.write(this.#clientView(message, flight));
  }

  /** A notification as the client must see it: its own progress token and subscription id. */
  #clientView(message: JSONRPCMessage, flight: InFlight): JSONRPCMessage {
    if (!isCheckedNotification(message) || !message.params) return message;
    const params = { ...message.params };
    if (message.method === 'notifications/progress' && flight.progressToken !== undefined) {
      params.progressToken = flight.progressToken;
    }
    const meta = requestMeta(params);
    if (meta && SUBSCRIPTION_ID_META_KEY in meta)
      params._meta = { ...meta, [SUBSCRIPTION_ID_META_KEY]: flight.id };
    return { ...message, params };
  }
}

/** One request header by lower-case name, repeated values joined as HTTP does. */
function headerText(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
}
