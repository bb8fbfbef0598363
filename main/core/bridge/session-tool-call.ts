import type { CallToolResult, JSONRPCMessage, JSONRPCRequest, RequestId } from '@modelcontextprotocol/server';
import { describeError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { CallScope, type GuardChain, type ToolCallContext } from '../guard/chain.ts';
import type { Exchange, Exchanges } from './exchanges.ts';
import { errorResponseFor } from './jsonrpc.ts';
import type { PinnedLists } from './pinned-lists.ts';
import type { SessionAudit } from './session-audit.ts';

/** What a `tools/call` needs of its BridgeSession. */
export interface ToolCallHost {
  readonly server: string;
  readonly exchanges: Exchanges;
  readonly lists: PinnedLists;
  /** The session's whole chain: tool lists, pins, then the guard port. */
  readonly guard: GuardChain;
  readonly audit: SessionAudit;
  readonly log: Logger;
  /** The downstream session id. */
  sessionId(): string;
  /** The client's self-reported identity for this request (initialize, or the request's `_meta`). */
  client(request: JSONRPCRequest): { name?: string; version?: string };
  /** True when the session is no session (2026-07-28 over HTTP): "this session" counts once. */
  sessionless(): boolean;
  /** The MCP protocol version the session speaks, once initialized. */
  protocolVersion(): string | undefined;
  closed(): boolean;
  /** Delivers the one answer of the exchange (once `recorded` has settled, when given). */
  answer(exchange: Exchange, message: JSONRPCMessage, recorded?: Promise<void>): void;
  /** Forwards the request upstream under a Warden id. */
  forward(exchange: Exchange, request: JSONRPCRequest): Promise<void>;
  /** Sends a message to the client on the stream of request `relatedRequestId`. */
  notify(message: JSONRPCMessage, relatedRequestId: RequestId): void;
  /** Ends the response stream of a request that gets no answer. */
  closeRequestStream(id: RequestId): void;
}

/**
 * One `tools/call` (MCP 2025-11-25 server/tools): the tool list is made complete and checked
 * against the pins first, then the guard decides (a held call sends progress while it waits for a
 * person, MCP basic/utilities/progress). A call withdrawn while held is recorded and gets no
 * answer; a refusal is recorded and answered as a tool error once its row is committed; an
 * allowed call is recorded durably, then forwarded (a call that cannot be recorded is refused:
 * fail closed; one cancelled while its row is committed is recorded as cancelled, not forwarded).
 */
export async function handleToolCall(
  host: ToolCallHost,
  exchange: Exchange,
  request: JSONRPCRequest,
): Promise<void> {
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
    await host.lists.ensure('tool');
  } catch (error) {
    host.log.warn({ err: describeError(error) }, 'could not list the tools to verify their pins');
  }
  const client = host.client(request);
  const call: ToolCallContext = {
    sessionId: host.sessionId(),
    client,
    server: host.server,
    tool,
    arguments: args,
    requestId: request.id,
    annotations: host.lists.definition('tool', tool)?.annotations as Record<string, unknown> | undefined,
    signal: held.signal,
    ...(host.sessionless() ? { sessionless: true } : {}),
    ...(typeof progressToken === 'string' || typeof progressToken === 'number'
      ? {
          onWaiting: (elapsedMs: number, timeoutMs: number) =>
            host.notify(waitingNotice(progressToken, elapsedMs, timeoutMs), request.id),
        }
      : {}),
  };
  const decision = await host.guard.decide(call, scope);
  delete exchange.held;
  const start = host.audit.start(started, {
    sessionId: call.sessionId,
    ...(client.name ? { clientName: client.name } : {}),
    ...(client.version ? { clientVersion: client.version } : {}),
    ...(host.protocolVersion() ? { protocolVersion: host.protocolVersion() } : {}),
    server: host.server,
    tool,
    requestId: request.id,
    arguments: params.arguments,
    decision: decision.action,
    reason: decision.action === 'deny' ? `${decision.by}: ${decision.reason}` : decision.by,
  });
  if (held.signal.aborted || host.closed() || !host.exchanges.isOpen(exchange)) {
    scope.settle();
    await host.audit.withdrawn(start, String(held.signal.reason ?? 'withdrawn'), started);
    // A cancelled request gets no answer (MCP basic/utilities/cancellation): end its stream.
    if (host.exchanges.close(exchange) && !host.closed()) host.closeRequestStream(request.id);
    return;
  }
  if (decision.action === 'deny') {
    const text = `MCP Warden refused this call: ${decision.reason}.`;
    const recorded = host.audit.refusal(start, text, started);
    const result: CallToolResult = { content: [{ type: 'text', text }], isError: true };
    host.answer(exchange, { jsonrpc: '2.0', id: request.id, result }, recorded);
    return;
  }
  let auditId: number;
  try {
    auditId = await host.audit.beforeForward(start);
  } catch (error) {
    scope.settle();
    host.answer(exchange, errorResponseFor(request.id, error));
    return;
  }
  exchange.auditId = auditId;
  if (host.closed() || !host.exchanges.isOpen(exchange)) {
    // Cancelled (or the session ended) while its row was being committed: never forwarded.
    scope.settle();
    host.exchanges.close(exchange);
    void host.audit.finish(exchange, { outcome: 'cancelled', error: 'withdrawn before it was forwarded' });
    return;
  }
  exchange.scope = scope;
  await host.forward(exchange, request);
}

/** The progress notification of a call waiting for a person (MCP basic/utilities/progress). */
function waitingNotice(progressToken: string | number, elapsedMs: number, timeoutMs: number): JSONRPCMessage {
  const left = Math.max(0, Math.round((timeoutMs - elapsedMs) / 1000));
  return {
    jsonrpc: '2.0',
    method: 'notifications/progress',
    params: {
      progressToken,
      progress: Math.round(elapsedMs / 1000),
      total: Math.round(timeoutMs / 1000),
      message: `Waiting for a person to approve this call in MCP Warden (${left} s left)`,
    },
  };
}
