import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { CircuitBreaker } from '../bridge/circuit-breaker.ts';
import { BridgeSession } from '../bridge/session.ts';
import type { UpstreamPort } from '../bridge/session-ports.ts';
import type { ServerConfig } from '../config/schema.ts';
import { createControlApi, sendControlError } from '../control/control-api.ts';
import { WardenError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { requestUrl } from '../request-target.ts';
import { SessionWiring } from '../runtime/session-wiring.ts';
import type { InForceChange } from '../runtime/state-in-force.ts';
import type { UpstreamState } from '../metrics/warden-metrics.ts';
import type { WardenCore } from '../runtime/warden-core.ts';
import { WARDEN_VERSION } from '../version.ts';
import { DashboardAccess, DEFAULT_UI_DIR, serveUi } from './dashboard.ts';
import { dashboardAccessRoute, dashboardUrl } from './dashboard-routes.ts';
import { HttpGate } from './http-gate.ts';
import { sendJson, sendJsonRpcError } from './http-answers.ts';
import { LocalSocketEndpoint } from './local-socket.ts';
import { McpEndpoint } from './mcp-endpoint.ts';
import { serveMetrics } from './metrics-route.ts';
import { routeOf } from './routes.ts';
import type { SessionInit } from './session-opening.ts';

export { MAX_QUEUED_STANDALONE, SESSION_IDLE_MS } from './mcp-endpoint.ts';

export interface GatewayOptions {
  port: number;
  token: string;
  core: WardenCore;
  logger: Logger;
  /** Session overrides (tests): the upstream port's links and backoff. */
  session?: { upstream?: Partial<UpstreamPort> };
  /** Where the UI's browser build is (default: dist/renderer of this install). */
  uiDir?: string;
  idleMs?: number;
}

/**
 * The daemon's HTTP front, by its route table (routes.ts): the MCP endpoints `/mcp/<server>`
 * (McpEndpoint; each session a BridgeSession over ports wired to the core), the control API,
 * the dashboard's files and access routes, the OAuth callback, and `/healthz`; and the local
 * socket's sessions (LocalSocketEndpoint, what the connect shim uses), opened the same way and
 * counted, restarted, ended and paused with the HTTP ones. When a change put in force changes or removes a server, its
 * sessions end, so no session keeps running under looser settings than the file now says
 * (clients reconnect). The port is fixed for the daemon's life.
 *
 * Answers: 403 for a foreign Host or Origin, 401 without the bearer token; see McpEndpoint for
 * the MCP endpoints' answers.
 */
export class Gateway {
  readonly #opts: GatewayOptions;
  readonly #gate: HttpGate;
  readonly #log: Logger;
  readonly #breakers = new Map<string, CircuitBreaker>();
  readonly #wiring: SessionWiring;
  readonly #mcp: McpEndpoint;
  readonly #local: LocalSocketEndpoint;
  readonly #control: (req: IncomingMessage, res: ServerResponse, url: URL) => Promise<void>;
  readonly #unfollow: () => void;
  /** Every open session's bridge (both endpoints), for the sessions-per-client metric. */
  readonly #open = new Set<BridgeSession>();
  /** One-time tickets and session tokens of the browser dashboard. */
  readonly dashboard = new DashboardAccess();

  constructor(options: GatewayOptions) {
    const { core } = options;
    this.#opts = options;
    this.#gate = new HttpGate(options.port, options.token);
    this.#log = options.logger;
    this.#wiring = new SessionWiring(core, options.session?.upstream);
    const host = {
      config: () => core.config,
      paused: () => core.paused,
      admit: (server: ServerConfig) => core.admit(server),
      upstreamEra: (server: ServerConfig) => this.#wiring.eraOf(server),
      openSession: (init: SessionInit) =>
        this.#track(
          new BridgeSession({
            ...init,
            ...this.#wiring.portsFor(init.server, init.trusted, init.logger),
            breaker: this.#breaker(init.server.name),
          }),
        ),
      logger: options.logger,
    };
    this.#mcp = new McpEndpoint({
      ...host,
      ...(options.idleMs !== undefined ? { idleMs: options.idleMs } : {}),
    });
    this.#local = new LocalSocketEndpoint({ ...host, token: options.token, version: WARDEN_VERSION });
    this.#unfollow = core.inForce.subscribe((change) => this.#follow(change));
    this.#control = createControlApi(core, {
      sessionsFor: (server: string) => this.#mcp.sessionsOf(server) + this.#local.sessionsOf(server),
      breakerState: (server: string) => this.#breakers.get(server)?.state ?? 'closed',
      warmStatus: (server: string) => this.#wiring.warmStatus(server),
      pauseAll: () => this.close({ keepSweeping: true }),
      restart: async (server: string) => {
        await this.#wiring.restartWarm(server);
        const counts = await Promise.all([this.#mcp.restart(server), this.#local.restart(server)]);
        return counts[0] + counts[1];
      },
    });
    core.metrics.observe({
      upstreams: () =>
        [...core.config.servers.keys()].map((server) => ({ server, state: this.#state(server) })),
      sessionClients: () => [...this.#open].map((session) => session.clientInfo.name ?? 'unknown'),
    });
  }

  /** Open sessions of every endpoint (Streamable HTTP and local socket). */
  get sessionCount(): number {
    return this.#mcp.sessionCount + this.#local.sessionCount;
  }

  /** The local socket's connection listener (see LocalSocketEndpoint). */
  acceptLocal = (socket: Socket): void => this.#local.accept(socket);

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
    const route = routeOf(req.method, url.pathname);
    const verdict = this.#gate.check(req, {
      tokenRequired: route.tokenRequired,
      ...(route.dashboardToken ? { alsoAccept: (auth: string) => this.dashboard.accepts(auth) } : {}),
    });
    if (verdict) {
      this.#log.warn(
        { host: req.headers.host, origin: req.headers.origin, code: verdict.code },
        'request refused',
      );
      if (route.controlShape) sendControlError(res, verdict);
      else sendJsonRpcError(res, verdict);
      return;
    }
    switch (route.kind) {
      case 'oauth-callback': {
        const answer = this.#opts.core.oauth.callback(url);
        res.writeHead(answer.status, {
          'content-type': 'text/plain; charset=utf-8',
          'cache-control': 'no-store',
        });
        res.end(answer.text + '\n');
        return;
      }
      case 'ui':
        serveUi(req, res, url, this.#opts.uiDir ?? DEFAULT_UI_DIR);
        return;
      case 'ui-ticket':
      case 'ui-session':
        return dashboardAccessRoute(req, res, {
          exchange: route.kind === 'ui-session',
          access: this.dashboard,
          port: this.#opts.port,
          logger: this.#log,
        });
      case 'healthz': {
        const config = this.#opts.core.config;
        sendJson(res, 200, {
          name: 'mcp-warden',
          version: WARDEN_VERSION,
          pid: process.pid,
          config: config.file,
          servers: [...config.servers.keys()],
          sessions: this.sessionCount,
        });
        return;
      }
      case 'metrics':
        return serveMetrics(req, res, this.#opts.core.metrics);
      case 'control':
        return this.#control(req, res, url);
      case 'mcp':
        return this.#mcp.handle(req, res, url);
    }
  }

  /** A dashboard URL with a fresh one-time ticket in its fragment. */
  dashboardUrl(): string {
    return dashboardUrl(this.#opts.port, this.dashboard);
  }

  /** Keeps `session` in the open set until it is closed. */
  #track(session: BridgeSession): BridgeSession {
    this.#open.add(session);
    const close = session.close.bind(session);
    session.close = () => {
      this.#open.delete(session);
      return close();
    };
    return session;
  }

  /**
   * The upstream state of `server` for the metrics: its sessions' circuit breaker open, else
   * how the last start or run of an upstream of it went (a session's, else the warm one's).
   */
  #state(server: string): UpstreamState {
    const breaker = this.#breakers.get(server);
    if (breaker?.state === 'open') return 'circuit_open';
    if (breaker?.lastResult === 'failure') return 'down';
    if (breaker?.lastResult === 'success') return 'up';
    const warm = this.#wiring.warmStatus(server).state;
    return warm === 'ready' ? 'up' : warm === 'waiting' ? 'down' : 'idle';
  }

  #breaker(server: string): CircuitBreaker {
    let breaker = this.#breakers.get(server);
    if (!breaker) this.#breakers.set(server, (breaker = new CircuitBreaker()));
    return breaker;
  }

  /** Ends the sessions of servers a change put in force changed or removed. */
  #follow(change: InForceChange): Promise<void> {
    const { changed, removed } = change.servers;
    const servers = new Set([...changed, ...removed]);
    return Promise.all([this.#mcp.endSessionsOf(servers), this.#local.endSessionsOf(servers)]).then(
      () => undefined,
    );
  }

  /**
   * Ends every session and its upstream; resolves when every upstream process tree is gone,
   * including those of sessions that were already ending (client gone, DELETE, idle). With
   * `keepSweeping` (pause) it keeps serving and following the state in force.
   */
  async close(options: { keepSweeping?: boolean } = {}): Promise<void> {
    let warmEnded: Promise<void> | undefined;
    if (!options.keepSweeping) {
      this.#unfollow();
      warmEnded = this.#wiring.close();
    }
    await Promise.all([this.#mcp.close(options), this.#local.close()]);
    await warmEnded;
    await this.#opts.core.upstreams.endAll();
  }
}
