/**
 * The OTLP fields of a forwarded call (forward/otlp-attributes.ts): `error.type` and the severity
 * follow how the call ended, for every outcome the audit log records.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { OutboxItem } from '../../main/core/audit/outbox.ts';
import type { ForwardedCall } from '../../main/core/audit/outbox-records.ts';
import type { AuditOutcome } from '../../main/core/audit/tool-call-row.ts';
import { otlpLogFields } from '../../main/core/forward/otlp-attributes.ts';

function item(outcome: AuditOutcome | null): OutboxItem {
  const record: ForwardedCall = {
    recordId: 'log-1',
    logId: 'log',
    rowId: 1,
    ts: '2026-12-01T00:00:00.000Z',
    tsMs: Date.parse('2026-12-01T00:00:00.000Z'),
    sessionId: 's',
    clientName: null,
    clientVersion: null,
    server: 'everything',
    tool: 'echo',
    requestId: '1',
    arguments: null,
    decision: outcome === 'refused' ? 'deny' : 'allow',
    reason: null,
    outcome,
    error: null,
    durationMs: 1,
    policyVersion: null,
    protocolVersion: '2026-07-28',
  };
  return { seq: 1, kind: 'call', recordId: record.recordId, record, createdMs: 0 };
}

test('error.type and severity of each outcome: ok and input_required are no error', () => {
  const expected: Record<AuditOutcome | 'null', [string | undefined, string]> = {
    ok: [undefined, 'INFO'],
    input_required: [undefined, 'INFO'],
    tool_error: ['tool_error', 'WARN'],
    error: ['_OTHER', 'WARN'],
    refused: ['refused', 'INFO'],
    cancelled: ['cancelled', 'INFO'],
    null: ['interrupted', 'WARN'],
  };
  for (const [outcome, [errorType, severity]] of Object.entries(expected)) {
    const fields = otlpLogFields(item(outcome === 'null' ? null : (outcome as AuditOutcome)));
    assert.equal(fields.attributes['error.type'], errorType, `${outcome}: error.type`);
    assert.equal(fields.severityText, severity, `${outcome}: severity`);
  }
});
