import type {
  CallToolResult,
  InitializeRequest,
  JSONRPCMessage,
  JSONRPCNotification,
  JSONRPCRequest,
  RequestId,
} from '@modelcontextprotocol/server';
import { METHOD_NOT_FOUND } from '@modelcontextprotocol/server';
import type { ServerConfig } from '../config/schema.ts';
import { describeError, WardenError } from '../errors.ts';
import {
  MODERN_ERROR,
  MODERN_PROTOCOL_VERSION,
  modernClientInfo,
  opensModernEra,
  requestMeta,
  wardenEnvelope,
  withResultType,
} from '../era/modern.ts';
import { WARDEN_VERSION } from '../version.ts';
import type { Logger } from '../log.ts';
import { GuardChain } from '../guard/chain.ts';
import { PinsStep } from '../guard/policy-steps.ts';
import { ToolListsStep } from '../guard/tool-lists.ts';
import type { PinKind } from '../pins/definition-hash.ts';
import type { CircuitBreaker } from './circuit-breaker.ts';
import { Exchanges, type Exchange, type Reservation } from './exchanges.ts';
import { errorResponseFor, errorResponseWith } from './jsonrpc.ts';
import {
  isCheckedError,
  isCheckedNotification,
  isCheckedRequest,
  isCheckedResponse,
  isCheckedResult,
} from './jsonrpc-check.ts';
import { PINNED_LIST_METHODS, PinnedLists } from './pinned-lists.ts';
import { ResultMasking, type Screened } from './result-masking.ts';
import { SessionAudit, toolOutcome } from './session-audit.ts';
import { hiddenCheck, LIST_CHANGED } from './session-lists.ts';
import type { DownstreamPort, SessionPorts } from './session-ports.ts';
import { handleToolCall, type ToolCallHost } from './session-tool-call.ts';
import {
  discoverAnswer,
  initializeRefusal,
  inputCapabilityGap,
  listenNotification,
  missingCapabilityAnswer,
  unservedVersionAnswer,
  unsupportedVersion,
} from './session-modern.ts';
import { duplicateIdError, StreamRoutes } from './session-routing.ts';
import { UpstreamSupervisor } from './supervisor.ts';

export type { CallRecorder, DownstreamPort } from './session-ports.ts';
export { duplicateIdError } from './session-routing.ts';

/** A BridgeSession's surroundings: its server, its client side, and its ports (session-ports.ts). */
export interface BridgeSessionOptions extends SessionPorts {
  server: ServerConfig;
  downstream: DownstreamPort;
  /** The downstream session id (known once initialize has been received). */
  sessionId: () => string;
  /** The server's circuit breaker, shared by all its sessions. */
  breaker: CircuitBreaker;
  logger: Logger;
  /** Clock for durations, ms (performance.now by default). */
  now?: () => number;
  /**
   * True for the one bridge the 2026-07-28 Streamable HTTP endpoint shares among its stateless
   * requests: there is no session, so a "this session" approval counts once.
   */
  sessionless?: boolean;
}

/**
 * One downstream session bridged to one upstream session, working only through its ports
 * (session-ports.ts): the tool catalog, the guard, the call audit and the upstream link.
 *
 * Every message is forwarded as it is, in both directions, except that Warden:
 * - forwards each client request under an id of its own and maps the answer back (Exchanges),
 *   so every request is answered exactly once whatever its id; `notifications/cancelled` is
 *   mapped the same way;
 * - runs each `tools/call` through the guard chain and records it in the audit log (durably
 *   before it is forwarded, and its outcome before the result is delivered);
 * - judges list pages against the complete lists and removes what is hidden (PinnedLists), and
 *   refuses `prompts/get`, `resources/read`, `resources/subscribe` and `completion/complete` of
 *   what is hidden;
 * - answers requests in flight with a JSON-RPC error when the upstream is lost;
 * - screens what the server sends toward the client for secrets first (ResultMasking, with the
 *   `results` port): masked, blocked or let through as the policy in force says.
 * Server-to-client messages are routed onto the stream of the request they belong to
 * (progress by progressToken; other messages onto the latest request still open), else onto
 * the standalone stream.
 *
 * Protocol eras (docs/protocol-eras.md): a session whose first request is `initialize` is a
 * 2025-11-25 session, as above. One whose first request opens the 2026-07-28 era
 * (`server/discover`, or `_meta` claiming 2026-07-28: era/modern.ts) waits for the server's era
 * (EraPort): a 2026-07-28 server gets every request forwarded as it is, `_meta` included, through
 * the same guard, lists and audit; `server/discover` is answered from the server's with only the
 * versions Warden serves; `input_required` results are forwarded (audited as input required)
 * unless they ask for a capability the request did not declare (-32021); notifications of a
 * `subscriptions/listen` get the client's request id back as their subscription id. Against a
 * 2025-11-25 server the request is refused as before initialize, which is what a legacy server
 * answers (a dual-era client falls back to initialize; a pinned one fails as it does directly).
 */
