import { createHash } from 'node:crypto';
import type { AuditRecord } from './audit-reader.ts';

/**
 * The OCSF version the export follows: records are API Activity events of OCSF 1.8.0
 * (schema.ocsf.io, class `api_activity`, uid 6003, category Application Activity, 6).
 */
export const OCSF_VERSION = '1.8.0';

/** API Activity: category_uid 6 (Application Activity) * 1000 + class 3. */
export const OCSF_API_ACTIVITY_CLASS_UID = 6003;

/** What an OCSF record says about where it was made: not in the audit row itself. */
export interface OcsfContext {
  /** The OS user whose audit log it is (actor.user.name). */
  user: { name: string; uid?: string };
  /** This machine's hostname (src_endpoint.hostname). */
  hostname: string;
  /** MCP Warden's version (metadata.product.version). */
  version: string;
}

/**
 * Hash-chain fields of an audit row, when the audit log has them (a row's position in the
 * chain, its leaf hash and the previous row's, hex). Absent on logs without a chain.
 */
export interface ChainColumns {
  chainPosition?: number;
  chainHash?: string;
  chainPrevHash?: string;
}

/** An OCSF event as exported: a JSON object (the shape of the OCSF class). */
export type OcsfEvent = Record<string, unknown>;

/**
 * One audit record as an OCSF 1.8.0 API Activity event (class_uid 6003):
 * - `activity_id` 99 (Other: a `tools/call` is none of create/read/update/delete),
 *   `activity_name` "tools/call"; `api.operation` "tools/call", `api.service.name` the server,
 *   `api.request.uid` the JSON-RPC id, `api.request.data` the arguments as recorded (secrets
 *   redacted at write time), `resources` the tool;
 * - `actor`: the OS user, the client (`app_name`, clientInfo.name) and the session
 *   (`session.uid`); `src_endpoint` this machine; `dst_endpoint` the server;
 * - `action_id`/`disposition_id`: 1 Allowed / 2 Denied (Blocked) from the decision; `policy`
 *   the rule and its source that decided (the audit row's reason) and the org policy version;
 * - `status_id` 1 Success (ok), 2 Failure (tool_error, error, refused, cancelled), 99 Other
 *   (input_required), 0 Unknown (in flight), `status_code` the outcome, `status_detail` the error; `severity_id` 1
 *   Informational (allowed and ok or in flight), 2 Low (allowed, failed), 3 Medium (denied);
 * - `time` the receipt in ms since the epoch, `duration` ms, `end_time` receipt + duration;
 * - `metadata.uid`: a UUID derived from the row (id, time, session), the same at every export;
 *   `metadata.product` MCP Warden and its version;
 * - `unmapped.mcp`: the audit row's own fields OCSF has no place for (row id, decision,
 *   outcome, reason, client version); `unmapped.attestation`: see {@link ocsfChainFields}.
 */
