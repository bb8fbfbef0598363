import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import {
  isInitializeRequest,
  isJSONRPCRequest,
  type JSONRPCMessage,
  type RequestId,
} from '@modelcontextprotocol/sdk/types.js';
import type { WardenConfig } from '../config/schema.ts';
import { CircuitBreaker } from '../bridge/circuit-breaker.ts';
import { errorResponseFor, idKey } from '../bridge/jsonrpc.ts';
import { httpStatusOf, WardenError } from '../errors.ts';
import { BridgeSession, duplicateIdError, type BridgeSessionOptions } from '../bridge/session.ts';
import { createUpstreamLink } from '../bridge/upstream-link.ts';
import { OAUTH_CALLBACK_PATH } from '../oauth/oauth.ts';
import { createControlApi, readJson, sendControlError } from '../control/control-api.ts';
import { uiSessionBodySchema } from '../control/contract.ts';
import { LimitsStep } from '../guard/limits.ts';
import { ToolLists } from '../guard/tool-lists.ts';
import { describeIdentity } from '../policy/identity.ts';
import type { WardenCore } from '../runtime/warden-core.ts';
import type { Logger } from '../log.ts';
import { WARDEN_VERSION } from '../version.ts';
import { HttpGate } from './http-gate.ts';
import { DashboardAccess, DEFAULT_UI_DIR, serveUi } from './dashboard.ts';
import { MAX_REQUEST_BYTES, readJsonRpcBody } from './request-body.ts';
import { endpointServerName, requestUrl } from '../request-target.ts';
import { quoteName } from '../config/server-name.ts';

/** A session with no open stream and no request for this long is closed, ms (10 min). */
export const SESSION_IDLE_MS = 10 * 60_000;

export interface GatewayOptions {
  config: WardenConfig;
  port: number;
  token: string;
  core: WardenCore;
  logger: Logger;
  /** Session overrides (tests). */
  session?: Pick<BridgeSessionOptions, 'supervisor'>;
  /** Where the UI's browser build is (default: dist/renderer of this install). */
  uiDir?: string;
  idleMs?: number;
}

interface SessionEntry {
  transport: StreamableHTTPServerTransport;
  session: BridgeSession;
  lastActivity: number;
  openRequests: number;
  /** GET requests (standalone streams) being answered; a refused second GET comes and goes. */
  standalone: number;
  /** Messages for the standalone stream that arrived before it opened (delivered when it does). */
  queued: JSONRPCMessage[];
}

/** At most this many messages wait for a client's standalone stream; older ones are dropped. */
export const MAX_QUEUED_STANDALONE = 200;

/**
 * The daemon's HTTP front: `/mcp/<server>` is a Streamable HTTP endpoint per configured server
 * (MCP 2025-11-25, basic/transports), `/healthz` tells a shim which daemon answers.
 * Each downstream session gets its own upstream session (see BridgeSession).
 *
 * Answers: 403 for a foreign Host or Origin, 401 without the bearer token, 404 for an unknown
 * server or session, 400 for an unsupported MCP-Protocol-Version or a malformed body, 413 for a
 * body over MAX_REQUEST_BYTES.
 */
export class Gateway {
  readonly #opts: GatewayOptions;
  readonly #gate: HttpGate;
  readonly #log: Logger;
  readonly #sessions = new Map<string, SessionEntry>();
  readonly #breakers = new Map<string, CircuitBreaker>();
  readonly #toolLists = new Map<string, ToolLists>();
  readonly #limits: LimitsStep;
  readonly #control: (req: IncomingMessage, res: ServerResponse, url: URL) => Promise<void>;
  readonly #sweep: NodeJS.Timeout;
  readonly #unsubscribe: () => void;
  /** One-time tickets and session tokens of the browser dashboard. */
  readonly dashboard = new DashboardAccess();