export class BridgeSession {
  readonly server: ServerConfig;
  readonly #opts: BridgeSessionOptions;
  readonly #log: Logger;
  readonly #upstream: UpstreamSupervisor;
  readonly #exchanges = new Exchanges();
  readonly #routes = new StreamRoutes(this.#exchanges);
  readonly #now: () => number;
  readonly #audit: SessionAudit;
  readonly #guard: GuardChain;
  readonly #lists: PinnedLists;
  readonly #toolCalls: ToolCallHost;
  #client: { name?: string; version?: string } = {};
  #initializeParams: InitializeRequest['params'] | undefined;
  /** `undecided` until initialize (legacy) or the server's era after a modern first request. */
  #era: 'undecided' | 'legacy' | 'modern' = 'undecided';
  /** Set by the first request that opens the modern era: resolves once #era is known. */
  #eraDecision: Promise<void> | undefined;
  /** The protocol version the upstream answered initialize with (what the session speaks). */
  #protocolVersion: string | undefined;
  #closed = false;
  /**
   * Set while a message to the client waits for its audit row to be committed: later messages
   * queue behind it, so the client sees them in the order Warden sent them.
   */
  #outbox: Promise<void> | undefined;
  /** Results masking (absent without its port). */
  readonly #masking: ResultMasking | undefined;
  /** Set while a message from the upstream is screened: later ones queue behind it, in order. */
  #inbound: Promise<void> | undefined;

