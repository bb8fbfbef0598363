import {
  isJSONRPCErrorResponse,
  isJSONRPCNotification,
  isJSONRPCRequest,
  isJSONRPCResultResponse,
  type CallToolResult,
  type InitializeRequest,
  type JSONRPCMessage,
  type JSONRPCNotification,
  type JSONRPCRequest,
  type RequestId,
} from '@modelcontextprotocol/sdk/types.js';
import type { AuditCallEnd, AuditCallStart } from '../audit/audit-log.ts';
import type { ServerConfig } from '../config/schema.ts';
import type { ApprovalBroker } from '../approvals/broker.ts';
import type { AuditLog } from '../audit/audit-log.ts';
import type { PinStore } from '../pins/pin-store.ts';
import type { ShadowTracker } from '../pins/shadowing.ts';
import type { PolicyEngine } from '../policy/engine.ts';
import type { RememberedRuleStore } from '../store/remembered-rules.ts';
import { describeError, WardenError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { CallScope, GuardChain, type GuardStep, type ToolCallContext } from '../guard/chain.ts';
import { ApprovalStep, PinsStep, PolicyStep } from '../guard/policy-steps.ts';
import { ToolListsStep, type ToolLists } from '../guard/tool-lists.ts';
import type { PinKind } from '../pins/definition-hash.ts';
import type { RememberedGrant } from '../policy/engine.ts';
import type { CircuitBreaker } from './circuit-breaker.ts';
import { Exchanges, type Exchange, type Reservation } from './exchanges.ts';
import { errorResponseFor } from './jsonrpc.ts';
import { PINNED_LIST_METHODS, PinnedLists } from './pinned-lists.ts';
import { UpstreamSupervisor, type SupervisorOptions } from './supervisor.ts';

/** Where the session's messages to the client go (the Streamable HTTP server transport). */
export interface DownstreamPort {
  /** Sends a message; `relatedRequestId` routes it onto that request's response stream. */
  send(message: JSONRPCMessage, options?: { relatedRequestId?: RequestId }): Promise<void>;
  /** Ends the response stream of a request that will get no answer (it was cancelled). */
  closeRequestStream(id: RequestId): void;
}

/** What the session writes to the audit log (AuditLog implements it). */
export interface CallRecorder {
  recordCall(start: AuditCallStart): number;
  recordOutcome(id: number, end: AuditCallEnd): void;
  recordRefusal(start: AuditCallStart, error: string, durationMs?: number): number;
}

/**
 * What a session uses of the running Warden (runtime/warden-core.ts's WardenCore has all of it):
 * the audit log, pins, the current policy engine (read on each call: a reload replaces it), the
 * remembered decisions, the approval broker, the shadowing tracker and the org policy version.
 */
export interface SessionCore {
  readonly audit: AuditLog;
  readonly pins: PinStore;
  readonly engine: PolicyEngine;
  readonly remembered: RememberedRuleStore;
  readonly broker: ApprovalBroker;
  readonly shadows: ShadowTracker;
  /** The org policy version in force, for audit rows; undefined without org policy. */
  policyVersion(): string | undefined;
}

export interface BridgeSessionOptions {
  server: ServerConfig;
  downstream: DownstreamPort;
  /** The downstream session id (known once initialize has been received). */
  sessionId: () => string;
  core: SessionCore;
  /** Whether server policy trusts this server's annotations. */
  trusted: boolean;
  toolLists: ToolLists;
  /** The daemon-wide limits step (its counters are shared by all sessions). */
  limits: GuardStep;
  breaker: CircuitBreaker;
  logger: Logger;
  /** Overrides for the supervisor (tests). */
  supervisor?: Partial<Pick<SupervisorOptions, 'createLink' | 'backoff'>>;
  /** Clock for durations, ms (performance.now by default). */
  now?: () => number;
}

/** The list each list_changed notification is about (resource templates change with resources). */
const LIST_CHANGED: Record<string, PinKind> = {
  'notifications/tools/list_changed': 'tool',
  'notifications/prompts/list_changed': 'prompt',
  'notifications/resources/list_changed': 'resourceTemplate',
};

/**
 * One downstream session bridged to one upstream session.
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
 * - answers requests in flight with a JSON-RPC error when the upstream is lost.
 * Server-to-client messages are routed onto the stream of the request they belong to
 * (progress by progressToken; other messages onto the latest request still open), else onto
 * the standalone stream.
 */
export class BridgeSession {
  readonly server: ServerConfig;
  readonly #opts: BridgeSessionOptions;
  readonly #log: Logger;
  readonly #upstream: UpstreamSupervisor;
  readonly #exchanges = new Exchanges();
  readonly #progress = new Map<string | number, Exchange>();
  readonly #now: () => number;
  readonly #audit: CallRecorder;
  readonly #guard: GuardChain;
  readonly #lists: PinnedLists;
  readonly #sessionGrants: RememberedGrant[] = [];
  #client: { name?: string; version?: string } = {};
  #initializeParams: InitializeRequest['params'] | undefined;
  #closed = false;

  constructor(options: BridgeSessionOptions) {
    this.server = options.server;
    this.#opts = options;
    this.#log = options.logger;
    this.#now = options.now ?? (() => performance.now());
    this.#audit = options.core.audit;
    const core = options.core;
    this.#upstream = new UpstreamSupervisor({
      server: options.server,
      breaker: options.breaker,
      logger: options.logger,
      onMessage: (message) => this.#fromUpstream(message),
      onLost: (reason, restarting) => this.#failPending(reason, restarting),
      ...options.supervisor,
    });
    this.#lists = new PinnedLists({
      server: options.server.name,
      pins: core.pins,
      request: (method, params) => this.#upstream.request(method, params),
      configBlock: (kind, name) => (kind === 'tool' ? options.toolLists.blockReason(name) : undefined),
      onChecked: (kind, shown) => {
        if (kind === 'tool') this.#observeShadows(shown);
      },
      logger: options.logger,
    });
    this.#guard = new GuardChain([
      new ToolListsStep(options.toolLists),
      // A tool is called only as the complete list offers it, pinned and reviewed.
      new PinsStep((tool) => this.#lists.hiddenReason('tool', tool) ?? this.#lists.notOffered('tool', tool)),
      new PolicyStep(
        () => core.engine,
        options.trusted,
        () => [...core.remembered.grants(), ...this.#sessionGrants],
      ),
      options.limits,
      new ApprovalStep({
        broker: core.broker,
        timeoutMs: core.engine.approvalTimeoutMs,
        remembered: core.remembered,
        sessionGrants: this.#sessionGrants,
        logger: options.logger,
      }),
    ]);
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

  /** Handles one message from the client. Never throws: failures are answered to the client. */
  async fromDownstream(message: JSONRPCMessage): Promise<void> {
    if (isJSONRPCRequest(message)) return this.#request(message);
    if (this.#closed) return;
    if (isJSONRPCNotification(message) && message.method === 'notifications/cancelled') {
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
      void this.#toDownstream(duplicateIdError(request.id));
      return;
    }
    if (this.#closed) {
      this.#answer(
        exchange,
        errorResponseFor(request.id, new WardenError('SESSION_CLOSED', 'the session was closed')),
      );
      return;
    }
    const params = request.params ?? {};
    switch (request.method) {
      case 'initialize':
        this.#noteInitialize(request);
        return this.#forward(exchange, request);
      case 'tools/call':
        return this.#toolCall(exchange, request);
      case 'prompts/get':
        return this.#unlessHidden(exchange, request, async () => {
          if (typeof params.name !== 'string') return undefined;
          await this.#lists.ensure('prompt');
          return this.#lists.hiddenReason('prompt', params.name);
        });
      case 'resources/read':
      case 'resources/subscribe':
        return this.#unlessHidden(exchange, request, async () => {
          if (typeof params.uri !== 'string') return undefined;
          await this.#lists.ensure('resourceTemplate');
          return this.#lists.hiddenResourceReason(params.uri);
        });
      case 'completion/complete':
        return this.#unlessHidden(exchange, request, () => this.#completionHidden(params.ref));
      default:
        return this.#forward(exchange, request);
    }
  }

  /** A completion for a hidden prompt or resource template would leak what it hides. */
  async #completionHidden(ref: unknown): Promise<string | undefined> {
    const { type, name, uri } = (ref ?? {}) as { type?: unknown; name?: unknown; uri?: unknown };
    if (type === 'ref/prompt' && typeof name === 'string') {
      await this.#lists.ensure('prompt');
      return this.#lists.hiddenReason('prompt', name);
    }
    if (type === 'ref/resource' && typeof uri === 'string') {
      await this.#lists.ensure('resourceTemplate');
      return this.#lists.hiddenResourceReason(uri);
    }
    return undefined;
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
      // #toolCall sees the abort, records the withdrawn call and ends the exchange.
      exchange.held.abort('the client cancelled the call');
      return;
    }
    const upstreamId = exchange.upstreamId;
    this.#exchanges.close(exchange);
    this.#dropProgressTokens(exchange);
    exchange.scope?.settle();
    this.#finishAudit(exchange, { outcome: 'cancelled', error: 'cancelled by the client' });
    this.#opts.downstream.closeRequestStream(exchange.id);
    if (upstreamId === undefined) return;
    try {
      await this.#upstream.send({ ...message, params: { ...message.params, requestId: upstreamId } });
    } catch (error) {
      this.#log.debug({ err: describeError(error) }, 'could not forward a cancellation');
    }
  }

  async #toolCall(exchange: Exchange, request: JSONRPCRequest): Promise<void> {
    const params = (request.params ?? {}) as {
      name?: unknown;
      arguments?: unknown;
      _meta?: { progressToken?: unknown };
    };
    const tool = typeof params.name === 'string' ? params.name : '';
    const args =
      params.arguments && typeof params.arguments === 'object' && !Array.isArray(params.arguments)
        ? (params.arguments as Record<string, unknown>)
        : undefined;
    const progressToken = params._meta?.progressToken;
    const held = new AbortController();
    exchange.held = held;
    const scope = new CallScope();
    const started = exchange.startedAt;
    try {
      await this.#lists.ensure('tool');
    } catch (error) {
      this.#log.warn({ err: describeError(error) }, 'could not list the tools to verify their pins');
    }
    const call: ToolCallContext = {
      sessionId: this.#opts.sessionId(),
      client: this.#client,
      server: this.server.name,
      tool,
      arguments: args,
      requestId: request.id,
      annotations: this.#lists.definition('tool', tool)?.annotations as Record<string, unknown> | undefined,
      signal: held.signal,
      ...(typeof progressToken === 'string' || typeof progressToken === 'number'
        ? {
            onWaiting: (elapsedMs: number, timeoutMs: number) =>
              this.#notifyWaiting(request.id, progressToken, elapsedMs, timeoutMs),
          }
        : {}),
    };
    const decision = await this.#guard.decide(call, scope);
    delete exchange.held;
    const start: AuditCallStart = {
      // When the call was received (a held call is decided later).
      startedAt: Date.now() - (this.#now() - started),
      sessionId: call.sessionId,
      ...(this.#client.name ? { clientName: this.#client.name } : {}),
      ...(this.#client.version ? { clientVersion: this.#client.version } : {}),
      server: this.server.name,
      tool,
      requestId: request.id,
      arguments: params.arguments,
      decision: decision.action,
      reason: decision.action === 'deny' ? `${decision.by}: ${decision.reason}` : decision.by,
    };
    const policyVersion = this.#opts.core.policyVersion();
    if (policyVersion) start.policyVersion = policyVersion;
    if (held.signal.aborted || this.#closed || !this.#exchanges.isOpen(exchange)) {
      scope.settle();
      const why = String(held.signal.reason ?? 'withdrawn');
      try {
        const id = this.#audit.recordCall({ ...start, decision: 'deny', reason: why });
        this.#audit.recordOutcome(id, {
          outcome: 'cancelled',
          error: why,
          durationMs: this.#elapsed(started),
        });
      } catch (error) {
        this.#log.error({ err: describeError(error) }, 'audit log failed while recording a withdrawn call');
      }
      // A cancelled request gets no answer (MCP basic/utilities/cancellation): end its stream.
      if (this.#exchanges.close(exchange) && !this.#closed)
        this.#opts.downstream.closeRequestStream(request.id);
      return;
    }
    if (decision.action === 'deny') {
      const text = `MCP Warden refused this call: ${decision.reason}.`;
      try {
        this.#audit.recordRefusal(start, text, this.#elapsed(started));
      } catch (error) {
        this.#log.error({ err: describeError(error) }, 'audit log failed while recording a refusal');
      }
      const result: CallToolResult = { content: [{ type: 'text', text }], isError: true };
      this.#answer(exchange, { jsonrpc: '2.0', id: request.id, result });
      return;
    }
    let auditId: number;
    try {
      auditId = this.#audit.recordCall(start);
    } catch (error) {
      // Fail closed: a call that cannot be recorded is not forwarded.
      scope.settle();
      this.#log.error({ err: describeError(error) }, 'audit log failed; refusing the call');
      this.#answer(
        exchange,
        errorResponseFor(
          request.id,
          new WardenError(
            'AUDIT_FAILED',
            `the call was not forwarded because the audit log could not record it (${describeError(error)})`,
            { cause: error },
          ),
        ),
      );
      return;
    }
    exchange.auditId = auditId;
    exchange.scope = scope;
    await this.#forward(exchange, request);
  }

  #elapsed(since: number): number {
    return Math.round((this.#now() - since) * 1000) / 1000;
  }

  /** Progress notifications while a call waits for a person (MCP basic/utilities/progress). */
  #notifyWaiting(id: RequestId, progressToken: string | number, elapsedMs: number, timeoutMs: number): void {
    const left = Math.max(0, Math.round((timeoutMs - elapsedMs) / 1000));
    void this.#toDownstream(
      {
        jsonrpc: '2.0',
        method: 'notifications/progress',
        params: {
          progressToken,
          progress: Math.round(elapsedMs / 1000),
          total: Math.round(timeoutMs / 1000),
          message: `Waiting for a person to approve this call in MCP Warden (${left} s left)`,
        },
      },
      id,
    );
  }

  /** Reports tool names this server shares with another server offering them to the same client. */
  #observeShadows(shown: string[]): void {
    for (const shadow of this.#opts.core.shadows.observe(
      this.#client.name ?? 'unknown client',
      this.server.name,
      shown,
    )) {
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
    const token = (request.params?._meta as { progressToken?: unknown } | undefined)?.progressToken;
    if (typeof token === 'string' || typeof token === 'number') this.#progress.set(token, exchange);
    try {
      await this.#upstream.send({ ...request, id: upstreamId });
    } catch (error) {
      if (this.#exchanges.isOpen(exchange) && exchange.upstreamId === upstreamId) {
        exchange.scope?.settle();
        this.#finishAudit(exchange, { outcome: 'error', error: describeError(error) });
        this.#answer(exchange, errorResponseFor(exchange.id, error));
      }
    }
  }

  #fromUpstream(message: JSONRPCMessage): void {
    if (isJSONRPCResultResponse(message) || isJSONRPCErrorResponse(message)) {
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
      const answer = { ...message, id: exchange.id } as JSONRPCMessage;
      if (isJSONRPCResultResponse(message)) {
        if (exchange.method === 'initialize' && this.#initializeParams) {
          const version = (message.result as { protocolVersion?: string }).protocolVersion;
          this.#upstream.noteInitialized(this.#initializeParams, version);
        }
        if (exchange.auditId !== undefined) {
          const result = message.result as CallToolResult;
          this.#finishAudit(
            exchange,
            result.isError ? { outcome: 'tool_error', error: firstText(result) } : { outcome: 'ok' },
          );
        }
        const pinned = PINNED_LIST_METHODS[exchange.method];
        if (pinned || exchange.method === 'resources/list') {
          void this.#answerList(exchange, message.result, pinned?.kind);
          return;
        }
      } else if (exchange.auditId !== undefined) {
        this.#finishAudit(exchange, { outcome: 'error', error: message.error.message });
      }
      this.#answer(exchange, answer);
      return;
    }
    void this.#toDownstream(message, this.#relatedRequest(message));
    const changed = isJSONRPCNotification(message) ? LIST_CHANGED[message.method] : undefined;
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
    this.#answer(exchange, { jsonrpc: '2.0', id: exchange.id, result: shown });
  }

  #relatedRequest(message: JSONRPCMessage): RequestId | undefined {
    if (isJSONRPCNotification(message)) {
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

  /** Delivers the one answer of a request; later answers of the same request are dropped. */
  #answer(exchange: Exchange, message: JSONRPCMessage): void {
    if (!this.#exchanges.close(exchange)) return;
    this.#dropProgressTokens(exchange);
    void this.#toDownstream(message);
  }

  #finishAudit(exchange: Exchange, end: Omit<AuditCallEnd, 'durationMs'>): void {
    if (exchange.auditId === undefined) return;
    const durationMs = this.#elapsed(exchange.forwardedAt ?? exchange.startedAt);
    try {
      this.#audit.recordOutcome(exchange.auditId, { ...end, durationMs });
    } catch (error) {
      this.#log.error(
        { err: describeError(error), auditId: exchange.auditId },
        'audit log failed to record an outcome',
      );
    }
    delete exchange.auditId;
  }

  #failPending(reason: string, restarting = false): void {
    for (const exchange of this.#exchanges.awaitingUpstream()) {
      exchange.scope?.settle();
      this.#finishAudit(exchange, { outcome: 'error', error: reason });
      const error = new WardenError(
        'UPSTREAM_CRASHED',
        `server "${this.server.name}" did not answer ${exchange.method}: ${reason}` +
          (restarting ? '. Warden is restarting it; try again.' : ''),
      );
      this.#answer(exchange, errorResponseFor(exchange.id, error));
    }
  }

  #dropProgressTokens(exchange: Exchange): void {
    for (const [token, owner] of this.#progress) if (owner === exchange) this.#progress.delete(token);
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

function firstText(result: CallToolResult): string | undefined {
  const item = result.content?.find((c) => c.type === 'text');
  return item && 'text' in item ? String(item.text).slice(0, 1000) : undefined;
}
