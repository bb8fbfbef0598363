/** Whether the guard chain let a call through. */
export type AuditDecision = 'allow' | 'deny';

/**
 * How a call ended: `ok` a result; `tool_error` a result with `isError: true`; `error` a
 * JSON-RPC error or a lost upstream; `refused` denied by Warden, never forwarded;
 * `cancelled` the client cancelled it; `input_required` the server asked for input first (MCP
 * 2026-07-28 multi-round-trip requests), and the retry is a call of its own.
 */
export type AuditOutcome = 'ok' | 'tool_error' | 'error' | 'refused' | 'cancelled' | 'input_required';

/**
 * The columns of a `tool_calls` row (migrations.ts) that the readers of the audit log use, as
 * SQLite returns them: the CLI and export (audit-reader.ts, which leaves `ts_ms` out of its
 * SELECT) and the forwarding outbox (outbox.ts, which reads it). Later columns (redaction, chain)
 * are read where they are needed.
 */
export interface ToolCallRow {
  id: number;
  ts: string;
  session_id: string;
  client_name: string | null;
  client_version: string | null;
  server: string;
  tool: string;
  request_id: string | null;
  arguments: string | null;
  decision: AuditDecision;
  reason: string | null;
  outcome: AuditOutcome | null;
  error: string | null;
  duration_ms: number | null;
  policy_version: string | null;
}