  constructor(options: GatewayOptions) {
    this.#opts = options;
    this.#gate = new HttpGate(options.port, options.token);
    this.#log = options.logger;
    for (const server of options.config.servers.values()) {
      this.#breakers.set(server.name, new CircuitBreaker());
      this.#toolLists.set(server.name, new ToolLists(server, options.config.file));
    }
    this.#limits = new LimitsStep(options.core.engine.limits(), options.core.quota);
    // Limits follow the policy in force (org policy synced, managed policy edited).
    this.#unsubscribe = options.core.onEvent((event) => {
      if (event.type === 'status.changed') this.#limits.update(options.core.engine.limits());
    });
    this.#control = createControlApi(options.core, {
      sessionsFor: (server: string) =>
        [...this.#sessions.values()].filter((e) => e.session.server.name === server).length,
      breakerState: (server: string) => this.#breakers.get(server)?.state ?? 'closed',
      pauseAll: () => this.close({ keepSweeping: true }),
      restart: async (server: string) => {
        const entries = [...this.#sessions.values()].filter((e) => e.session.server.name === server);
        await Promise.all(entries.map((e) => e.session.restartUpstream()));
        return entries.length;
      },
    });
    const idleMs = options.idleMs ?? SESSION_IDLE_MS;
    this.#sweep = setInterval(() => this.#closeIdle(idleMs), Math.min(idleMs, 60_000));
    this.#sweep.unref();
  }

  get sessionCount(): number {
    return this.#sessions.size;
  }

  /** The node:http request listener. */
  handle = (req: IncomingMessage, res: ServerResponse): void => {
    this.#route(req, res).catch((error: unknown) => {
      this.#log.error({ err: error }, 'request handler failed');
      if (!res.headersSent)
        sendJsonRpcError(res, new WardenError('INTERNAL', 'Internal error in MCP Warden', { cause: error }));
      else res.end();
    });
  };

  async #route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = requestUrl(req);
    if (!url) {
      sendJsonRpcError(
        res,
        new WardenError('INVALID_REQUEST', 'Bad Request: the request target is not a URL path'),
      );
      return;
    }
    // The OAuth redirect comes from the person's browser, which has no token: it is checked by
    // Host and by the unguessable `state` of a flow Warden started instead.
    const callback = url.pathname === OAUTH_CALLBACK_PATH && req.method === 'GET';
    // The dashboard's files hold no secret; its ticket exchange is checked by the ticket.
    // Dashboard session tokens open the control API only (not /mcp, not new tickets).
    const ui = url.pathname === '/ui' || url.pathname.startsWith('/ui/');
    const ticketExchange = url.pathname === '/api/v1/ui/session';
    const control = url.pathname.startsWith('/api/v1/') && url.pathname !== '/api/v1/ui/ticket';
    const verdict = this.#gate.check(req, {
      tokenRequired: !callback && !ui && !ticketExchange,
      ...(control ? { alsoAccept: (auth: string) => this.dashboard.accepts(auth) } : {}),
    });
    if (verdict) {
      this.#log.warn(
        { host: req.headers.host, origin: req.headers.origin, code: verdict.code },
        'request refused',
      );
      // The control API answers in its own shape ({ error: { code, message } }), MCP endpoints
      // with a JSON-RPC error.
      if (url.pathname.startsWith('/api/v1/')) sendControlError(res, verdict);
      else sendJsonRpcError(res, verdict);
      return;
    }
    if (callback) {
      const answer = this.#opts.core.oauth.callback(url);
      res.writeHead(answer.status, {
        'content-type': 'text/plain; charset=utf-8',
        'cache-control': 'no-store',
      });
      res.end(answer.text + '\n');
      return;
    }
    if (ui) {
      serveUi(req, res, url, this.#opts.uiDir ?? DEFAULT_UI_DIR);
      return;
    }
    if (ticketExchange || url.pathname === '/api/v1/ui/ticket') {
      await this.#dashboardAccess(req, res, ticketExchange);
      return;
    }
    if (url.pathname === '/healthz' && req.method === 'GET') {
      sendJson(res, 200, {
        name: 'mcp-warden',
        version: WARDEN_VERSION,
        pid: process.pid,
        config: this.#opts.core.config.file,
        servers: [...this.#opts.core.config.servers.keys()],
        sessions: this.#sessions.size,
      });
      return;
    }
    if (url.pathname.startsWith('/api/v1/')) {
      await this.#control(req, res, url);
      return;
    }
    const target = endpointServerName(url.pathname);
    if (!target) {
      sendJsonRpcError(
        res,
        new WardenError('NOT_FOUND', `Not found: ${url.pathname} (MCP endpoints are /mcp/<server>)`),
      );
      return;
    }
    if ('malformed' in target) {
      sendJsonRpcError(
        res,
        new WardenError(
          'INVALID_REQUEST',
          `Bad Request: the server name in ${url.pathname} is not valid percent-encoded UTF-8 (encode it with encodeURIComponent)`,
        ),
      );
      return;
    }
    const name = target.name;
    const server = this.#opts.core.config.servers.get(name);
    if (!server) {
      const configured = [...this.#opts.core.config.servers.keys()].map(quoteName).join(', ');
      sendJsonRpcError(
        res,
        new WardenError(
          'SERVER_UNKNOWN',
          `Unknown server ${quoteName(name)}: it is not in ${this.#opts.core.config.file} (configured: ${configured || 'none'})`,
        ),
      );
      return;
    }
    let body: JSONRPCMessage | JSONRPCMessage[] | undefined;
    if (req.method === 'POST') {
      const read = await readJsonRpcBody(req, MAX_REQUEST_BYTES);
      if (!read.ok) {
        this.#log.warn({ server: name, code: read.error.code }, read.error.message);
        sendJsonRpcError(res, read.error);
        return;
      }
      body = read.body;
    }
    const sessionId = req.headers['mcp-session-id'];
    let entry: SessionEntry | undefined;
    if (typeof sessionId === 'string') {
      entry = this.#sessions.get(sessionId);
      if (!entry || entry.session.server.name !== name) {
        sendJsonRpcError(
          res,
          new WardenError(
            'SESSION_NOT_FOUND',
            'Session not found: it ended or belongs to another server; initialize again',
          ),
        );
        return;
      }
    } else if (
      req.method === 'POST' &&
      body !== undefined &&
      !Array.isArray(body) &&
      isInitializeRequest(body)
    ) {
      if (this.#opts.core.paused) {
        sendJsonRpcError(
          res,
          new WardenError(
            'PAUSED',
            'MCP Warden is paused: no server runs until someone resumes it (tray menu or dashboard)',
          ),
          (body as { id?: RequestId }).id ?? null,
        );
        return;
      }
      const admission = this.#opts.core.admit(server);
      if (!admission.allowed) {
        this.#log.warn(
          { server: name, command: describeIdentity(admission.identity) },
          `server refused: ${admission.reason}`,
        );
        sendJsonRpcError(
          res,
          new WardenError(
            'SERVER_NOT_ALLOWED',
            `MCP Warden refused to start this server: ${admission.reason}`,
          ),
          (body as { id?: RequestId }).id ?? null,
        );
        return;
      }
      entry = this.#createSession(name, admission.trusted);
    } else {
      sendJsonRpcError(
        res,
        new WardenError(
          'INVALID_REQUEST',
          'Bad Request: Mcp-Session-Id header is required (send initialize first)',
        ),
      );
      return;
    }
    entry.lastActivity = Date.now();
    entry.openRequests++;
    let accepted = false;
    res.once('close', () => {
      entry.openRequests--;
      entry.lastActivity = Date.now();
      if (accepted) entry.standalone--;
    });
    if (req.method === 'GET') {
      // The transport registers the stream while handling the request. Count it (and deliver
      // what waited) only if it accepted it: a refused GET (400, 406, 409) opens no stream.
      setImmediate(() => {
        if (res.statusCode !== 200 || res.writableEnded || res.destroyed) return;
        accepted = true;
        entry.standalone++;
        this.#flushQueued(entry);
      });
    }
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
      await entry.transport.handleRequest(req, res, body);
    } finally {
      reservation.release();
    }
  }

  /**
   * POST /api/v1/ui/ticket (daemon token only): a one-time dashboard URL.
   * POST /api/v1/ui/session {ticket}: the ticket traded for a session token (401 when unknown,
   * used or expired).
   */
  async #dashboardAccess(req: IncomingMessage, res: ServerResponse, exchange: boolean): Promise<void> {
    if (req.method !== 'POST') {
      sendControlError(res, new WardenError('METHOD_NOT_ALLOWED', `${req.method} is not allowed`));
      return;
    }
    if (!exchange) {
      sendJson(res, 200, { url: this.dashboardUrl() });
      return;
    }
    const body = await readJson(req).catch(() => undefined);
    const parsed = uiSessionBodySchema.safeParse(body);
    const ticket = parsed.success ? parsed.data.ticket : undefined;
    const token = typeof ticket === 'string' ? this.dashboard.redeem(ticket) : undefined;
    if (!token) {
      this.#log.warn('dashboard ticket refused');
      sendControlError(
        res,
        new WardenError(
          'TICKET_INVALID',
          'this dashboard link was already used or has expired: run `mcp-warden dashboard` for a new one',
        ),
      );
      return;
    }
    sendJson(res, 200, { token });
  }

  /** A dashboard URL with a fresh one-time ticket in its fragment. */
  dashboardUrl(): string {
    return `http://127.0.0.1:${this.#opts.port}/ui/#ticket=${this.dashboard.issueTicket()}`;
  }

  #flushQueued(entry: SessionEntry): void {
    const queued = entry.queued.splice(0);
    for (const message of queued) void entry.transport.send(message).catch(() => undefined);
  }

  #createSession(name: string, trusted: boolean): SessionEntry {
    const server = this.#opts.core.config.servers.get(name)!;
    const toolLists = this.#toolLists.get(name)!;
    const logger = this.#log.child({ server: name });
    const transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      maxRequestBodySize: MAX_REQUEST_BYTES,
      onsessioninitialized: (id) => {
        logger.setBindings({ session: id });
        this.#sessions.set(id, entry);
        logger.info('session started');
      },
    });
    const session = new BridgeSession({
      server,
      downstream: {
        send: (message, options) => {
          // A message that belongs to no request goes on the standalone stream; until the client
          // opens it (right after initialization), it waits instead of being dropped.
          if (
            options?.relatedRequestId === undefined &&
            !('result' in message) &&
            !('error' in message) &&
            entry.standalone === 0
          ) {
            entry.queued.push(message);
            if (entry.queued.length > MAX_QUEUED_STANDALONE) entry.queued.shift();
            return Promise.resolve();
          }
          return transport.send(message, options);
        },
        closeRequestStream: (id) => transport.closeSSEStream(id),
      },
      sessionId: () => transport.sessionId ?? '',
      core: this.#opts.core,
      trusted,
      toolLists,
      limits: this.#limits,
      supervisor: {
        createLink: (srv, log) =>
          createUpstreamLink(
            srv,
            log,
            this.#opts.core.secrets,
            this.#opts.core.oauth,
            this.#opts.core.upstreams,
          ),
        ...this.#opts.session?.supervisor,
      },
      breaker: this.#breakers.get(name)!,
      logger,
    });
    const entry: SessionEntry = {
      transport,
      session,
      lastActivity: Date.now(),
      openRequests: 0,
      standalone: 0,
      queued: [],
    };
    transport.onmessage = (message) => void session.fromDownstream(message);
    transport.onerror = (error) => logger.debug({ err: error.message }, 'transport error');
    transport.onclose = () => {
      const id = transport.sessionId;
      if (id) this.#sessions.delete(id);
      logger.info('session ended');
      void session.close();
    };
    void transport.start();
    return entry;
  }

  #closeIdle(idleMs: number): void {
    const now = Date.now();
    for (const entry of this.#sessions.values()) {
      if (entry.openRequests === 0 && now - entry.lastActivity > idleMs) void entry.transport.close();
    }
  }

  /**
   * Puts an edited config in force without a restart: new servers get their endpoint at once;
   * sessions of servers that changed (command, URL, env, tool lists…) or were removed end, so
   * no session keeps running under looser settings than the file now says (clients
   * reconnect). The policy is re-read (the config's `policy` is the user's source). The port
   * is fixed for the daemon's life.
   * @returns the names of servers added, changed and removed.
   */
  async applyConfig(next: WardenConfig): Promise<{ added: string[]; changed: string[]; removed: string[] }> {
    const core = this.#opts.core;
    const before = core.config;
    const added: string[] = [];
    const changed: string[] = [];
    const removed = [...before.servers.keys()].filter((name) => !next.servers.has(name));
    for (const server of next.servers.values()) {
      const old = before.servers.get(server.name);
      if (!old) added.push(server.name);
      else if (JSON.stringify(old) !== JSON.stringify(server)) changed.push(server.name);
      else continue;
      if (!this.#breakers.has(server.name)) this.#breakers.set(server.name, new CircuitBreaker());
      this.#toolLists.set(server.name, new ToolLists(server, next.file));
    }
    core.config = next;
    const ending = new Set([...changed, ...removed]);
    const entries = [...this.#sessions.entries()].filter(([, e]) => ending.has(e.session.server.name));
    for (const [id] of entries) this.#sessions.delete(id);
    await Promise.all(
      entries.map(async ([, e]) => {
        await e.session.close();
        await e.transport.close();
      }),
    );
    for (const name of removed) this.#toolLists.delete(name);
    await core.reloadPolicy();
    return { added, changed, removed };
  }

  /**
   * Ends every session and its upstream; resolves when every upstream process tree is gone,
   * including those of sessions that were already ending (client gone, DELETE, idle).
   */
  async close(options: { keepSweeping?: boolean } = {}): Promise<void> {
    if (!options.keepSweeping) {
      clearInterval(this.#sweep);
      this.#unsubscribe();
    }
    const entries = [...this.#sessions.values()];
    this.#sessions.clear();
    await Promise.all(
      entries.map(async (e) => {
        await e.session.close();
        await e.transport.close();
      }),
    );
    await this.#opts.core.upstreams.endAll();
  }
}

/** The ids of the requests in a POST body (notifications and responses have none to answer). */
function requestIds(body: JSONRPCMessage | JSONRPCMessage[]): RequestId[] {
  return (Array.isArray(body) ? body : [body]).filter(isJSONRPCRequest).map((m) => m.id);
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
    .filter(isJSONRPCRequest)
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

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** Answers with `error` as a JSON-RPC error response (to request `id`, if known) and its HTTP status. */
function sendJsonRpcError(res: ServerResponse, error: WardenError, id: RequestId | null = null): void {
  sendJson(res, httpStatusOf(error), errorResponseFor(id, error));
}
