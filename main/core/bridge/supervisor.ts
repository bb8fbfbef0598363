import {
  isInitializeRequest,
  type InitializeRequest,
  type JSONRPCMessage,
  type RequestId,
} from '@modelcontextprotocol/server';
import type { ServerConfig } from '../config/schema.ts';
import { WardenError, describeError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { backoffDelay, type CircuitBreaker } from './circuit-breaker.ts';
import { errorResponseFor, JsonRpcError } from './jsonrpc.ts';
import { isCheckedError, isCheckedRequest, isCheckedResponse } from './jsonrpc-check.ts';
import { createUpstreamLink, type UpstreamLink } from './upstream-link.ts';
import type { WarmHandover } from './warm-upstreams.ts';

/** How long a restarted server gets to answer Warden's initialize, ms. */
export const REINITIALIZE_TIMEOUT_MS = 30_000;

/**
 * Prefix of JSON-RPC ids Warden itself sends upstream. Client requests are forwarded under
 * numeric ids their session assigns (BridgeSession), so the two never meet.
 */
export const WARDEN_ID_PREFIX = 'mcp-warden/';

export interface SupervisorOptions {
  server: ServerConfig;
  /** The server's breaker, shared by all its sessions. */
  breaker: CircuitBreaker;
  logger: Logger;
  /** Every message from the upstream except the answers to Warden's own requests. */
  onMessage: (message: JSONRPCMessage) => void;
  /**
   * The connection was lost: requests in flight will get no answer. `restarting` tells
   * whether the supervisor will bring the server back for this session.
   */
  onLost: (reason: string, restarting: boolean) => void;
  /** Factory for links (tests substitute one). */
  createLink?: (server: ServerConfig, logger: Logger) => UpstreamLink;
  /** Backoff before restart attempt n (0-based), ms. */
  backoff?: (attempt: number) => number;
  /** The server's warm upstream (stdio servers; see WarmPort). */
  warm?: WarmPort;
}

/**
 * A session's view of its server's warm upstream (bridge/warm-upstreams.ts): it may answer the
 * session's initialize, and is told each initialize that succeeded.
 */
export interface WarmPort {
  /** The ready warm upstream, when it was initialized with the same handshake as `params`. */
  take(params: InitializeRequest['params']): WarmHandover | undefined;
  /**
   * When none is ready: the one on its way for this handshake (WarmUpstreams.coming), a promise
   * of its handover (undefined if it does not come); undefined when none is on its way.
   */
  coming?(params: InitializeRequest['params']): Promise<WarmHandover | undefined> | undefined;
  /** The session's initialize succeeded with `params`. */
  initialized(params: InitializeRequest['params']): void;
}

type State = 'idle' | 'starting' | 'ready' | 'restarting' | 'closed';

/**
 * Owns the upstream connection of one downstream session and keeps it alive.
 *
 * The first start happens on the client's initialize, which is forwarded as it is, unless the
 * server's warm upstream (WarmPort) was initialized with the same handshake: then the session
 * takes that link over, and its initialize is answered with the warm upstream's initialize
 * result under the id the session sent it with, as if it had been forwarded; messages the warm
 * upstream sent meanwhile follow; the client's `notifications/initialized` goes to it as sent.
 * When the
 * connection is lost afterwards, the supervisor tells the session (so requests in flight get an
 * error), then restarts the server with exponential backoff, replays the client's initialize
 * under a Warden id, sends `notifications/initialized`, and delivers what was queued meanwhile.
 * While the server's circuit breaker is open, `send` throws CIRCUIT_OPEN at once.
 */
export class UpstreamSupervisor {
  readonly #opts: SupervisorOptions;
  readonly #log: Logger;
  readonly #createLink: (server: ServerConfig, logger: Logger) => UpstreamLink;
  readonly #backoff: (attempt: number) => number;
  #state: State = 'idle';
  #link: UpstreamLink | undefined;
  #initializeParams: InitializeRequest['params'] | undefined;
  #protocolVersion: string | undefined;
  #queue: JSONRPCMessage[] = [];
  #attempt = 0;
  #restartTimer: NodeJS.Timeout | undefined;
  #ownRequests = new Map<string, (message: JSONRPCMessage) => void>();
  #nextOwnId = 1;
  #startPromise: Promise<void> | undefined;

  constructor(options: SupervisorOptions) {
    this.#opts = options;
    this.#log = options.logger;
    this.#createLink = options.createLink ?? createUpstreamLink;
    this.#backoff = options.backoff ?? ((attempt) => backoffDelay(attempt));
  }

  get state(): State {
    return this.#state;
  }

  /**
   * Sends a message upstream, starting the server on first use.
   * @throws WardenError CIRCUIT_OPEN while the breaker is open, UPSTREAM_UNAVAILABLE when the
   *   server cannot be started or the session is closed.
   */
  async send(message: JSONRPCMessage): Promise<void> {
    switch (this.#state) {
      case 'ready':
        return this.#link!.send(message);
      case 'idle': {
        this.#assertBreakerAllows();
        const initialize =
          !this.#startPromise &&
          isCheckedRequest(message) &&
          message.method === 'initialize' &&
          isInitializeRequest(message)
            ? message
            : undefined;
        if (initialize && this.#adoptWarm(initialize.id, this.#opts.warm?.take(initialize.params))) return;
        const coming = initialize && this.#opts.warm?.coming?.(initialize.params);
        if (coming) {
          let adopted = false;
          this.#state = 'starting';
          this.#startPromise = coming.then((handover) => {
            if (this.#state === 'closed') {
              void handover?.link.close();
              throw new WardenError(
                'UPSTREAM_UNAVAILABLE',
                `the session with server "${this.#opts.server.name}" is closed`,
              );
            }
            this.#state = 'idle';
            adopted = this.#adoptWarm(initialize.id, handover);
            return adopted ? undefined : this.#firstStart();
          });
          await this.#startPromise;
          if (!adopted) await this.#link!.send(message);
          return;
        }
        this.#startPromise ??= this.#firstStart();
        await this.#startPromise;
        return this.#link!.send(message);
      }
      case 'starting':
        await this.#startPromise;
        return this.#link!.send(message);
      case 'restarting':
        this.#assertBreakerAllows();
        this.#queue.push(message);
        return;
      case 'closed':
        throw new WardenError(
          'UPSTREAM_UNAVAILABLE',
          `the session with server "${this.#opts.server.name}" is closed`,
        );
    }
  }

  /**
   * Sends a request of Warden's own upstream (e.g. tools/list to verify pins) and waits for the
   * answer.
   * @returns the result object.
   * @throws JsonRpcError with the server's error code and message; Error on timeout (ms).
   */
  async request(
    method: string,
    params: Record<string, unknown> | undefined,
    timeoutMs = 30_000,
  ): Promise<Record<string, unknown>> {
    const id = `${WARDEN_ID_PREFIX}${method}/${this.#nextOwnId++}`;
    const answer = this.#awaitOwn(id, timeoutMs, method);
    try {
      await this.send({ jsonrpc: '2.0', id, method, ...(params ? { params } : {}) });
    } catch (error) {
      // Not sent: settle the wait now (its timeout would reject with no one listening).
      this.#ownRequests.get(id)?.(errorResponseFor(id, new WardenError('UPSTREAM_UNAVAILABLE', 'not sent')));
      this.#ownRequests.delete(id);
      throw error;
    }
    const response = await answer;
    if (isCheckedError(response))
      throw new JsonRpcError(
        `${method} failed: ${response.error.message}`,
        response.error.code,
        response.error.data,
      );
    return (response as { result: Record<string, unknown> }).result;
  }

  #awaitOwn(id: string, timeoutMs: number, what: string): Promise<JSONRPCMessage> {
    return new Promise<JSONRPCMessage>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#ownRequests.delete(id);
        reject(new WardenError('UPSTREAM_UNAVAILABLE', `no answer to ${what} within ${timeoutMs} ms`));
      }, timeoutMs);
      timer.unref();
      this.#ownRequests.set(id, (message) => {
        clearTimeout(timer);
        resolve(message);
      });
    });
  }

  /**
   * Records the client's initialize so a restart can replay it, and the negotiated version;
   * tells the warm upstreams (the server has run; its next warm one uses these params).
   */
  noteInitialized(params: InitializeRequest['params'], protocolVersion: string | undefined): void {
    this.#initializeParams = params;
    this.#opts.warm?.initialized(params);
    if (protocolVersion) {
      this.#protocolVersion = protocolVersion;
      this.#link?.setProtocolVersion(protocolVersion);
    }
  }

  /**
   * Stops the upstream and starts it again at once, re-initialized with the client's
   * initialize (a person asked for it: no breaker failure, no backoff). Calls in flight fail
   * with `reason`. Does nothing unless the upstream is ready.
   */
  async restart(reason: string): Promise<void> {
    const old = this.#link;
    if (this.#state !== 'ready' || !old || !this.#initializeParams) return;
    this.#link = undefined;
    this.#state = 'restarting';
    this.#opts.onLost(reason, true);
    await old.close();
    await this.#restart();
  }

  async close(): Promise<void> {
    this.#state = 'closed';
    clearTimeout(this.#restartTimer);
    this.#queue = [];
    const link = this.#link;
    this.#link = undefined;
    await link?.close();
  }

  #assertBreakerAllows(): void {
    const breaker = this.#opts.breaker;
    if (breaker.state === 'open') {
      const retry = new Date(breaker.retryAt ?? Date.now()).toISOString();
      throw new WardenError(
        'CIRCUIT_OPEN',
        `server "${this.#opts.server.name}" failed ${breaker.recentFailures} times in a row; ` +
          `Warden stopped restarting it until ${retry}. Check the server (see the daemon log) and try again then.`,
      );
    }
  }

  /**
   * Takes over a warm upstream handed to this session's initialize (`id`), if one was.
   * The answer is delivered in a later microtask, after the session has mapped the request.
   * @returns whether the initialize was answered from it.
   */
  #adoptWarm(id: RequestId, handover: WarmHandover | undefined): boolean {
    if (!handover) return false;
    const { link, result, pending } = handover;
    link.onmessage = (m) => this.#onLinkMessage(m);
    link.onclose = (reason) => this.#onLinkClosed(link, reason);
    this.#link = link;
    this.#state = 'ready';
    this.#opts.breaker.recordStarted();
    this.#log.info(
      { childPid: link.pid, initializedFor: handover.initializedFor },
      'initialize answered by the warm upstream',
    );
    queueMicrotask(() => {
      if (this.#link !== link) return;
      this.#opts.onMessage({ jsonrpc: '2.0', id, result });
      for (const m of pending) if (this.#link === link) this.#onLinkMessage(m);
    });
    return true;
  }

  async #firstStart(): Promise<void> {
    this.#state = 'starting';
    let link: UpstreamLink;
    try {
      link = await this.#connect();
    } catch (error) {
      if ((this.#state as State) !== 'closed') {
        this.#opts.breaker.recordFailure();
        this.#state = 'idle';
      }
      this.#startPromise = undefined;
      throw new WardenError(
        'UPSTREAM_UNAVAILABLE',
        `server "${this.#opts.server.name}": ${describeError(error)}`,
        {
          cause: error,
        },
      );
    }
    if ((this.#state as State) === 'closed') {
      // The session ended while the server was starting: it must not keep running.
      await link.close();
      throw new WardenError(
        'UPSTREAM_UNAVAILABLE',
        `the session with server "${this.#opts.server.name}" is closed`,
      );
    }
    this.#link = link;
    this.#state = 'ready';
    this.#opts.breaker.recordStarted();
  }

  async #connect(): Promise<UpstreamLink> {
    const link = this.#createLink(this.#opts.server, this.#log);
    link.onmessage = (message) => this.#onLinkMessage(message);
    link.onclose = (reason) => this.#onLinkClosed(link, reason);
    await link.start();
    if (this.#protocolVersion) link.setProtocolVersion(this.#protocolVersion);
    return link;
  }

  #onLinkMessage(message: JSONRPCMessage): void {
    if (
      isCheckedResponse(message) &&
      typeof message.id === 'string' &&
      message.id.startsWith(WARDEN_ID_PREFIX)
    ) {
      const resolve = this.#ownRequests.get(message.id);
      this.#ownRequests.delete(message.id);
      resolve?.(message);
      return;
    }
    this.#opts.onMessage(message);
  }

  #onLinkClosed(link: UpstreamLink, reason: string): void {
    if (link !== this.#link || this.#state === 'closed') return;
    this.#link = undefined;
    this.#opts.breaker.recordFailure();
    for (const resolve of this.#ownRequests.values())
      resolve({ jsonrpc: '2.0', id: 0, error: { code: -32000, message: reason } });
    this.#ownRequests.clear();
    if (!this.#initializeParams) {
      // The server died before the client finished initialize: nothing to restore.
      this.#state = 'idle';
      this.#startPromise = undefined;
      this.#opts.onLost(reason, false);
      return;
    }
    this.#state = 'restarting';
    this.#opts.onLost(reason, true);
    this.#scheduleRestart();
  }

  #scheduleRestart(): void {
    const breaker = this.#opts.breaker;
    let delay = this.#backoff(this.#attempt++);
    if (breaker.state === 'open') {
      delay = Math.max(delay, (breaker.retryAt ?? Date.now()) - Date.now());
      this.#failQueued();
    }
    this.#log.info({ delayMs: delay, attempt: this.#attempt }, 'restarting upstream after backoff');
    this.#restartTimer = setTimeout(() => void this.#restart(), delay);
    this.#restartTimer.unref();
  }

  async #restart(): Promise<void> {
    if (this.#state !== 'restarting') return;
    try {
      const link = await this.#connect();
      if (this.#state !== 'restarting') {
        await link.close();
        return;
      }
      this.#link = link;
      await this.#reinitialize(link);
      if (this.#state !== 'restarting') return;
      this.#state = 'ready';
      this.#attempt = 0;
      this.#opts.breaker.recordSuccess();
      this.#log.info('upstream restarted and re-initialized');
      const queued = this.#queue;
      this.#queue = [];
      for (const message of queued) await link.send(message);
    } catch (error) {
      if (this.#state !== 'restarting') return;
      this.#log.warn({ err: describeError(error) }, 'upstream restart failed');
      const link = this.#link;
      this.#link = undefined;
      await link?.close();
      this.#opts.breaker.recordFailure();
      this.#scheduleRestart();
    }
  }

  async #reinitialize(link: UpstreamLink): Promise<void> {
    const id = `${WARDEN_ID_PREFIX}initialize/${this.#nextOwnId++}`;
    const answer = this.#awaitOwn(id, REINITIALIZE_TIMEOUT_MS, 'initialize');
    await link.send({ jsonrpc: '2.0', id, method: 'initialize', params: this.#initializeParams! });
    const response = await answer;
    if (isCheckedError(response))
      throw new WardenError('UPSTREAM_UNAVAILABLE', `initialize failed: ${response.error.message}`);
    await link.send({ jsonrpc: '2.0', method: 'notifications/initialized' });
  }

  /** Requests waiting for a restart get an error once the breaker opens. */
  #failQueued(): void {
    if (!this.#queue.length) return;
    this.#queue = [];
    this.#opts.onLost(
      `server "${this.#opts.server.name}" keeps failing and its circuit breaker is open`,
      true,
    );
  }
}
