import {
  isJSONRPCErrorResponse,
  isJSONRPCNotification,
  isJSONRPCRequest,
  isJSONRPCResultResponse,
  type CallToolResult,
  type InitializeRequest,
  type JSONRPCMessage,
  type JSONRPCRequest,
  type RequestId,
  type Tool,
} from '@modelcontextprotocol/sdk/types.js';
import type { AuditCallEnd, AuditCallStart } from '../audit/audit-log.ts';
import type { ServerConfig } from '../config/schema.ts';
import type { WardenCore } from '../daemon/warden-core.ts';
import { describeError, WardenError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { CallScope, GuardChain, type GuardStep, type ToolCallContext } from '../guard/chain.ts';
import { ApprovalStep, PinsStep, PolicyStep } from '../guard/policy-steps.ts';
import { ToolListsStep, type ToolLists } from '../guard/tool-lists.ts';
import type { PinKind } from '../pins/definition-hash.ts';
import type { RememberedGrant } from '../policy/engine.ts';
import type { CircuitBreaker } from './circuit-breaker.ts';
import { errorResponse, errorResponseFor, idKey, JsonRpcCode } from './jsonrpc.ts';
import { UpstreamSupervisor, type SupervisorOptions } from './supervisor.ts';
import { commandHint } from '../command-hint.ts';

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

export interface BridgeSessionOptions {
  server: ServerConfig;
  downstream: DownstreamPort;
  /** The downstream session id (known once initialize has been received). */
  sessionId: () => string;
  core: WardenCore;
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

interface Pending {
  id: RequestId;
  method: string;
  startedAt: number;
  auditId?: number;
  /** Held by the guard for this call (released when the call ends). */
  scope?: CallScope;
  /** The request's params, for list results that depend on them (pagination). */
  params?: Record<string, unknown> | undefined;
}

/** Results of list methods whose entries are pinned, and the kind of pin. */
const PINNED_LISTS: Record<string, { kind: PinKind; key: string }> = {
  'tools/list': { kind: 'tool', key: 'tools' },
  'prompts/list': { kind: 'prompt', key: 'prompts' },
  'resources/templates/list': { kind: 'resourceTemplate', key: 'resourceTemplates' },
};

/**
 * One downstream session bridged to one upstream session.
 *
 * Every message is forwarded as it is, in both directions, except that Warden:
 * - runs each `tools/call` through the guard chain and records it in the audit log (durably
 *   before it is forwarded, and its outcome before the result is delivered);
 * - removes hidden tools from `tools/list` results;
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
  readonly #pending = new Map<string, Pending>();
  readonly #progress = new Map<string | number, RequestId>();
  readonly #now: () => number;
  readonly #audit: CallRecorder;
  readonly #guard: GuardChain;
  readonly #sessionGrants: RememberedGrant[] = [];
  /** Calls held by the guard (waiting for approval), by request id key. */
  readonly #held = new Map<string, AbortController>();
  /** Verified tools (pins approved), by name; undefined until the first tools/list. */
  #tools: Map<string, Tool> | undefined;
  /** Tools hidden because their definition awaits review, with the reason. */
  #pinHidden = new Map<string, string>();
  #listing: Promise<void> | undefined;
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
    this.#guard = new GuardChain([
      new ToolListsStep(options.toolLists),
      new PinsStep((tool) => this.#pinBlockReason(tool)),
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
    this.#upstream = new UpstreamSupervisor({
      server: options.server,
      breaker: options.breaker,
      logger: options.logger,
      onMessage: (message) => this.#fromUpstream(message),
      onLost: (reason, restarting) => this.#failPending(reason, restarting),
      ...options.supervisor,
    });
  }

  get clientInfo(): { name?: string; version?: string } {
    return this.#client;
  }

  /** Handles one message from the client. Never throws: failures are answered to the client. */
  async fromDownstream(message: JSONRPCMessage): Promise<void> {
    if (this.#closed) return;
    if (isJSONRPCRequest(message)) {
      if (message.method === 'initialize') this.#noteInitialize(message);
      if (message.method === 'tools/call') return this.#toolCall(message);
      return this.#forwardRequest(message);
    }
    if (isJSONRPCNotification(message) && message.method === 'notifications/cancelled') {
      this.#noteCancelled(message.params?.requestId as RequestId | undefined);
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
    for (const held of this.#held.values()) held.abort('the client session ended');
    this.#failPending('the session was closed');
    await this.#upstream.close();
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

  #noteCancelled(requestId: RequestId | undefined): void {
    if (requestId === undefined) return;
    this.#held.get(idKey(requestId))?.abort('the client cancelled the call');
    const pending = this.#pending.get(idKey(requestId));
    if (!pending) return;
    this.#pending.delete(idKey(requestId));
    pending.scope?.settle();
    this.#finishAudit(pending, { outcome: 'cancelled', error: 'cancelled by the client' });
    this.#opts.downstream.closeRequestStream(requestId);
  }

  async #toolCall(request: JSONRPCRequest): Promise<void> {
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
    const key = idKey(request.id);
    const held = new AbortController();
    this.#held.set(key, held);
    const scope = new CallScope();
    const started = this.#now();
    try {
      await this.#ensureTools();
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
      annotations: this.#tools?.get(tool)?.annotations,
      signal: held.signal,
      ...(typeof progressToken === 'string' || typeof progressToken === 'number'
        ? {
            onWaiting: (elapsedMs: number, timeoutMs: number) =>
              this.#notifyWaiting(request.id, progressToken, elapsedMs, timeoutMs),
          }
        : {}),
    };
    const decision = await this.#guard.decide(call, scope);
    this.#held.delete(key);
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
    if (held.signal.aborted || this.#closed) {
      scope.settle();
      try {
        const id = this.#audit.recordCall({
          ...start,
          decision: 'deny',
          reason: String(held.signal.reason ?? 'withdrawn'),
        });
        this.#audit.recordOutcome(id, {
          outcome: 'cancelled',
          error: String(held.signal.reason ?? 'withdrawn'),
          durationMs: this.#elapsed(started),
        });
      } catch (error) {
        this.#log.error({ err: describeError(error) }, 'audit log failed while recording a withdrawn call');
      }
      // A cancelled request gets no answer (MCP basic/utilities/cancellation): end its stream.
      if (!this.#closed) this.#opts.downstream.closeRequestStream(request.id);
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
      await this.#toDownstream({ jsonrpc: '2.0', id: request.id, result });
      return;
    }
    let auditId: number;
    try {
      auditId = this.#audit.recordCall(start);
    } catch (error) {
      // Fail closed: a call that cannot be recorded is not forwarded.
      scope.settle();
      this.#log.error({ err: describeError(error) }, 'audit log failed; refusing the call');
      await this.#toDownstream(
        errorResponse(
          request.id,
          JsonRpcCode.InternalError,
          `MCP Warden: the call was not forwarded because the audit log could not record it (${describeError(error)})`,
          'AUDIT_FAILED',
        ),
      );
      return;
    }
    await this.#forwardRequest(request, auditId, scope);
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

  /** Lists the tools ourselves (all pages) when the client has not, so calls are checked against pins. */
  async #ensureTools(): Promise<void> {
    if (this.#tools) return;
    this.#listing ??= this.#listToolsOurselves().finally(() => (this.#listing = undefined));
    await this.#listing;
  }

  async #listToolsOurselves(): Promise<void> {
    const tools: Tool[] = [];
    let cursor: string | undefined;
    for (let page = 0; page < 100; page++) {
      const result = await this.#upstream.request('tools/list', cursor ? { cursor } : undefined);
      tools.push(...((result.tools as Tool[] | undefined) ?? []));
      cursor = typeof result.nextCursor === 'string' ? result.nextCursor : undefined;
      if (!cursor) break;
    }
    this.#checkPins('tool', tools, false);
  }

  #pinBlockReason(tool: string): string | undefined {
    const pending = this.#pinHidden.get(tool);
    if (pending) return pending;
    if (this.#tools && !this.#tools.has(tool))
      return `tool "${tool}" is not offered by server "${this.server.name}"`;
    if (!this.#tools) return `the tools of server "${this.server.name}" could not be verified`;
    return undefined;
  }

  /**
   * Checks offered definitions against their pins; records what is verified.
   * @returns the names that may be shown.
   */
  #checkPins(kind: PinKind, offered: Record<string, unknown>[], merge: boolean): Set<string> {
    const check = this.#opts.core.pins.check(this.server.name, kind, offered, { pinAllIfNone: true });
    for (const review of check.reviews) {
      this.#log.warn(
        { kind, name: review.name, status: review.status },
        `${kind} definition ${review.status} since it was pinned; hidden until a person reviews it`,
      );
    }
    if (kind === 'tool') {
      const tools = offered as unknown as Tool[];
      if (!merge || !this.#tools) {
        this.#tools = new Map();
        this.#pinHidden = new Map();
      }
      for (const tool of tools) {
        if (check.visible.has(tool.name)) {
          this.#tools.set(tool.name, tool);
          this.#pinHidden.delete(tool.name);
        } else {
          this.#tools.delete(tool.name);
          this.#pinHidden.set(
            tool.name,
            `tool "${tool.name}" of server "${this.server.name}" is new or changed since it was approved and awaits review ` +
              `(see \`mcp-warden pins list --diff\`, approve with \`${commandHint(['mcp-warden', 'pins', 'approve'], [this.server.name, tool.name])}\`)`,
          );
        }
      }
      const visible = [...this.#tools.keys()].filter((name) => this.#opts.toolLists.isVisible(name));
      for (const shadow of this.#opts.core.shadows.observe(
        this.#client.name ?? 'unknown client',
        this.server.name,
        visible,
      )) {
        this.#log.warn(
          { tool: shadow.tool, servers: shadow.servers },
          `tool name "${shadow.tool}" is offered by several servers to the same client`,
        );
      }
    }
    return check.visible;
  }

  async #forwardRequest(request: JSONRPCRequest, auditId?: number, scope?: CallScope): Promise<void> {
    const pending: Pending = {
      id: request.id,
      method: request.method,
      startedAt: this.#now(),
      params: request.params,
    };
    if (auditId !== undefined) pending.auditId = auditId;
    if (scope) pending.scope = scope;
    this.#pending.set(idKey(request.id), pending);
    const token = (request.params?._meta as { progressToken?: string | number } | undefined)?.progressToken;
    if (token !== undefined) this.#progress.set(token, request.id);
    try {
      await this.#upstream.send(request);
    } catch (error) {
      if (this.#pending.delete(idKey(request.id))) {
        pending.scope?.settle();
        this.#finishAudit(pending, { outcome: 'error', error: describeError(error) });
        await this.#toDownstream(errorResponseFor(request.id, error));
      }
    }
  }

  #fromUpstream(message: JSONRPCMessage): void {
    if (isJSONRPCResultResponse(message) || isJSONRPCErrorResponse(message)) {
      if (message.id === undefined) {
        this.#log.warn(
          { error: 'error' in message ? message.error : undefined },
          'upstream sent an error without an id',
        );
        return;
      }
      const pending = this.#pending.get(idKey(message.id));
      if (!pending) {
        this.#log.debug({ id: message.id }, 'dropping an upstream response to no open request (cancelled?)');
        return;
      }
      this.#pending.delete(idKey(message.id));
      pending.scope?.settle();
      this.#dropProgressTokens(message.id);
      let outgoing: JSONRPCMessage = message;
      if (isJSONRPCResultResponse(message)) {
        const pinned = PINNED_LISTS[pending.method];
        if (pinned)
          outgoing = this.#filterList(message, pinned.kind, pinned.key, pending.params?.cursor !== undefined);
        if (pending.method === 'initialize' && this.#initializeParams) {
          const version = (message.result as { protocolVersion?: string }).protocolVersion;
          this.#upstream.noteInitialized(this.#initializeParams, version);
        }
        if (pending.auditId !== undefined) {
          const result = message.result as CallToolResult;
          this.#finishAudit(
            pending,
            result.isError ? { outcome: 'tool_error', error: firstText(result) } : { outcome: 'ok' },
          );
        }
      } else if (pending.auditId !== undefined) {
        this.#finishAudit(pending, { outcome: 'error', error: message.error.message });
      }
      void this.#toDownstream(outgoing);
      return;
    }
    void this.#toDownstream(message, this.#relatedRequest(message));
    if (isJSONRPCNotification(message) && message.method === 'notifications/tools/list_changed') {
      // Re-verify at once: a changed tool must be hidden before anyone calls it.
      this.#tools = undefined;
      this.#ensureTools().catch((error: unknown) =>
        this.#log.warn({ err: describeError(error) }, 'could not re-list tools after list_changed'),
      );
    }
  }

  #relatedRequest(message: JSONRPCMessage): RequestId | undefined {
    if (isJSONRPCNotification(message)) {
      if (message.method === 'notifications/progress') {
        const token = message.params?.progressToken as string | number | undefined;
        const id = token === undefined ? undefined : this.#progress.get(token);
        if (id !== undefined && this.#pending.has(idKey(id))) return id;
      }
      if (message.method.endsWith('/list_changed') || message.method === 'notifications/resources/updated') {
        return undefined;
      }
    }
    let latest: Pending | undefined;
    for (const pending of this.#pending.values()) latest = pending;
    return latest?.id;
  }

  /** Removes entries whose pins await review, and tools the config's lists hide. */
  #filterList(
    message: JSONRPCMessage & { result: unknown },
    kind: PinKind,
    key: string,
    merge: boolean,
  ): JSONRPCMessage {
    const result = message.result as Record<string, unknown>;
    const items = result[key];
    if (!Array.isArray(items)) return message;
    const visible = this.#checkPins(kind, items as Record<string, unknown>[], merge);
    const shown = (items as { name: string }[]).filter(
      (item) => visible.has(item.name) && (kind !== 'tool' || this.#opts.toolLists.isVisible(item.name)),
    );
    if (shown.length === items.length) return message;
    return { ...message, result: { ...result, [key]: shown } };
  }

  #finishAudit(pending: Pending, end: Omit<AuditCallEnd, 'durationMs'>): void {
    if (pending.auditId === undefined) return;
    const durationMs = Math.round((this.#now() - pending.startedAt) * 1000) / 1000;
    try {
      this.#audit.recordOutcome(pending.auditId, { ...end, durationMs });
    } catch (error) {
      this.#log.error(
        { err: describeError(error), auditId: pending.auditId },
        'audit log failed to record an outcome',
      );
    }
    pending.auditId = undefined;
  }

  #failPending(reason: string, restarting = false): void {
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    this.#progress.clear();
    for (const p of pending) {
      p.scope?.settle();
      this.#finishAudit(p, { outcome: 'error', error: reason });
      const error = new WardenError(
        'UPSTREAM_CRASHED',
        `server "${this.server.name}" did not answer ${p.method}: ${reason}` +
          (restarting ? '. Warden is restarting it; try again.' : ''),
      );
      void this.#toDownstream(errorResponseFor(p.id, error));
    }
  }

  #dropProgressTokens(id: RequestId): void {
    for (const [token, requestId] of this.#progress) if (requestId === id) this.#progress.delete(token);
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

function firstText(result: CallToolResult): string | undefined {
  const item = result.content?.find((c) => c.type === 'text');
  return item && 'text' in item ? String(item.text).slice(0, 1000) : undefined;
}
