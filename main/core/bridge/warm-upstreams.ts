import { isInitializeRequest, type JSONRPCMessage } from '@modelcontextprotocol/server';
import type { ServerConfig, StdioServerConfig } from '../config/schema.ts';
import { describeError, WardenError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { backoffDelay, CircuitBreaker } from './circuit-breaker.ts';
import { isCheckedError, isCheckedResponse, isCheckedResult } from './jsonrpc-check.ts';
import { handshakeKey, sameHandshake, type InitializeParams } from './warm-handshake.ts';
import type { UpstreamLink } from './upstream-link.ts';

/** How long a warm upstream gets to answer its initialize, ms. */
export const WARM_INITIALIZE_TIMEOUT_MS = 30_000;
/** Messages a warm upstream may send before it is handed over (kept for the session); more ends it. */
export const MAX_WARM_PENDING = 64;
/** Default wait after a handover before the replacement is spawned, ms (the new session goes first). */
export const WARM_REPLACE_DELAY_MS = 500;

/** Prefix of the ids of warm upstreams' own initialize requests (never a client's: see supervisor). */
const WARM_ID_PREFIX = 'mcp-warden/warm-initialize/';

/** What a session takes over from the pool: a started, initialized link and what it already said. */
export interface WarmHandover {
  link: UpstreamLink;
  /** The result of the warm upstream's initialize, to answer the session's initialize with. */
  result: Record<string, unknown>;
  /** Messages the server sent after its initialize answer, in order, for the session. */
  pending: JSONRPCMessage[];
  /** The clientInfo the server was initialized with (an earlier session's). */
  initializedFor: InitializeParams['clientInfo'];
}

/** A warm upstream's state, for status: ready, starting, waiting (backoff or after a handover) or off. */
export interface WarmStatus {
  state: 'ready' | 'starting' | 'waiting' | 'off';
  /** Why it is off or waiting; absent when ready or starting. */
  reason?: string;
}

/** What the pool is given to run by (runtime/session-wiring.ts builds it from the core). */
export interface WarmUpstreamsOptions {
  /** A new, unstarted link (the process tree is recorded like any session's). */
  createLink(server: StdioServerConfig, logger: Logger): UpstreamLink;
  /** The server of that name as configured now, or undefined. */
  configured(name: string): ServerConfig | undefined;
  /**
   * Why no warm upstream may be kept for `server` now (settings, paused, not admitted), or
   * undefined when one may. Asked before every spawn and on every refresh.
   */
  offReason(server: ServerConfig): string | undefined;
  /** The initialize params of the last session of `server`; undefined: it has not run here. */
  lastInitialize(server: StdioServerConfig): InitializeParams | undefined;
  /** Records that a session of `server` initialized with `params` (durably). */
  recordInitialize(server: StdioServerConfig, params: InitializeParams): void;
  logger: Logger;
  /** Backoff before replacing a warm upstream that died, attempt n (0-based), ms. */
  backoff?: (attempt: number) => number;
  /** Wait after a handover before the replacement spawns, ms (default WARM_REPLACE_DELAY_MS). */
  replaceDelayMs?: number;
}

interface Entry {
  server: StdioServerConfig;
  /** JSON of `server` as started, to tell a changed config. */
  config: string;
  state: 'starting' | 'ready' | 'waiting';
  reason?: string;
  link?: UpstreamLink;
  params?: InitializeParams;
  result?: Record<string, unknown>;
  pending: JSONRPCMessage[];
  timer?: NodeJS.Timeout;
  settleInit?: (message: JSONRPCMessage) => void;
}

/**
 * One warm upstream per stdio server that has run on this machine (UpstreamRunStore): spawned
 * and initialized with the params of that server's last session, waiting for the next session,
 * whose initialize it answers when the handshake is the same (sameHandshake: everything but
 * clientInfo). It gets `notifications/initialized` from the session's client, when the client
 * sends it. After a handover the replacement is spawned in the background, after a short delay.
 *
 * At most one per server. One that dies while waiting is replaced with backoff; once its own
 * circuit breaker opens (failures of warm upstreams only, so sessions are not refused for them)
 * none is kept for that server until a session of it succeeds or its config changes: a
 * crashing server is not spawned in a loop. Ended (whole process tree: the link's close)
 * by `end`, `endAll` and `close`; `refresh` ends those whose server changed, went away or may
 * not run now, and starts the missing ones. Logs every step with the server's name.
 */
export class WarmUpstreams {
  readonly #opts: WarmUpstreamsOptions;
  readonly #log: Logger;
  readonly #backoff: (attempt: number) => number;
  readonly #entries = new Map<string, Entry>();
  readonly #breakers = new Map<string, CircuitBreaker>();
  readonly #attempts = new Map<string, number>();
  /** Servers whose warm upstreams kept failing (breaker open), with the config they failed as. */
  readonly #gaveUp = new Map<string, { config: string; reason: string }>();
  /** Sessions waiting for the warm upstream of a server to be ready (coming), by server name. */
  readonly #waiters = new Map<string, Set<() => void>>();
  #nextId = 1;
  #closed = false;

  constructor(options: WarmUpstreamsOptions) {
    this.#opts = options;
    this.#log = options.logger;
    this.#backoff = options.backoff ?? ((attempt) => backoffDelay(attempt));
  }

  /** The warm upstream of `name`: state and why (see WarmStatus). */
  status(name: string): WarmStatus {
    const entry = this.#entries.get(name);
    if (entry) return { state: entry.state, ...(entry.reason ? { reason: entry.reason } : {}) };
    const server = this.#opts.configured(name);
    const reason = this.#closed ? 'the daemon is stopping' : server ? this.#whyNot(server) : 'not configured';
    return { state: 'off', reason: reason ?? 'not started yet' };
  }

  /**
   * Hands the ready warm upstream of `server` to a new session whose initialize has `params`.
   * @returns the handover, or undefined (none ready, another config, another handshake: the
   *   session spawns its own). A replacement follows a handover in the background.
   */
  take(server: ServerConfig, params: InitializeParams): WarmHandover | undefined {
    const entry = this.#entries.get(server.name);
    if (!entry || entry.state !== 'ready' || !entry.link || !entry.params || !entry.result) return undefined;
    if (entry.config !== JSON.stringify(server)) {
      void this.#end(entry, 'its server changed');
      return undefined;
    }
    if (!sameHandshake(entry.params, params)) {
      this.#log.info(
        { server: server.name },
        'warm upstream not used: the session sent another protocolVersion or other capabilities than it was initialized with',
      );
      return undefined;
    }
    this.#entries.delete(server.name);
    this.#attempts.delete(server.name);
    queueMicrotask(() => this.#notify(server.name));
    const { link, result, pending, params: warmParams } = entry;
    link.onmessage = undefined;
    link.onclose = undefined;
    this.#log.info(
      {
        server: server.name,
        pid: link.pid,
        initializedFor: warmParams.clientInfo,
        client: params.clientInfo,
      },
      'warm upstream handed to a new session',
    );
    this.#waitThenStart(
      entry.server,
      this.#opts.replaceDelayMs ?? WARM_REPLACE_DELAY_MS,
      'replacing the one handed over',
    );
    return { link, result, pending, initializedFor: warmParams.clientInfo };
  }

  /**
   * The warm upstream of `server` that is on its way, for a new session whose initialize has
   * `params` when none is ready (take): one spawning or initializing, or one waiting out the
   * delay after a handover (it then starts at once). Waiting for it costs the session no more
   * than spawning its own, and spares the machine a second server starting beside it: in the
   * bench's cold starts (10 sessions, each soon after the last) the slowest took 1 078 ms when
   * such a session spawned its own, and 329 to 345 ms when it waited.
   * @returns undefined when none is coming for this handshake (none kept, another config or
   *   handshake, one waiting out a backoff after failing: the session spawns its own); else a
   *   promise of the handover once it is ready, or of undefined when it failed, ended, or was
   *   not ready within `timeoutMs` (default WARM_INITIALIZE_TIMEOUT_MS).
   */
  coming(
    server: ServerConfig,
    params: InitializeParams,
    timeoutMs = WARM_INITIALIZE_TIMEOUT_MS,
  ): Promise<WarmHandover | undefined> | undefined {
    if (!this.#onItsWay(server, params)) return undefined;
    const deadline = Date.now() + timeoutMs;
    return (async () => {
      while (this.#onItsWay(server, params)) {
        const entry = this.#entries.get(server.name)!;
        if (entry.state === 'ready') return this.take(server, params);
        if (entry.state === 'waiting') {
          clearTimeout(entry.timer);
          void this.#start(entry);
        }
        const left = deadline - Date.now();
        if (left <= 0) return undefined;
        await this.#changed(server.name, left);
      }
      return undefined;
    })();
  }

  /** Is a warm upstream of `server` ready or on its way for a session with `params`? */
  #onItsWay(server: ServerConfig, params: InitializeParams): boolean {
    const entry = this.#entries.get(server.name);
    if (this.#closed || !entry || entry.config !== JSON.stringify(server)) return false;
    if (entry.state === 'waiting' && (this.#attempts.get(server.name) ?? 0) > 0) return false;
    const warmParams = entry.params ?? this.#opts.lastInitialize(entry.server);
    return warmParams !== undefined && sameHandshake(warmParams, params);
  }

  /** Resolves when the warm upstream of `name` changes state (ready, failed, ended), or after `ms`. */
  #changed(name: string, ms: number): Promise<void> {
    return new Promise((resolve) => {
      const waiters = this.#waiters.get(name) ?? new Set<() => void>();
      this.#waiters.set(name, waiters);
      const done = (): void => {
        clearTimeout(timer);
        waiters.delete(done);
        if (waiters.size === 0 && this.#waiters.get(name) === waiters) this.#waiters.delete(name);
        resolve();
      };
      const timer = setTimeout(done, ms);
      waiters.add(done);
    });
  }

  /** Wakes the sessions waiting for the warm upstream of `name` (coming). */
  #notify(name: string): void {
    for (const wake of [...(this.#waiters.get(name) ?? [])]) wake();
  }

  /**
   * A session of `server` initialized with `params`: records it (the server has now run here)
   * and keeps a warm upstream for it; params that are not a valid InitializeRequest's are
   * ignored. A warm upstream initialized with another handshake is
   * replaced by one with these params.
   */
  initialized(server: ServerConfig, params: InitializeParams): void {
    if (server.kind !== 'stdio' || this.#closed) return;
    // Only an initialize as the spec shapes it is replayed to warm upstreams (a lenient server
    // may have answered another).
    if (!isInitializeRequest({ jsonrpc: '2.0', id: 0, method: 'initialize', params })) {
      this.#log.debug(
        { server: server.name },
        'not recorded for warm upstreams: an initialize of another shape',
      );
      return;
    }
    this.#gaveUp.delete(server.name);
    try {
      this.#opts.recordInitialize(server, params);
    } catch (error) {
      this.#log.warn(
        { err: describeError(error), server: server.name },
        'could not record that the server ran',
      );
    }
    // A session opened under an earlier config does not start one for the config now.
    const now = this.#opts.configured(server.name);
    if (!now || JSON.stringify(now) !== JSON.stringify(server)) return;
    const entry = this.#entries.get(server.name);
    if (entry?.params && handshakeKey(entry.params) !== handshakeKey(params)) {
      void this.#end(entry, 'a session initialized with another handshake').then(() => this.prime(now));
      return;
    }
    this.prime(now);
  }

  /** Starts a warm upstream for `server` unless one is kept already or none may be (offReason). */
  prime(server: ServerConfig): void {
    if (this.#closed || server.kind !== 'stdio' || this.#entries.has(server.name)) return;
    if (this.#whyNot(server) !== undefined) return;
    const entry: Entry = { server, config: JSON.stringify(server), state: 'starting', pending: [] };
    this.#entries.set(server.name, entry);
    void this.#start(entry);
  }

  /**
   * Ends the warm upstreams whose server changed, was removed or may not run now (paused, not
   * admitted, turned off), then starts those that are missing for every configured server.
   */
  async refresh(servers: Iterable<ServerConfig>, why: string): Promise<void> {
    const ending: Promise<void>[] = [];
    for (const entry of [...this.#entries.values()]) {
      const now = this.#opts.configured(entry.server.name);
      const reason = !now
        ? 'its server was removed'
        : JSON.stringify(now) !== entry.config
          ? 'its server changed'
          : this.#opts.offReason(now);
      if (reason !== undefined) ending.push(this.#end(entry, `${reason} (${why})`));
    }
    await Promise.all(ending);
    for (const server of servers) this.prime(server);
  }

  /** Ends the warm upstreams of the named servers; resolves when their processes are gone. */
  async end(names: Iterable<string>, why: string): Promise<void> {
    const ending: Promise<void>[] = [];
    for (const name of names) {
      const entry = this.#entries.get(name);
      if (entry) ending.push(this.#end(entry, why));
    }
    await Promise.all(ending);
  }

  /** Ends every warm upstream (pause); new ones start again on refresh or a session. */
  async endAll(why: string): Promise<void> {
    await Promise.all([...this.#entries.values()].map((entry) => this.#end(entry, why)));
  }

  /** Ends every warm upstream and starts no more (daemon stop). */
  async close(): Promise<void> {
    this.#closed = true;
    await this.endAll('the daemon is stopping');
  }

  #whyNot(server: ServerConfig): string | undefined {
    const off = this.#opts.offReason(server);
    if (off !== undefined) return off;
    const gaveUp = this.#gaveUp.get(server.name);
    if (gaveUp?.config === JSON.stringify(server)) return gaveUp.reason;
    if (server.kind !== 'stdio') return 'a url server has no process to keep ready';
    if (!this.#opts.lastInitialize(server)) return 'it has not run on this machine yet';
    return undefined;
  }

  #breaker(name: string): CircuitBreaker {
    let breaker = this.#breakers.get(name);
    if (!breaker) this.#breakers.set(name, (breaker = new CircuitBreaker()));
    return breaker;
  }

  async #start(entry: Entry): Promise<void> {
    const { server } = entry;
    const log = this.#log.child({ server: server.name, warm: true });
    const params = this.#opts.lastInitialize(server);
    if (!params) {
      this.#entries.delete(server.name);
      this.#notify(server.name);
      return;
    }
    entry.state = 'starting';
    delete entry.reason;
    entry.params = params;
    const link = this.#opts.createLink(server, log);
    entry.link = link;
    link.onmessage = (message) => this.#fromWarm(entry, link, message);
    link.onclose = (reason) => this.#lost(entry, link, reason);
    try {
      await link.start();
      if (entry.link !== link) return;
      const id = `${WARM_ID_PREFIX}${this.#nextId++}`;
      const answer = this.#awaitInit(entry, id);
      await link.send({ jsonrpc: '2.0', id, method: 'initialize', params });
      const response = await answer;
      if (entry.link !== link) return;
      if (!isCheckedResult(response)) {
        const message = isCheckedError(response) ? response.error.message : 'no answer';
        throw new WardenError('UPSTREAM_UNAVAILABLE', `initialize failed: ${message}`);
      }
      entry.result = response.result;
      entry.state = 'ready';
      this.#breaker(server.name).recordSuccess();
      log.info({ pid: link.pid }, 'warm upstream ready for the next session');
      this.#notify(server.name);
    } catch (error) {
      if (entry.link !== link) return;
      this.#failed(entry, link, describeError(error));
    }
  }

  #awaitInit(entry: Entry, id: string): Promise<JSONRPCMessage> {
    return new Promise((resolve) => {
      const timer = setTimeout(
        () =>
          resolve({
            jsonrpc: '2.0',
            id,
            error: { code: -32000, message: `no answer within ${WARM_INITIALIZE_TIMEOUT_MS} ms` },
          }),
        WARM_INITIALIZE_TIMEOUT_MS,
      );
      timer.unref();
      entry.settleInit = (message) => {
        clearTimeout(timer);
        delete entry.settleInit;
        resolve(message);
      };
    });
  }

  #fromWarm(entry: Entry, link: UpstreamLink, message: JSONRPCMessage): void {
    if (entry.link !== link) return;
    if (
      entry.settleInit &&
      isCheckedResponse(message) &&
      typeof message.id === 'string' &&
      message.id.startsWith(WARM_ID_PREFIX)
    ) {
      entry.settleInit(message);
      return;
    }
    if (entry.state !== 'ready') {
      this.#log.debug(
        { server: entry.server.name },
        'dropping a message a warm upstream sent before its initialize answer',
      );
      return;
    }
    if (entry.pending.length >= MAX_WARM_PENDING) {
      this.#failed(entry, link, `it sent more than ${MAX_WARM_PENDING} messages while waiting for a session`);
      return;
    }
    entry.pending.push(message);
  }

  #lost(entry: Entry, link: UpstreamLink, reason: string): void {
    if (entry.link !== link) return;
    entry.settleInit?.({ jsonrpc: '2.0', id: 0, error: { code: -32000, message: reason } });
    this.#failed(entry, link, reason);
  }

  /** A warm upstream failed to start or died while waiting: end it, replace it with backoff. */
  #failed(entry: Entry, link: UpstreamLink, reason: string): void {
    const name = entry.server.name;
    delete entry.link;
    delete entry.result;
    entry.pending = [];
    void link.close();
    const breaker = this.#breaker(name);
    breaker.recordFailure();
    const attempt = this.#attempts.get(name) ?? 0;
    this.#attempts.set(name, attempt + 1);
    this.#entries.delete(name);
    queueMicrotask(() => this.#notify(name));
    if (breaker.state === 'open') {
      // No loop on a crashing server: none again until a session of it succeeds or its config changes.
      const why = `the warm upstream failed ${breaker.recentFailures} times in a row (last: ${reason}); none is kept until a session of the server succeeds or its config changes`;
      this.#gaveUp.set(name, { config: entry.config, reason: why });
      this.#attempts.delete(name);
      this.#log.warn({ server: name, attempt: attempt + 1 }, why);
      return;
    }
    const delay = this.#backoff(attempt);
    this.#log.warn(
      { server: name, delayMs: delay, attempt: attempt + 1 },
      `warm upstream failed: ${reason}; replacing it after backoff`,
    );
    this.#waitThenStart(entry.server, delay, `replacing one that failed: ${reason}`);
  }

  /** Keeps the place of `server` (state waiting) and starts a warm upstream after `delayMs`. */
  #waitThenStart(server: StdioServerConfig, delayMs: number, reason: string): void {
    if (this.#closed) return;
    const entry: Entry = { server, config: JSON.stringify(server), state: 'waiting', reason, pending: [] };
    this.#entries.set(server.name, entry);
    entry.timer = setTimeout(() => {
      if (this.#entries.get(server.name) !== entry) return;
      const now = this.#opts.configured(server.name);
      if (!now || JSON.stringify(now) !== entry.config || this.#whyNot(now) !== undefined) {
        this.#entries.delete(server.name);
        this.#notify(server.name);
        return;
      }
      void this.#start(entry);
    }, delayMs);
    entry.timer.unref();
  }

  async #end(entry: Entry, why: string): Promise<void> {
    if (this.#entries.get(entry.server.name) === entry) this.#entries.delete(entry.server.name);
    this.#notify(entry.server.name);
    clearTimeout(entry.timer);
    const link = entry.link;
    delete entry.link;
    entry.settleInit?.({ jsonrpc: '2.0', id: 0, error: { code: -32000, message: why } });
    if (!link) return;
    link.onmessage = undefined;
    link.onclose = undefined;
    this.#log.info({ server: entry.server.name, pid: link.pid }, `ending the warm upstream: ${why}`);
    await link.close();
  }
}
