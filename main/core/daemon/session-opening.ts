import type { BridgeSession } from '../bridge/session.ts';
import type { DownstreamPort } from '../bridge/session-ports.ts';
import type { ServerConfig, WardenConfig } from '../config/schema.ts';
import { quoteName } from '../config/server-name.ts';
import { WardenError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { describeIdentity } from '../policy/identity.ts';
import type { ServerAdmission } from '../runtime/admission.ts';

/** What an MCP endpoint uses of a session's bridge (BridgeSession). */
export type EndpointSession = Pick<
  BridgeSession,
  'server' | 'reserve' | 'fromDownstream' | 'close' | 'restartUpstream'
> &
  Partial<Pick<BridgeSession, 'toolDefinition'>>;

/** What a new session's bridge is opened with. */
export interface SessionInit {
  server: ServerConfig;
  /** Whether server policy trusts this server's annotations (from its admission). */
  trusted: boolean;
  downstream: DownstreamPort;
  /** The downstream session id (known once the session is established). */
  sessionId: () => string;
  logger: Logger;
  /** True for the bridge the 2026-07-28 HTTP endpoint shares among stateless requests. */
  sessionless?: boolean;
}

/**
 * What every MCP endpoint (Streamable HTTP, local socket) is given by the gateway to open
 * sessions: the state in force, read at each opening, and the bridge factory.
 */
export interface SessionHost {
  /** The config in force now: read on every opening. */
  config: () => WardenConfig;
  /** While true, new sessions are refused (PAUSED). */
  paused: () => boolean;
  /** May this server run now? (WardenCore.admit) */
  admit: (server: ServerConfig) => ServerAdmission;
  /** Opens the bridge of a new session (BridgeSession over its ports). */
  openSession: (init: SessionInit) => EndpointSession;
  /** The protocol era of a configured server (probed once, cached); absent: legacy only. */
  upstreamEra?: (server: ServerConfig) => Promise<'legacy' | 'modern'>;
  logger: Logger;
}

/** The configured server of that name in `config`, or the SERVER_UNKNOWN error naming the file. */
export function configuredServer(config: WardenConfig, name: string): ServerConfig | WardenError {
  const server = config.servers.get(name);
  if (server) return server;
  const configured = [...config.servers.keys()].map(quoteName).join(', ');
  return new WardenError(
    'SERVER_UNKNOWN',
    `Unknown server ${quoteName(name)}: it is not in ${config.file} (configured: ${configured || 'none'})`,
  );
}

/**
 * Whether a new session of the named server may open now, the same for every transport: the
 * server must be in the config in force (read now), Warden not paused, and the server admitted
 * by policy. Refusals are logged.
 * @returns the server as configured now and whether its annotations are trusted, or the error to
 *   answer: SERVER_UNKNOWN, PAUSED or SERVER_NOT_ALLOWED.
 */
export function admitSession(
  host: SessionHost,
  name: string,
): { server: ServerConfig; trusted: boolean } | { error: WardenError } {
  if (host.paused()) {
    return {
      error: new WardenError(
        'PAUSED',
        'MCP Warden is paused: no server runs until someone resumes it (tray menu or dashboard)',
      ),
    };
  }
  const server = configuredServer(host.config(), name);
  if (server instanceof WardenError) return { error: server };
  const admission = host.admit(server);
  if (!admission.allowed) {
    host.logger.warn(
      { server: server.name, command: describeIdentity(admission.identity) },
      `server refused: ${admission.reason}`,
    );
    return {
      error: new WardenError(
        'SERVER_NOT_ALLOWED',
        `MCP Warden refused to start this server: ${admission.reason}`,
      ),
    };
  }
  return { server, trusted: admission.trusted };
}

/** One open session as its endpoint tracks it. */
export interface TrackedSession {
  readonly session: EndpointSession;
  /** Ends the session's bridge and then its transport (connection, streams). */
  end(): Promise<void>;
}

/**
 * The open sessions of one endpoint, by session id. The gateway asks every endpoint the same
 * questions (how many sessions of a server, restart them, end them), whatever its transport.
 */
export class SessionRegistry<T extends TrackedSession = TrackedSession> {
  readonly #byId = new Map<string, T>();

  get size(): number {
    return this.#byId.size;
  }

  get(id: string): T | undefined {
    return this.#byId.get(id);
  }

  add(id: string, tracked: T): void {
    this.#byId.set(id, tracked);
  }

  delete(id: string): boolean {
    return this.#byId.delete(id);
  }

  values(): IterableIterator<T> {
    return this.#byId.values();
  }

  /** The open sessions of `server`. */
  of(server: string): T[] {
    return [...this.#byId.values()].filter((t) => t.session.server.name === server);
  }

  /** Restarts the upstream of every session of `server`; resolves with how many. */
  async restart(server: string): Promise<number> {
    const sessions = this.of(server);
    await Promise.all(sessions.map((t) => t.session.restartUpstream()));
    return sessions.length;
  }

  /**
   * Ends the sessions of the named servers (or all, without `servers`), at once: they are
   * removed first, so none of them serves another request. Resolves when they are closed.
   */
  async end(servers?: ReadonlySet<string>): Promise<void> {
    const ending = [...this.#byId.entries()].filter(
      ([, t]) => !servers || servers.has(t.session.server.name),
    );
    for (const [id] of ending) this.#byId.delete(id);
    await Promise.all(ending.map(([, t]) => t.end()));
  }
}
