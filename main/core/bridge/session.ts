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
import { describeError, WardenError } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { GuardChain, ToolCallContext } from '../guard/chain.ts';
import type { ToolLists } from '../guard/tool-lists.ts';
import type { CircuitBreaker } from './circuit-breaker.ts';
import { errorResponse, errorResponseFor, idKey, JsonRpcCode } from './jsonrpc.ts';
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
  recordRefusal(start: AuditCallStart, error: string): number;
}

export interface BridgeSessionOptions {
  server: ServerConfig;
  downstream: DownstreamPort;
  /** The downstream session id (known once initialize has been received). */
  sessionId: () => string;
  guard: GuardChain;
  toolLists: ToolLists;
  audit: CallRecorder;
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
  /** For the audit outcome of a cancelled call. */
  cancelled?: boolean;
}

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
  #client: { name?: string; version?: string } = {};
  #initializeParams: InitializeRequest['params'] | undefined;
  #closed = false;

  constructor(options: BridgeSessionOptions) {
    this.server = options.server;
    this.#opts = options;
    this.#log = options.logger;
    this.#now = options.now ?? (() => performance.now());
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

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
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
    const pending = this.#pending.get(idKey(requestId));
    if (!pending) return;
    this.#pending.delete(idKey(requestId));
    pending.cancelled = true;
    this.#finishAudit(pending, { outcome: 'cancelled', error: 'cancelled by the client' });
    this.#opts.downstream.closeRequestStream(requestId);
  }

  async #toolCall(request: JSONRPCRequest): Promise<void> {
    const params = (request.params ?? {}) as { name?: unknown; arguments?: unknown };
    const tool = typeof params.name === 'string' ? params.name : '';
    const args =
      params.arguments && typeof params.arguments === 'object' && !Array.isArray(params.arguments)
        ? (params.arguments as Record<string, unknown>)
        : undefined;
    const call: ToolCallContext = {
      sessionId: this.#opts.sessionId(),
      client: this.#client,
      server: this.server.name,
      tool,
      arguments: args,
      requestId: request.id,
    };
    const decision = await this.#opts.guard.decide(call);
    const start: AuditCallStart = {
      startedAt: Date.now(),
      sessionId: call.sessionId,
      ...(this.#client.name ? { clientName: this.#client.name } : {}),
      ...(this.#client.version ? { clientVersion: this.#client.version } : {}),
      server: this.server.name,
      tool,
      requestId: request.id,
      arguments: params.arguments,
      decision: decision.action,
      reason: decision.action === 'deny' ? decision.reason : decision.by,
    };
    if (decision.action === 'deny') {
      const text = `MCP Warden refused this call: ${decision.reason}.`;
      try {
        this.#opts.audit.recordRefusal(start, text);
      } catch (error) {
        this.#log.error({ err: describeError(error) }, 'audit log failed while recording a refusal');
      }
      const result: CallToolResult = { content: [{ type: 'text', text }], isError: true };
      await this.#toDownstream({ jsonrpc: '2.0', id: request.id, result });
      return;
    }
    let auditId: number;
    try {
      auditId = this.#opts.audit.recordCall(start);
    } catch (error) {
      // Fail closed: a call that cannot be recorded is not forwarded.
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
    await this.#forwardRequest(request, auditId);
  }

  async #forwardRequest(request: JSONRPCRequest, auditId?: number): Promise<void> {
    const pending: Pending = { id: request.id, method: request.method, startedAt: this.#now() };
    if (auditId !== undefined) pending.auditId = auditId;
    this.#pending.set(idKey(request.id), pending);
    const token = (request.params?._meta as { progressToken?: string | number } | undefined)?.progressToken;
    if (token !== undefined) this.#progress.set(token, request.id);
    try {
      await this.#upstream.send(request);
    } catch (error) {
      if (this.#pending.delete(idKey(request.id))) {
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
      this.#dropProgressTokens(message.id);
      let outgoing: JSONRPCMessage = message;
      if (isJSONRPCResultResponse(message)) {
        if (pending.method === 'tools/list') outgoing = this.#filterToolList(message);
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

  #filterToolList(message: JSONRPCMessage & { result: unknown }): JSONRPCMessage {
    const result = message.result as { tools?: Tool[] };
    if (!Array.isArray(result.tools)) return message;
    const tools = result.tools.filter((tool) => this.#opts.toolLists.isVisible(tool.name));
    if (tools.length === result.tools.length) return message;
    return { ...message, result: { ...result, tools } };
  }

  #finishAudit(pending: Pending, end: Omit<AuditCallEnd, 'durationMs'>): void {
    if (pending.auditId === undefined) return;
    const durationMs = Math.round((this.#now() - pending.startedAt) * 1000) / 1000;
    try {
      this.#opts.audit.recordOutcome(pending.auditId, { ...end, durationMs });
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
