import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { isInitializeRequest, type JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import type { WardenConfig } from '../config/schema.ts';
import { CircuitBreaker } from '../bridge/circuit-breaker.ts';
import { JsonRpcCode } from '../bridge/jsonrpc.ts';
import { BridgeSession, type BridgeSessionOptions } from '../bridge/session.ts';
import { createUpstreamLink } from '../bridge/upstream-link.ts';
import { OAUTH_CALLBACK_PATH } from '../oauth/oauth.ts';
import { createControlApi } from '../control/control-api.ts';
import { LimitsStep } from '../guard/limits.ts';
import { ToolLists } from '../guard/tool-lists.ts';
import { describeIdentity } from '../policy/identity.ts';
import type { WardenCore } from './warden-core.ts';
import type { Logger } from '../log.ts';
import { WARDEN_VERSION } from '../version.ts';
import { HttpGate } from './http-gate.ts';
import { MAX_REQUEST_BYTES, readJsonRpcBody } from './request-body.ts';

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

  constructor(options: GatewayOptions) {
    this.#opts = options;
    this.#gate = new HttpGate(options.port, options.token);
    this.#log = options.logger;
    for (const server of options.config.servers.values()) {
      this.#breakers.set(server.name, new CircuitBreaker());
      this.#toolLists.set(server.name, new ToolLists(server, options.config.file));
    }
    this.#limits = new LimitsStep(options.core.engine.limits(), options.core.quota);
    this.#control = createControlApi(options.core, {
      sessionsFor: (server: string) =>
        [...this.#sessions.values()].filter((e) => e.session.server.name === server).length,
      breakerState: (server: string) => this.#breakers.get(server)?.state ?? 'closed',
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
        sendJsonRpcError(res, 500, JsonRpcCode.InternalError, 'Internal error in MCP Warden');
      else res.end();
    });
  };

  async #route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    // The OAuth redirect comes from the person's browser, which has no token: it is checked by
    // Host and by the unguessable `state` of a flow Warden started instead.
    const callback = url.pathname === OAUTH_CALLBACK_PATH && req.method === 'GET';
    const verdict = this.#gate.check(req, { tokenRequired: !callback });
    if (verdict) {
      this.#log.warn(
        { host: req.headers.host, origin: req.headers.origin, status: verdict.status },
        'request refused',
      );
      sendJsonRpcError(res, verdict.status, JsonRpcCode.ConnectionClosed, verdict.message);
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
    if (url.pathname === '/healthz' && req.method === 'GET') {
      sendJson(res, 200, {
        name: 'mcp-warden',
        version: WARDEN_VERSION,
        pid: process.pid,
        config: this.#opts.config.file,
        servers: [...this.#opts.config.servers.keys()],
        sessions: this.#sessions.size,
      });
      return;
    }
    if (url.pathname.startsWith('/api/v1/')) {
      await this.#control(req, res, url);
      return;
    }
    const match = /^\/mcp\/([^/]+)\/?$/.exec(url.pathname);
    if (!match?.[1]) {
      sendJsonRpcError(
        res,
        404,
        JsonRpcCode.InvalidRequest,
        `Not found: ${url.pathname} (MCP endpoints are /mcp/<server>)`,
      );
      return;
    }
    const name = decodeURIComponent(match[1]);
    const server = this.#opts.config.servers.get(name);
    if (!server) {
      sendJsonRpcError(
        res,
        404,
        JsonRpcCode.InvalidRequest,
        `Unknown server "${name}": it is not in ${this.#opts.config.file} (configured: ${[...this.#opts.config.servers.keys()].join(', ') || 'none'})`,
      );
      return;
    }
    let body: JSONRPCMessage | JSONRPCMessage[] | undefined;
    if (req.method === 'POST') {
      const read = await readJsonRpcBody(req, MAX_REQUEST_BYTES);
      if (!read.ok) {
        this.#log.warn({ server: name, status: read.status }, read.message);
        sendJsonRpcError(res, read.status, read.code, read.message);
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
          404,
          -32001,
          'Session not found: it ended or belongs to another server; initialize again',
        );
        return;
      }
    } else if (
      req.method === 'POST' &&
      body !== undefined &&
      !Array.isArray(body) &&
      isInitializeRequest(body)
    ) {
      const admission = this.#opts.core.admit(server);
      if (!admission.allowed) {
        this.#log.warn(
          { server: name, command: describeIdentity(admission.identity) },
          `server refused: ${admission.reason}`,
        );
        sendJson(res, 403, {
          jsonrpc: '2.0',
          id: (body as { id?: string | number }).id ?? null,
          error: {
            code: JsonRpcCode.InvalidRequest,
            message: `MCP Warden refused to start this server: ${admission.reason}`,
          },
        });
        return;
      }
      entry = this.#createSession(name, admission.trusted);
    } else {
      sendJsonRpcError(
        res,
        400,
        JsonRpcCode.InvalidRequest,
        'Bad Request: Mcp-Session-Id header is required (send initialize first)',
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
    await entry.transport.handleRequest(req, res, body);
  }

  #flushQueued(entry: SessionEntry): void {
    const queued = entry.queued.splice(0);
    for (const message of queued) void entry.transport.send(message).catch(() => undefined);
  }

  #createSession(name: string, trusted: boolean): SessionEntry {
    const server = this.#opts.config.servers.get(name)!;
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
          createUpstreamLink(srv, log, this.#opts.core.secrets, this.#opts.core.oauth),
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

  /** Ends every session and its upstream (children are stopped). */
  async close(): Promise<void> {
    clearInterval(this.#sweep);
    const entries = [...this.#sessions.values()];
    this.#sessions.clear();
    await Promise.all(
      entries.map(async (e) => {
        await e.session.close();
        await e.transport.close();
      }),
    );
  }
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function sendJsonRpcError(res: ServerResponse, status: number, code: number, message: string): void {
  sendJson(res, status, { jsonrpc: '2.0', id: null, error: { code, message } });
}
