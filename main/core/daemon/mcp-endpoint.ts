import { randomUUID } from 'node:crypto';
import { classifyInboundRequest } from '@modelcontextprotocol/server';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isInitializeRequest, type JSONRPCMessage, type RequestId } from '@modelcontextprotocol/server';
import { errorResponseFor, idKey } from '../bridge/jsonrpc.ts';
import { duplicateIdError } from '../bridge/session-routing.ts';
import type { ServerConfig } from '../config/schema.ts';
import { WardenError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { endpointServerName } from '../request-target.ts';
import { sendJson, sendJsonRpcError } from './http-answers.ts';
import { StatelessRoute } from './streamable-http-modern.ts';
import { MAX_REQUEST_BYTES, readJsonRpcBody } from './request-body.ts';
import { isCheckedRequest } from '../bridge/jsonrpc-check.ts';
import { postRefusal, StreamableHttpTransport } from './streamable-http-transport.ts';
import {
  admitSession,
  configuredServer,
  SessionRegistry,
  type SessionHost,
  type TrackedSession,
} from './session-opening.ts';

/** A session with no open stream and no request for this long is closed, ms (10 min). */
export const SESSION_IDLE_MS = 10 * 60_000;

export { MAX_QUEUED_STANDALONE } from './streamable-http-transport.ts';

export interface McpEndpointOptions extends SessionHost {
  /** Idle sessions are closed after this long, ms (default SESSION_IDLE_MS). */
  idleMs?: number;
}

interface SessionEntry extends TrackedSession {
  transport: StreamableHttpTransport;
  lastActivity: number;
  openRequests: number;
}

/**
 * The MCP endpoints `/mcp/<server>`: one Streamable HTTP endpoint per configured server (MCP
 * 2025-11-25, basic/transports), each downstream session with a bridge of its own. Sessions
 * start with an `initialize` POST (refused while paused or when the server is not admitted),
 * are found by Mcp-Session-Id, and end on DELETE, when the client goes idle, or when the
 * gateway ends them (the server's settings changed).
 *
 * A POST without Mcp-Session-Id is classified first by the SDK's `classifyInboundRequest` (MCP
 * 2026-07-28 basic/versioning: the body decides, the headers are cross-checked): 2026-07-28
 * requests of a server that speaks 2026-07-28 take the stateless route (StatelessRoute), its
 * malformed ones are answered with the classifier's status and error (-32020 for a header that
 * disagrees with the body); 2026-07-28 requests of a 2025-11-25 server, and legacy traffic, go
 * on as below (a legacy server's refusal: Mcp-Session-Id required).
 *
 * Answers: 404 for an unknown server or session, 400 for a missing session id, an unsupported
 * MCP-Protocol-Version, a malformed body or a request id in progress, 413 for a body over
 * MAX_REQUEST_BYTES; the rest is the transport's (StreamableHttpTransport: 202, JSON or an
 * event stream, 405, 406, 409, 415).
 */
export class McpEndpoint {
  readonly #opts: McpEndpointOptions;
  readonly #log: Logger;
  readonly #sessions = new SessionRegistry<SessionEntry>();
  /** The shared bridges of the 2026-07-28 stateless route, one per server. */
  readonly #statelessBridges = new SessionRegistry();
  readonly #stateless: StatelessRoute;
  readonly #sweep: NodeJS.Timeout;

  constructor(options: McpEndpointOptions) {
    this.#opts = options;
    this.#log = options.logger;
    this.#stateless = new StatelessRoute(options, this.#statelessBridges);
    const idleMs = options.idleMs ?? SESSION_IDLE_MS;
    this.#sweep = setInterval(() => this.#closeIdle(idleMs), Math.min(idleMs, 60_000));
    this.#sweep.unref();
  }

  get sessionCount(): number {
    return this.#sessions.size + this.#statelessBridges.size;
  }

  /** How many sessions of `server` are open (its stateless bridge counts as one). */
  sessionsOf(server: string): number {
    return this.#sessions.of(server).length + this.#statelessBridges.of(server).length;
  }

  /** Restarts the upstream of every session of `server`; resolves with how many. */
  async restart(server: string): Promise<number> {
    const counts = await Promise.all([
      this.#sessions.restart(server),
      this.#statelessBridges.restart(server),
    ]);
    return counts[0] + counts[1];
  }

  /** Handles a request to `/mcp/<server>` (or any path that is not another route). */
  async handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const server = this.#target(res, url);
    if (!server) return;
    const name = server.name;
    let body: JSONRPCMessage | JSONRPCMessage[] | undefined;
    if (req.method === 'POST') {
      const read = await readJsonRpcBody(req, MAX_REQUEST_BYTES);
      if (!read.ok) {
        this.#log.warn({ server: name, code: read.error.code }, read.error.message);
        sendJsonRpcError(res, read.error);
        return;
      }
      body = read.body;
      if (req.headers['mcp-session-id'] === undefined && (await this.#modern(req, res, server, body))) return;
    }
    const found = this.#entryFor(req, res, server, body);
    if (!found) return;
    const { entry, opening } = found;
    entry.lastActivity = Date.now();
    entry.openRequests++;
    res.once('close', () => {
      entry.openRequests--;
      entry.lastActivity = Date.now();
    });
    const reservation = entry.session.reserve(body === undefined ? [] : requestIds(body));
    if (reservation.clashes.length > 0) {
      this.#log.warn(
        { server: name, ids: reservation.clashes },
        'refused requests whose ids are in progress',
      );
      sendJson(res, 400, duplicateIdAnswers(body!, reservation.clashes));
      return;
    }
    try {
      entry.transport.handle(req, res, body, opening);
    } finally {
      reservation.release();
    }
  }

  /**
   * Serves a POST without a session on the 2026-07-28 stateless route when it is a 2026-07-28
   * request (classifyInboundRequest) and the server speaks 2026-07-28.
   * @returns false when the request goes on as 2025-11-25 traffic (nothing was answered).
   */
  async #modern(
    req: IncomingMessage,
    res: ServerResponse,
    server: ServerConfig,
    body: JSONRPCMessage | JSONRPCMessage[],
  ): Promise<boolean> {
    const outcome = classifyInboundRequest({
      httpMethod: 'POST',
      protocolVersionHeader: headerOf(req, 'mcp-protocol-version'),
      mcpMethodHeader: headerOf(req, 'mcp-method'),
      mcpNameHeader: headerOf(req, 'mcp-name'),
      body,
    });
    if (outcome.kind === 'legacy') return false;
    // Against a 2025-11-25 server Warden answers as that server would (Mcp-Session-Id required).
    if ((await this.#opts.upstreamEra?.(server)) !== 'modern') return false;
    const id = Array.isArray(body) ? null : ((body as { id?: RequestId }).id ?? null);
    if (outcome.kind === 'reject') {
      this.#log.warn({ server: server.name, cell: outcome.cell }, outcome.message);
      sendJson(res, outcome.httpStatus, {
        jsonrpc: '2.0',
        id,
        error: {
          code: outcome.code,
          message: outcome.message,
          ...(outcome.data !== undefined ? { data: outcome.data } : {}),
        },
      });
      return true;
    }
    const refusal = postRefusal(req);
    if (refusal) {
      sendJsonRpcError(res, refusal, id);
      return true;
    }
    const opening = admitSession(this.#opts, server.name);
    if ('error' in opening) {
      sendJsonRpcError(res, opening.error, id);
      return true;
    }
    await this.#stateless.handle(req, res, opening, outcome.message);
    return true;
  }

  /** The configured server the path names, or undefined when it was answered with an error. */
  #target(res: ServerResponse, url: URL): ServerConfig | undefined {
    const target = endpointServerName(url.pathname);
    if (!target) {
      sendJsonRpcError(
        res,
        new WardenError('NOT_FOUND', `Not found: ${url.pathname} (MCP endpoints are /mcp/<server>)`),
      );
      return undefined;
    }
    if ('malformed' in target) {
      sendJsonRpcError(
        res,
        new WardenError(
          'INVALID_REQUEST',
          `Bad Request: the server name in ${url.pathname} is not valid percent-encoded UTF-8 (encode it with encodeURIComponent)`,
        ),
      );
      return undefined;
    }
    return this.#configured(res, target.name);
  }

  /** The server of that name in the config in force, or undefined when answered SERVER_UNKNOWN. */
  #configured(res: ServerResponse, name: string): ServerConfig | undefined {
    const server = configuredServer(this.#opts.config(), name);
    if (server instanceof WardenError) {
      sendJsonRpcError(res, server);
      return undefined;
    }
    return server;
  }

  /** The session the request belongs to, a new one for an initialize, or undefined when refused. */
  #entryFor(
    req: IncomingMessage,
    res: ServerResponse,
    server: ServerConfig,
    body: JSONRPCMessage | JSONRPCMessage[] | undefined,
  ): { entry: SessionEntry; opening: boolean } | undefined {
    const sessionId = req.headers['mcp-session-id'];
    if (typeof sessionId === 'string') {
      const entry = this.#sessions.get(sessionId);
      if (entry && entry.session.server.name === server.name) return { entry, opening: false };
      sendJsonRpcError(
        res,
        new WardenError(
          'SESSION_NOT_FOUND',
          'Session not found: it ended or belongs to another server; initialize again',
        ),
      );
      return undefined;
    }
    if (req.method !== 'POST' || body === undefined || Array.isArray(body) || !isInitializeRequest(body)) {
      sendJsonRpcError(
        res,
        new WardenError(
          'INVALID_REQUEST',
          'Bad Request: Mcp-Session-Id header is required (send initialize first)',
        ),
      );
      return undefined;
    }
    // A POST the transport would refuse (406, 415) opens no session.
    const refusal = postRefusal(req);
    if (refusal) {
      sendJsonRpcError(res, refusal);
      return undefined;
    }
    // The config may have changed while the body was read: start the server as it is now.
    const opening = admitSession(this.#opts, server.name);
    if ('error' in opening) {
      sendJsonRpcError(res, opening.error, (body as { id?: RequestId }).id ?? null);
      return undefined;
    }
    return { entry: this.#createSession(opening.server, opening.trusted), opening: true };
  }

  #createSession(server: ServerConfig, trusted: boolean): SessionEntry {
    const id = randomUUID();
    const logger = this.#log.child({ server: server.name, session: id });
    const transport: StreamableHttpTransport = new StreamableHttpTransport({
      sessionId: id,
      deliver: (message) => void session.fromDownstream(message),
      onclose: () => {
        this.#sessions.delete(id);
        logger.info('session ended');
        void session.close();
      },
    });
    const session = this.#opts.openSession({
      server,
      trusted,
      downstream: {
        send: (message, options) => transport.send(message, options),
        closeRequestStream: (requestId) => transport.closeRequestStream(requestId),
      },
      sessionId: () => id,
      logger,
    });
    const entry: SessionEntry = {
      transport,
      session,
      end: async () => {
        await session.close();
        await transport.close();
      },
      lastActivity: Date.now(),
      openRequests: 0,
    };
    this.#sessions.add(id, entry);
    logger.info('session started');
    return entry;
  }

  #closeIdle(idleMs: number): void {
    const now = Date.now();
    for (const entry of this.#sessions.values()) {
      if (entry.openRequests === 0 && now - entry.lastActivity > idleMs) void entry.transport.close();
    }
  }

  /**
   * Ends the sessions of the named servers (their bridges first, then their transports), at
   * once: none of them serves another request. Resolves when they are closed.
   */
  async endSessionsOf(servers: ReadonlySet<string>): Promise<void> {
    await Promise.all([this.#sessions.end(servers), this.#statelessBridges.end(servers)]);
  }

  /**
   * Ends every session. With `keepSweeping` (pause), the endpoint keeps serving (new sessions
   * are refused while paused); otherwise it stops its idle sweep too.
   */
  async close(options: { keepSweeping?: boolean } = {}): Promise<void> {
    if (!options.keepSweeping) clearInterval(this.#sweep);
    await Promise.all([this.#sessions.end(), this.#statelessBridges.end()]);
  }
}

/** The ids of the requests in a POST body (notifications and responses have none to answer). */
function requestIds(body: JSONRPCMessage | JSONRPCMessage[]): RequestId[] {
  if (!Array.isArray(body)) return isCheckedRequest(body) ? [body.id] : [];
  return body.filter(isCheckedRequest).map((m) => m.id);
}

/**
 * The answer to a POST holding a request whose id is in progress in the session (or twice in
 * the batch): nothing of it is delivered, and every request in it gets an error, so each is
 * answered exactly once (a batch gets a batch of errors, JSON-RPC 2.0 section 6).
 */
function duplicateIdAnswers(body: JSONRPCMessage | JSONRPCMessage[], clashes: RequestId[]): unknown {
  if (!Array.isArray(body)) return duplicateIdError(clashes[0]!);
  const clash = new Set(clashes.map(idKey));
  return body
    .filter(isCheckedRequest)
    .map((request) =>
      clash.has(idKey(request.id))
        ? duplicateIdError(request.id)
        : errorResponseFor(
            request.id,
            new WardenError(
              'INVALID_REQUEST',
              'Invalid Request: not processed, because another request in this batch reuses an id in progress',
            ),
          ),
    );
}

/** One request header's value (repeated headers joined), or undefined. */
function headerOf(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
}
