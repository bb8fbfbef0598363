import { SeverityNumber, type Attributes } from '@opentelemetry/api';
import type { OutboxItem } from '../audit/outbox.ts';
import type { ForwardedCall, ForwardedCheckpoint } from '../audit/outbox-records.ts';

/**
 * The OpenTelemetry log record of an outbox record: attributes of the GenAI/MCP semantic
 * conventions (semantic-conventions-genai, docs/gen-ai/mcp.md, status Development) where they
 * apply, and Warden's own under `mcp_warden.*`.
 */

/** Protocol versions whose sessions carry an `Mcp-Session-Id`, reported as `mcp.session.id`. */
export const SESSION_PROTOCOL_VERSIONS: ReadonlySet<string> = new Set(['2025-11-25']);

/** One log record's fields besides time, resource and scope. */
export interface OtlpLogFields {
  eventName: string;
  severityNumber: SeverityNumber;
  severityText: string;
  body: string;
  attributes: Attributes;
}

/**
 * The log record fields of `item`:
 * - a call: event `mcp_warden.tool_call`; `log.record.uid` = the record id (de-duplication);
 *   `mcp.method.name` = `tools/call`; `gen_ai.operation.name` = `execute_tool`;
 *   `gen_ai.tool.name`; `mcp.protocol.version` when known; `mcp.session.id` only for sessions
 *   of protocol version 2025-11-25; `jsonrpc.request.id`; `error.type` when the call did not
 *   end `ok` or `input_required` (`tool_error`, `refused`, `cancelled`, `interrupted` for a call Warden stopped
 *   before it ended, `_OTHER` for a JSON-RPC error or a lost upstream).
 * - a checkpoint: event `mcp_warden.checkpoint` with the signed note as the body.
 */
export function otlpLogFields(item: OutboxItem): OtlpLogFields {
  if (item.kind === 'checkpoint') {
    const checkpoint = item.record as ForwardedCheckpoint;
    return {
      eventName: 'mcp_warden.checkpoint',
      severityNumber: SeverityNumber.INFO,
      severityText: 'INFO',
      body: checkpoint.note,
      attributes: {
        'log.record.uid': item.recordId,
        'mcp_warden.checkpoint.origin': checkpoint.origin,
        'mcp_warden.checkpoint.tree_size': checkpoint.treeSize,
        'mcp_warden.checkpoint.root_hash': checkpoint.rootHash,
      },
    };
  }
  const call = item.record as ForwardedCall;
  const errorType = callErrorType(call);
  const attributes: Attributes = {
    'log.record.uid': item.recordId,
    'mcp.method.name': 'tools/call',
    'gen_ai.operation.name': 'execute_tool',
    'gen_ai.tool.name': call.tool,
    'mcp_warden.server': call.server,
    'mcp_warden.decision': call.decision,
    'mcp_warden.outcome': call.outcome ?? 'interrupted',
    'mcp_warden.row_id': call.rowId,
    'mcp_warden.log_id': call.logId,
  };
  const optional: [string, string | number | null][] = [
    ['mcp.protocol.version', call.protocolVersion],
    [
      'mcp.session.id',
      call.protocolVersion !== null && SESSION_PROTOCOL_VERSIONS.has(call.protocolVersion)
        ? call.sessionId
        : null,
    ],
    ['jsonrpc.request.id', call.requestId],
    ['error.type', errorType ?? null],
    ['mcp_warden.reason', call.reason],
    ['mcp_warden.error', call.error],
    ['mcp_warden.duration_ms', call.durationMs],
    ['mcp_warden.policy_version', call.policyVersion],
    ['mcp_warden.client.name', call.clientName],
    ['mcp_warden.client.version', call.clientVersion],
    ['mcp_warden.arguments', call.arguments],
  ];
  for (const [key, value] of optional) if (value !== null) attributes[key] = value;
  const warn = errorType !== undefined && errorType !== 'refused' && errorType !== 'cancelled';
  return {
    eventName: 'mcp_warden.tool_call',
    severityNumber: warn ? SeverityNumber.WARN : SeverityNumber.INFO,
    severityText: warn ? 'WARN' : 'INFO',
    body: `tools/call ${call.server}/${call.tool}: ${call.decision}, ${call.outcome ?? 'interrupted'}`,
    attributes,
  };
}

/** `error.type` of a call, or undefined when it ended `ok`. */
function callErrorType(call: ForwardedCall): string | undefined {
  switch (call.outcome) {
    case 'ok':
    case 'input_required': // the call asks the client for input: not an error
      return undefined;
    case 'error':
      return '_OTHER';
    case null:
      return 'interrupted';
    default:
      return call.outcome;
  }
}