export function toOcsfApiActivity(record: AuditRecord & ChainColumns, context: OcsfContext): OcsfEvent {
  const time = Date.parse(record.ts);
  const allowed = record.decision === 'allow';
  const status = statusOf(record);
  const duration = record.durationMs === null ? undefined : Math.round(record.durationMs);
  const severityId = !allowed ? 3 : status.id === 2 ? 2 : 1;
  const reason = record.reason ?? (allowed ? 'allowed' : 'denied');
  const attestation = ocsfChainFields(record);
  return {
    activity_id: 99,
    activity_name: 'tools/call',
    category_uid: 6,
    category_name: 'Application Activity',
    class_uid: OCSF_API_ACTIVITY_CLASS_UID,
    class_name: 'API Activity',
    type_uid: OCSF_API_ACTIVITY_CLASS_UID * 100 + 99,
    type_name: 'API Activity: Other',
    time,
    start_time: time,
    ...(duration === undefined ? {} : { duration, end_time: time + duration }),
    severity_id: severityId,
    severity: SEVERITY[severityId],
    status_id: status.id,
    status: status.name,
    status_code: record.outcome ?? 'running',
    ...(record.error === null ? {} : { status_detail: record.error }),
    action_id: allowed ? 1 : 2,
    action: allowed ? 'Allowed' : 'Denied',
    disposition_id: allowed ? 1 : 2,
    disposition: allowed ? 'Allowed' : 'Blocked',
    message: `tools/call ${record.server}/${record.tool}: ${allowed ? 'allowed' : 'denied'}, ${record.outcome ?? 'running'}`,
    metadata: {
      version: OCSF_VERSION,
      uid: recordUid(record),
      original_time: record.ts,
      log_name: 'audit',
      log_provider: 'MCP Warden',
      product: { name: 'MCP Warden', vendor_name: 'MCP Warden', version: context.version },
    },
    api: {
      operation: 'tools/call',
      service: { name: record.server },
      ...(record.requestId === null
        ? {}
        : {
            request: {
              uid: record.requestId,
              ...(record.arguments === null ? {} : { data: record.arguments }),
            },
          }),
      ...(record.outcome === null || record.outcome === 'ok'
        ? {}
        : { response: { error: record.outcome, ...(record.error ? { error_message: record.error } : {}) } }),
    },
    resources: [{ name: record.tool, type: 'MCP tool', uid: `${record.server}/${record.tool}` }],
    actor: {
      user: {
        name: context.user.name,
        ...(context.user.uid ? { uid: context.user.uid } : {}),
        type_id: 1,
        type: 'User',
      },
      app_name: record.clientName ?? 'unknown client',
      session: { uid: record.sessionId },
    },
    src_endpoint: { hostname: context.hostname },
    dst_endpoint: { svc_name: record.server },
    policy: {
      name: reason,
      is_applied: true,
      ...(record.policyVersion === null ? {} : { version: record.policyVersion }),
    },
    unmapped: {
      mcp: {
        audit_id: record.id,
        decision: record.decision,
        outcome: record.outcome,
        reason: record.reason,
        client_version: record.clientVersion,
      },
      ...(attestation ? { attestation } : {}),
    },
  };
}

/**
 * The hash-chain fields of a row in the shape of OCSF's `attestation` object (OCSF 1.9:
 * `uid` the chain position, `fingerprint` the row's leaf hash, `prev_event.fingerprint` the
 * previous row's), or undefined when the row has no chain fields. OCSF 1.8.0 has no
 * `attestation` attribute, so the export puts it under `unmapped`; with OCSF 1.9 it moves to
 * the event's top level unchanged.
 */
export function ocsfChainFields(record: ChainColumns): Record<string, unknown> | undefined {
  if (record.chainHash === undefined) return undefined;
  const fingerprint = (value: string) => ({ algorithm_id: 3, algorithm: 'SHA-256', value });
  return {
    ...(record.chainPosition === undefined ? {} : { uid: String(record.chainPosition) }),
    fingerprint: fingerprint(record.chainHash),
    ...(record.chainPrevHash === undefined
      ? {}
      : { prev_event: { fingerprint: fingerprint(record.chainPrevHash) } }),
  };
}

/**
 * The stable id of an audit row in exports (`metadata.uid`): a UUID (RFC 9562 version 8) from
 * the SHA-256 of the row id, its receipt time and session id, so every export of the row gives
 * the same id and rows of other audit logs (other sessions) give others.
 */
export function recordUid(record: Pick<AuditRecord, 'id' | 'ts' | 'sessionId'>): string {
  const bytes = createHash('sha256')
    .update(`mcp-warden audit row\n${record.id}\n${record.ts}\n${record.sessionId}`)
    .digest()
    .subarray(0, 16);
  bytes[6] = (bytes[6]! & 0x0f) | 0x80;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

const SEVERITY: Record<number, string> = { 1: 'Informational', 2: 'Low', 3: 'Medium' };

/**
 * OCSF `status_id` per outcome: a Record, so a new AuditOutcome cannot go unmapped. A call that
 * ended asking the client for input (2026-07-28 `input_required`) neither succeeded nor failed:
 * 99 Other.
 */
const STATUS: Record<NonNullable<AuditRecord['outcome']>, { id: 1 | 2 | 99; name: string }> = {
  ok: { id: 1, name: 'Success' },
  tool_error: { id: 2, name: 'Failure' },
  error: { id: 2, name: 'Failure' },
  refused: { id: 2, name: 'Failure' },
  cancelled: { id: 2, name: 'Failure' },
  input_required: { id: 99, name: 'Other' },
};

function statusOf(record: AuditRecord): { id: 0 | 1 | 2 | 99; name: string } {
  return record.outcome === null ? { id: 0, name: 'Unknown' } : STATUS[record.outcome];
}
