/**
 * What the outbox forwards: one JSON record per audited call, and the audit log's signed
 * checkpoints. Records are built from the row as it was committed (arguments already redacted),
 * in the transaction that committed it, and never change afterwards.
 */
import type { AuditOutcome } from './tool-call-row.ts';

/** The kinds of outbox records. */
export type OutboxKind = 'call' | 'checkpoint';

/** A recorded `tools/call`, as forwarded. */
export interface ForwardedCall {
  /**
   * Stable across retries and restarts: `<log id>-<row id>` (the log id is random per audit.db,
   * kept in `outbox_meta`). Receivers de-duplicate on it.
   */
  recordId: string;
  /** The audit log's id (`outbox_meta.log_id`, 32 hex digits). */
  logId: string;
  /** The row id in `tool_calls`. */
  rowId: number;
  /** When the call was received, ISO 8601 UTC with ms. */
  ts: string;
  /** The same instant, ms since the epoch. */
  tsMs: number;
  sessionId: string;
  clientName: string | null;
  clientVersion: string | null;
  server: string;
  tool: string;
  requestId: string | null;
  /** The arguments as stored: JSON text with secrets redacted, or null. */
  arguments: string | null;
  /** AuditDecision: `allow` | `deny`. */
  decision: 'allow' | 'deny';
  reason: string | null;
  /**
   * How the call ended; `null` when Warden stopped (crash, kill -9) before it ended: such a row
   * is forwarded once at the next start (see Outbox.setDestinations).
   */
  outcome: AuditOutcome | null;
  error: string | null;
  durationMs: number | null;
  policyVersion: string | null;
  /** The session's MCP protocol version (e.g. "2025-11-25"), when known. */
  protocolVersion: string | null;
}

/** A signed checkpoint of the audit log (C2SP tlog-checkpoint), as forwarded. */
export interface ForwardedCheckpoint {
  /** Stable: `<log id>-checkpoint-<tree size>` (see checkpointRecordId). */
  recordId: string;
  /** The checkpoint's origin line, e.g. `mcp-warden/local/<device id>`. */
  origin: string;
  /** Rows covered. */
  treeSize: number;
  /** The root hash, base64 as in the note. */
  rootHash: string;
  /** The whole signed note (checkpoint body and signature lines), as text. */
  note: string;
  /** When it was made, ISO 8601 UTC. */
  ts: string;
}

/** The record type of each kind. */
export interface OutboxRecords {
  call: ForwardedCall;
  checkpoint: ForwardedCheckpoint;
}

/** Any outbox record with its kind. */
export type OutboxEntry =
  { kind: 'call'; record: ForwardedCall } | { kind: 'checkpoint'; record: ForwardedCheckpoint };

/** The record id of the call in row `rowId` of log `logId`. */
export function callRecordId(logId: string, rowId: number): string {
  return `${logId}-${rowId}`;
}

/** The record id of the checkpoint of `treeSize` rows of log `logId`. */
export function checkpointRecordId(logId: string, treeSize: number): string {
  return `${logId}-checkpoint-${treeSize}`;
}