  constructor(options: BridgeSessionOptions) {
    this.server = options.server;
    this.#opts = options;
    this.#log = options.logger;
    this.#now = options.now ?? (() => performance.now());
    this.#audit = new SessionAudit(options.audit, options.logger, this.#now);
    const { catalog, guard, upstream } = options;
    this.#upstream = new UpstreamSupervisor({
      server: options.server,
      breaker: options.breaker,
      logger: options.logger,
      onMessage: (message) => this.#fromUpstream(message),
      onLost: (reason, restarting) => this.#failPending(reason, restarting),
      createLink: (server, logger) =>
        upstream.createLink(server, logger, this.#era === 'modern' ? 'modern' : 'legacy'),
      ...(upstream.backoff ? { backoff: upstream.backoff } : {}),
      ...(upstream.warm ? { warm: upstream.warm } : {}),
    });
    this.#lists = new PinnedLists({
      server: options.server.name,
      pins: catalog.pins,
      request: (method, params) => this.#upstream.request(method, this.#ownParams(params)),
      configBlock: (kind, name) => (kind === 'tool' ? catalog.toolLists.blockReason(name) : undefined),
      onChecked: (kind, shown) => {
        if (kind === 'tool') this.#observeShadows(shown);
      },
      logger: options.logger,
    });
    this.#guard = new GuardChain([
      new ToolListsStep(catalog.toolLists),
      // A tool is called only as the complete list offers it, pinned and reviewed.
      new PinsStep((tool) => this.#lists.hiddenReason('tool', tool) ?? this.#lists.notOffered('tool', tool)),
      // Policy, limits and approvals, as in force when the call arrives.
      { name: 'guard', decide: (call, scope) => guard.decide(call, scope) },
    ]);
    this.#masking = options.results
      ? new ResultMasking(options.results, options.logger, (message) => {
          this.#upstream.send(message).catch((error: unknown) => {
            this.#log.debug({ err: describeError(error) }, 'could not answer a blocked server request');
          });
        })
      : undefined;
    this.#toolCalls = {
      server: options.server.name,
      exchanges: this.#exchanges,
      lists: this.#lists,
      guard: this.#guard,
      audit: this.#audit,
      log: options.logger,
      sessionId: options.sessionId,
      client: (request) => (this.#era === 'modern' ? modernClientInfo(request.params) : this.#client),
      sessionless: () => options.sessionless === true,
      protocolVersion: () => (this.#era === 'modern' ? MODERN_PROTOCOL_VERSION : this.#protocolVersion),
      closed: () => this.#closed,
      answer: (exchange, message, recorded) => this.#answer(exchange, message, recorded),
      forward: (exchange, request) => this.#forward(exchange, request),
      notify: (message, id) => this.#deliver(message, id),
      closeRequestStream: (id) => options.downstream.closeRequestStream(id),
    };
  }

  get clientInfo(): { name?: string; version?: string } {
    return this.#client;
  }

  /**
   * Reserves the ids of the requests in one POST before the transport delivers them: a request
   * whose id is in progress in this session (or given twice) must be refused before the
   * transport sees it, since the transport routes answers by id. See Exchanges.reserve.
   */
  reserve(ids: readonly RequestId[]): Reservation {
    return this.#exchanges.reserve(ids);
  }

  /**
   * Handles one message from the client, already checked by its transport (jsonRpcKindOf,
   * bridge/jsonrpc-check.ts): told apart by membership, not validated again. Never throws:
   * failures are answered to the client.
   */
  async fromDownstream(message: JSONRPCMessage): Promise<void> {
    if (isCheckedRequest(message)) return this.#request(message);
    if (this.#closed) return;
    if (isCheckedNotification(message) && message.method === 'notifications/cancelled') {
      return this.#cancelled(message);
    }
    try {
      await this.#upstream.send(message);
    } catch (error) {
      this.#log.warn(
        { err: describeError(error), method: 'method' in message ? message.method : 'response' },
        'could not forward to upstream',
      );
    }
  }

  /**
   * The definition of tool `name` as the server's complete, pin-checked list offers it (the
   * list is read first when it is not known); undefined when it offers none by that name.
   * @throws WardenError LIST_INCOMPLETE when the list cannot be read.
   */
  async toolDefinition(name: string): Promise<Record<string, unknown> | undefined> {
    await this.#lists.ensure('tool');
    return this.#lists.definition('tool', name);
  }

  /** Restarts this session's upstream (see UpstreamSupervisor.restart). */
  restartUpstream(): Promise<void> {
    return this.#upstream.restart('a person restarted the server');
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const exchange of this.#exchanges.all()) exchange.held?.abort('the client session ended');
    this.#failPending('the session was closed');
    await this.#upstream.close();
  }

  async #request(request: JSONRPCRequest): Promise<void> {
    const exchange = this.#exchanges.open(request, this.#now());
    if (!exchange) {
      // The gateway refuses these before the transport sees them (reserve); never forward one.
      this.#log.warn({ id: request.id }, 'a request reused the id of a request in progress');
      this.#deliver(duplicateIdError(request.id));
      return;
    }
    if (this.#closed) {
      this.#answer(
        exchange,
        errorResponseFor(request.id, new WardenError('SESSION_CLOSED', 'the session was closed')),
      );
      return;
    }
    if (this.#era === 'undecided' && opensModernEra(request.method, request.params)) {
      this.#eraDecision ??= this.#decideEra();
    }
    if (this.#era === 'undecided' && this.#eraDecision) {
      await this.#eraDecision;
      if (!this.#exchanges.isOpen(exchange)) return;
    }
    if (this.#era === 'modern') return this.#modernRequest(exchange, request);
    if (
      this.#initializeParams === undefined &&
      request.method !== 'initialize' &&
      request.method !== 'ping'
    ) {
      // MCP 2025-11-25 (basic/lifecycle): the client initializes first. A 2026-07-28 client of
      // a server that speaks 2025-11-25 only gets what that server would answer, and may fall
      // back to initialize (spec basic/versioning); nothing is forwarded before the era is known.
      this.#answer(
        exchange,
        errorResponseFor(
          request.id,
          new WardenError(
            'INVALID_REQUEST',
            `Bad Request: send initialize first (server "${this.server.name}" speaks MCP 2025-11-25 through MCP Warden; "${request.method}" before initialize is refused)`,
          ),
        ),
      );
      return;
    }
    switch (request.method) {
      case 'initialize':
        this.#era = 'legacy';
        this.#noteInitialize(request);
        return this.#forward(exchange, request);
      case 'tools/call':
        return handleToolCall(this.#toolCalls, exchange, request);
      default: {
        const hidden = hiddenCheck(this.#lists, request);
        return hidden ? this.#unlessHidden(exchange, request, hidden) : this.#forward(exchange, request);
      }
    }
  }

  /**
   * The server refused the client's initialize as an unsupported protocol version (-32022, in
   * an error answer or in the HTTP error its transport threw): when the server speaks 2026-07-28
   * (EraPort), the client is told in so many words that Warden does not translate a 2025-11-25
   * client to it (docs/protocol-eras.md); otherwise it gets the server's own answer.
   */
  async #initializeRefused(exchange: Exchange, detail: string, answer?: JSONRPCMessage): Promise<void> {
    const era = this.#opts.upstream.era ? await this.#opts.upstream.era.verdict() : 'legacy';
    if (!this.#exchanges.isOpen(exchange)) return;
    if (era !== 'modern') {
      this.#answer(
        exchange,
        answer && isCheckedError(answer)
          ? { jsonrpc: '2.0', id: exchange.id, error: answer.error }
          : errorResponseFor(exchange.id, new WardenError('UPSTREAM_UNAVAILABLE', detail)),
      );
      return;
    }
    this.#log.warn({ detail }, 'a 2025-11-25 client of a server that speaks 2026-07-28: refused');
    this.#answer(exchange, errorResponseFor(exchange.id, initializeRefusal(this.server.name, detail)));
  }

  /** Waits for the server's era (the first request that opens the modern era asked for it). */
  async #decideEra(): Promise<void> {
    const era = this.#opts.upstream.era;
    const verdict = era ? await era.verdict() : 'legacy';
    if (this.#era !== 'undecided') return;
    if (verdict === 'modern') {
      this.#era = 'modern';
      this.#log.info('the client and the server speak MCP 2026-07-28: forwarding statelessly');
    } else {
      this.#log.info('a 2026-07-28 client of a 2025-11-25 server: refused until it initializes');
    }
  }

  /** One request of a 2026-07-28 session (the guard and lists as in the legacy era). */
  #modernRequest(exchange: Exchange, request: JSONRPCRequest): Promise<void> | void {
    const unserved = unservedVersionAnswer(request.id, request.params);
    if (unserved) {
      this.#answer(exchange, unserved);
      return;
    }
    switch (request.method) {
      case 'initialize':
        // 2026-07-28 has no initialize: a method it does not define (basic/lifecycle).
        this.#answer(
          exchange,
          errorResponseWith(request.id, {
            code: METHOD_NOT_FOUND,
            message:
              'Method not found: initialize (this connection speaks MCP 2026-07-28: it began without initialize; open a new one to initialize)',
            data: { source: 'mcp-warden', reason: 'METHOD_NOT_FOUND' },
          }),
        );
        return;
      case 'tools/call':
        return handleToolCall(this.#toolCalls, exchange, request);
      default: {
        const hidden = hiddenCheck(this.#lists, request);
        return hidden ? this.#unlessHidden(exchange, request, hidden) : this.#forward(exchange, request);
      }
    }
  }

  /** The params of one of Warden's own requests upstream: with Warden's `_meta` in the modern era. */
  #ownParams(params: Record<string, unknown> | undefined): Record<string, unknown> | undefined {
    if (this.#era !== 'modern') return params;
    return { ...params, _meta: { ...requestMeta(params), ...wardenEnvelope(WARDEN_VERSION) } };
  }

  /** Forwards a request unless `hidden` names a reason; a request that cannot be checked is refused. */
  async #unlessHidden(
    exchange: Exchange,
    request: JSONRPCRequest,
    hidden: () => Promise<string | undefined>,
  ): Promise<void> {
    let reason: string | undefined;
    try {
      reason = await hidden();
    } catch (error) {
      this.#answer(exchange, errorResponseFor(exchange.id, error));
      return;
    }
    if (!this.#exchanges.isOpen(exchange)) return;
    if (reason === undefined) return this.#forward(exchange, request);
    this.#log.warn({ method: request.method, reason }, 'refused a request for something hidden');
    this.#answer(
      exchange,
      errorResponseFor(
        exchange.id,
        new WardenError('REFUSED', `MCP Warden refused this request: ${reason}.`),
      ),
    );
  }

  #noteInitialize(request: JSONRPCRequest): void {
    const params = request.params as InitializeRequest['params'] | undefined;
    this.#initializeParams = params;
    const info = params?.clientInfo;
    this.#client = {
      ...(info?.name ? { name: info.name } : {}),
      ...(info?.version ? { version: info.version } : {}),
    };
  }

  /**
   * The client cancelled a request (MCP basic/utilities/cancellation): a held call is withdrawn;
   * a forwarded one is cancelled upstream under the id it was forwarded with; it gets no
   * answer. A cancellation of no request in progress is dropped (it could name one of Warden's).
   */
  async #cancelled(message: JSONRPCNotification): Promise<void> {
    const requestId = message.params?.requestId;
    const exchange =
      typeof requestId === 'string' || typeof requestId === 'number'
        ? this.#exchanges.get(requestId)
        : undefined;
    if (!exchange) {
      this.#log.debug({ requestId }, 'dropping a cancellation of no request in progress');
      return;
    }
    if (exchange.held) {
      // handleToolCall sees the abort, records the withdrawn call and ends the exchange.
      exchange.held.abort('the client cancelled the call');
      return;
    }
    const upstreamId = exchange.upstreamId;
    this.#exchanges.close(exchange);
    this.#routes.ended(exchange);
    exchange.scope?.settle();
    void this.#audit.finish(exchange, { outcome: 'cancelled', error: 'cancelled by the client' });
    this.#opts.downstream.closeRequestStream(exchange.id);
    if (upstreamId === undefined) return;
    try {
      await this.#upstream.send({ ...message, params: { ...message.params, requestId: upstreamId } });
    } catch (error) {
      this.#log.debug({ err: describeError(error) }, 'could not forward a cancellation');
    }
  }

  /** Reports tool names this server shares with another server offering them to the same client. */
  #observeShadows(shown: string[]): void {
    for (const shadow of this.#opts.catalog.observeTools(this.#client.name ?? 'unknown client', shown)) {
      this.#log.warn(
        { tool: shadow.tool, servers: shadow.servers },
        `tool name "${shadow.tool}" is offered by several servers to the same client`,
      );
    }
  }

  /** Forwards a client request upstream under a Warden-assigned id. */
  async #forward(exchange: Exchange, request: JSONRPCRequest): Promise<void> {
    if (!this.#exchanges.isOpen(exchange)) {
      exchange.scope?.settle();
      return;
    }
    const upstreamId = this.#exchanges.forwarding(exchange);
    exchange.forwardedAt = this.#now();
    this.#routes.forwarded(exchange, request);
    try {
      await this.#upstream.send({ ...request, id: upstreamId });
    } catch (error) {
      if (this.#exchanges.isOpen(exchange) && exchange.upstreamId === upstreamId) {
        exchange.scope?.settle();
        if (exchange.method === 'initialize' && unsupportedVersion(describeError(error)))
          return this.#initializeRefused(exchange, describeError(error));
        const recorded = this.#audit.finish(exchange, { outcome: 'error', error: describeError(error) });
        this.#answer(exchange, errorResponseFor(exchange.id, error), recorded);
      }
    }
  }

  /**
   * One message from the upstream, already checked by its link (as fromDownstream's): screened
   * for secrets first (ResultMasking), in the order messages arrived.
   */
  #fromUpstream(message: JSONRPCMessage): void {
    const screening = this.#masking?.screen(
      message,
      'id' in message && !('method' in message) ? this.#exchanges.methodOf(message.id) : undefined,
    );
    if (screening === undefined && this.#inbound === undefined) return this.#routeUpstream(message);
    const next = Promise.all([this.#inbound, screening])
      .then(([, screened]) => {
        if (this.#inbound === next) this.#inbound = undefined;
        // Blocked and not for the client (ResultMasking answered the server itself).
        if (screened && screened.message === undefined) return;
        this.#routeUpstream(screened?.message ?? message, screened?.secrets);
      })
      .catch((error: unknown) => {
        this.#log.error({ err: describeError(error) }, 'could not route a message from the upstream');
      });
    this.#inbound = next;
  }

  /** Routes a (screened) message from the upstream to the request it answers, or the client. */
  #routeUpstream(message: JSONRPCMessage, secrets?: Screened['secrets']): void {
    if (isCheckedResponse(message)) {
      if (message.id === undefined || message.id === null) {
        this.#log.warn(
          { error: 'error' in message ? message.error : undefined },
          'upstream sent an error without an id',
        );
        return;
      }
      const exchange = this.#exchanges.takeAnswered(message.id);
      if (!exchange || !this.#exchanges.isOpen(exchange)) {
        this.#log.debug({ id: message.id }, 'dropping an upstream response to no open request (cancelled?)');
        return;
      }
      exchange.scope?.settle();
      // Members in the order every answer has (the connect shim reads the id from the prefix).
      const answer: JSONRPCMessage = isCheckedResult(message)
        ? { jsonrpc: '2.0', id: exchange.id, result: message.result }
        : { jsonrpc: '2.0', id: exchange.id, error: message.error };
      let recorded: Promise<void> | undefined;
      if (this.#era === 'modern') {
        const modern = this.#modernAnswer(exchange, message);
        if (modern) {
          this.#answer(exchange, modern.message, modern.recorded);
          return;
        }
      }
      if (isCheckedResult(message)) {
        if (exchange.method === 'initialize' && this.#initializeParams) {
          const version = (message.result as { protocolVersion?: string }).protocolVersion;
          this.#protocolVersion = typeof version === 'string' ? version : undefined;
          this.#upstream.noteInitialized(this.#initializeParams, version);
        }
        if (exchange.auditId !== undefined)
          recorded = this.#audit.finish(exchange, {
            ...toolOutcome(message.result as CallToolResult),
            ...(secrets ? { resultSecrets: secrets } : {}),
          });
        const pinned = PINNED_LIST_METHODS[exchange.method];
        if (pinned || exchange.method === 'resources/list') {
          void this.#answerList(exchange, message.result, pinned?.kind);
          return;
        }
      } else if (
        exchange.method === 'initialize' &&
        message.error.code === MODERN_ERROR.UnsupportedProtocolVersion
      ) {
        void this.#initializeRefused(exchange, message.error.message, message);
        return;
      } else if (exchange.auditId !== undefined) {
        recorded = this.#audit.finish(exchange, {
          outcome: 'error',
          error: message.error.message,
          ...(secrets ? { resultSecrets: secrets } : {}),
        });
      }
      this.#answer(exchange, answer, recorded);
      return;
    }
    const listened = this.#era === 'modern' ? listenNotification(message, this.#exchanges) : undefined;
    if (listened) this.#deliver(listened.message, listened.id);
    else this.#deliver(message, this.#routes.relatedRequest(message));
    const changed = isCheckedNotification(message) ? LIST_CHANGED[message.method] : undefined;
    if (changed && this.#lists.invalidate(changed)) {
      // Re-verify at once: a changed definition must be hidden before anyone uses it.
      this.#lists
        .ensure(changed)
        .catch((error: unknown) =>
          this.#log.warn(
            { err: describeError(error), kind: changed },
            'could not re-list after list_changed',
          ),
        );
    }
  }

  /**
   * The answer to a 2026-07-28 request where it differs from the legacy era's (session-modern.ts):
   * `server/discover` (an error there means the cached era failed: forgotten), `input_required`
   * tool results (audited as such; -32021 when they ask for a capability the request did not
   * declare). Lists go through #answerList (private cache scope there).
   * @returns undefined to answer as in the legacy era.
   */
  #modernAnswer(
    exchange: Exchange,
    message: JSONRPCMessage,
  ): { message: JSONRPCMessage; recorded?: Promise<void> } | undefined {
    if (exchange.method === 'server/discover') {
      if (isCheckedError(message))
        this.#opts.upstream.era?.forget(
          `it answered server/discover with an error (${message.error.message})`,
        );
      return isCheckedResult(message) ? { message: discoverAnswer(exchange.id, message.result) } : undefined;
    }
    if (!isCheckedResult(message)) return undefined;
    const missing = inputCapabilityGap(exchange, message.result);
    if (missing === undefined) return undefined;
    let answer: JSONRPCMessage = { jsonrpc: '2.0', id: exchange.id, result: message.result };
    let recorded: Promise<void> | undefined;
    if (missing.length > 0) {
      const refusal = missingCapabilityAnswer(exchange.id, missing);
      this.#log.warn({ method: exchange.method, missing }, 'refused an input_required result');
      recorded = this.#audit.finish(exchange, { outcome: 'error', error: refusal.error });
      answer = refusal.message;
    } else {
      recorded = this.#audit.finish(exchange, { outcome: 'input_required' });
    }
    return { message: answer, ...(recorded ? { recorded } : {}) };
  }

  /** Answers a list page once it is judged against the complete list (PinnedLists). */
  async #answerList(
    exchange: Exchange,
    result: Record<string, unknown>,
    kind: PinKind | undefined,
  ): Promise<void> {
    let shown: Record<string, unknown>;
    try {
      shown =
        kind === undefined
          ? await this.#lists.resourcesPage(result)
          : await this.#lists.page(kind, exchange.params?.cursor, result);
    } catch (error) {
      this.#log.warn({ err: describeError(error), method: exchange.method }, 'refused a list page');
      this.#answer(exchange, errorResponseFor(exchange.id, error));
      return;
    }
    // 2026-07-28 (server/utilities/caching): what Warden shows is filtered for this user.
    if (this.#era === 'modern' && 'cacheScope' in shown) shown = { ...shown, cacheScope: 'private' };
    this.#answer(exchange, { jsonrpc: '2.0', id: exchange.id, result: shown });
  }

  /**
   * Delivers the one answer of a request; later answers of the same request are dropped. With
   * `recorded` (the commit of its audit row), the answer goes out once that has settled.
   */
  #answer(exchange: Exchange, message: JSONRPCMessage, recorded?: Promise<void>): void {
    if (!this.#exchanges.close(exchange)) return;
    this.#routes.ended(exchange);
    // 2026-07-28 results carry resultType; Warden's own (refusals, lists it built) get "complete".
    const shown =
      this.#era === 'modern' && isCheckedResult(message)
        ? { ...message, result: withResultType(message.result) }
        : message;
    this.#deliver(shown, undefined, recorded);
  }

  /**
   * Sends a message to the client now, or, while an earlier one waits for its audit commit (or
   * this one has to: `after`), behind it, so messages keep their order.
   */
  #deliver(message: JSONRPCMessage, relatedRequestId?: RequestId, after?: Promise<void>): void {
    if (after === undefined && this.#outbox === undefined) {
      void this.#toDownstream(message, relatedRequestId);
      return;
    }
    const next = Promise.all([this.#outbox, after]).then(() => {
      void this.#toDownstream(message, relatedRequestId);
      if (this.#outbox === next) this.#outbox = undefined;
    });
    this.#outbox = next;
  }

  #failPending(reason: string, restarting = false): void {
    for (const exchange of this.#exchanges.awaitingUpstream()) {
      exchange.scope?.settle();
      const recorded = this.#audit.finish(exchange, { outcome: 'error', error: reason });
      const error = new WardenError(
        'UPSTREAM_CRASHED',
        `server "${this.server.name}" did not answer ${exchange.method}: ${reason}` +
          (restarting ? '. Warden is restarting it; try again.' : ''),
      );
      this.#answer(exchange, errorResponseFor(exchange.id, error), recorded);
    }
  }

  async #toDownstream(message: JSONRPCMessage, relatedRequestId?: RequestId): Promise<void> {
    try {
      await this.#opts.downstream.send(
        message,
        relatedRequestId === undefined ? undefined : { relatedRequestId },
      );
    } catch (error) {
      this.#log.debug({ err: describeError(error) }, 'could not deliver a message to the client');
    }
  }
}
