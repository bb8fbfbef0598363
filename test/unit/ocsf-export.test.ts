/**
 * `audit export --format ocsf`: each audit record as an OCSF 1.8.0 API Activity event
 * (class_uid 6003), validated against the class definition from the OCSF schema repository
 * (test/data/ocsf-1.8.0, read by test/helpers/ocsf-validate.ts).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { text } from 'node:stream/consumers';
import { test } from 'node:test';
import fc from 'fast-check';
import { AuditLog, type AuditCallStart } from '../../main/core/audit/audit-log.ts';
import { exportStream } from '../../main/core/audit/audit-export.ts';
import { AuditReader, type AuditRecord } from '../../main/core/audit/audit-reader.ts';
import {
  ocsfChainFields,
  OCSF_VERSION,
  recordUid,
  toOcsfApiActivity,
  type OcsfContext,
} from '../../main/core/audit/ocsf.ts';
import { OcsfSchema, ocsfSchemaDir } from '../helpers/ocsf-validate.ts';

const API_ACTIVITY = 'events/application/api_activity.json';
const schema = new OcsfSchema(ocsfSchemaDir(OCSF_VERSION));
const context: OcsfContext = {
  user: { name: 'ada', uid: '1000' },
  hostname: 'laptop.local',
  version: '9.9.9',
};

/** A real audit log with an allowed call that ended, a refused one, one in flight, a tool error, a withdrawn one. */
async function recordedCalls(t: { after: (fn: () => void) => void }): Promise<AuditRecord[]> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'warden-ocsf-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const log = AuditLog.open(path.join(dir, 'audit.db'));
  const start = (tool: string, extra: Partial<AuditCallStart> = {}): AuditCallStart => ({
    startedAt: Date.parse('2026-06-01T12:00:00.000Z'),
    sessionId: 'session-1',
    clientName: 'claude-code',
    clientVersion: '1.0.0',
    server: 'everything',
    tool,
    requestId: 7,
    arguments: { message: 'hi' },
    decision: 'allow',
    reason: 'user config /home/ada/.config/mcp-warden/config.json (rule 1: allow echo)',
    policyVersion: 'org acme v6',
    ...extra,
  });
  const ok = await log.queueCall(start('echo'));
  await log.queueOutcome(ok, { outcome: 'ok', durationMs: 12.5 });
  await log.queueRefusal(
    start('get-env', { reason: 'org policy https://example.com/p.jws (rule 2: deny get-env): not here' }),
    'MCP Warden refused this call: not here.',
    3,
  );
  await log.queueCall(start('long-running', { requestId: 'abc' }));
  const failed = await log.queueCall(start('add', { arguments: undefined }));
  await log.queueOutcome(failed, { outcome: 'tool_error', error: 'bad numbers', durationMs: 1 });
  const withdrawn = await log.queueCall(start('write', { decision: 'deny', reason: 'approval withdrawn' }));
  await log.queueOutcome(withdrawn, { outcome: 'cancelled', error: 'the client went away', durationMs: 40 });
  log.close();
  const reader = AuditReader.open(path.join(dir, 'audit.db'));
  try {
    return [...reader.iterate()];
  } finally {
    reader.close();
  }
}

async function exportOcsf(records: AuditRecord[]): Promise<Record<string, unknown>[]> {
  const lines = (await text(exportStream(records, 'ocsf', context))).split('\n').filter(Boolean);
  return lines.map((line) => JSON.parse(line) as Record<string, unknown>);
}

test(`exported records of allowed and denied calls validate against the OCSF ${OCSF_VERSION} API Activity class`, async (t) => {
  const records = await recordedCalls(t);
  const events = await exportOcsf(records);
  assert.equal(schema.version, OCSF_VERSION);
  assert.equal(events.length, 5);
  for (const event of events)
    assert.deepEqual(schema.validate(event, API_ACTIVITY), [], JSON.stringify(event));
  assert.deepEqual(
    events.map((e) => [e.action_id, e.disposition_id, e.status_id, e.severity_id]),
    [
      [1, 1, 1, 1], // allowed, ok
      [2, 2, 2, 3], // denied (refused)
      [1, 1, 0, 1], // allowed, in flight
      [1, 1, 2, 2], // allowed, tool error
      [2, 2, 2, 3], // denied (withdrawn)
    ],
  );
});

test('an OCSF event names the MCP method, server, tool, actor, policy, product, time and a stable uid', async (t) => {
  const [allowed, denied] = await exportOcsf(await recordedCalls(t));
  assert.ok(allowed && denied);
  assert.equal(allowed.class_uid, 6003);
  assert.equal(allowed.category_uid, 6);
  assert.deepEqual(allowed.api, {
    operation: 'tools/call',
    service: { name: 'everything' },
    request: { uid: '7', data: { message: 'hi' } },
  });
  assert.deepEqual(allowed.resources, [{ name: 'echo', type: 'MCP tool', uid: 'everything/echo' }]);
  assert.deepEqual(allowed.actor, {
    user: { name: 'ada', uid: '1000', type_id: 1, type: 'User' },
    app_name: 'claude-code',
    session: { uid: 'session-1' },
  });
  assert.deepEqual(allowed.src_endpoint, { hostname: 'laptop.local' });
  assert.equal(allowed.time, Date.parse('2026-06-01T12:00:00.000Z'));
  assert.equal(allowed.duration, 13);
  assert.equal(allowed.end_time, Date.parse('2026-06-01T12:00:00.000Z') + 13);
  const metadata = allowed.metadata as { product: unknown; version: string; uid: string };
  assert.deepEqual(metadata.product, { name: 'MCP Warden', vendor_name: 'MCP Warden', version: '9.9.9' });
  assert.equal(metadata.version, '1.8.0');
  assert.match(metadata.uid, /^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.deepEqual(allowed.policy, {
    name: 'user config /home/ada/.config/mcp-warden/config.json (rule 1: allow echo)',
    is_applied: true,
    version: 'org acme v6',
  });
  assert.equal(denied.action, 'Denied');
  assert.equal(denied.disposition, 'Blocked');
  assert.equal(denied.status_code, 'refused');
  assert.equal(denied.status_detail, 'MCP Warden refused this call: not here.');
  assert.match((denied.policy as { name: string }).name, /^org policy .*deny get-env/);
  assert.deepEqual((denied.unmapped as { mcp: unknown }).mcp, {
    audit_id: 2,
    decision: 'deny',
    outcome: 'refused',
    reason: 'org policy https://example.com/p.jws (rule 2: deny get-env): not here',
    client_version: '1.0.0',
  });
});

test('metadata.uid is the same at every export of a row and differs between rows', async (t) => {
  const records = await recordedCalls(t);
  const uids = (events: Record<string, unknown>[]) => events.map((e) => (e.metadata as { uid: string }).uid);
  const first = uids(await exportOcsf(records));
  assert.deepEqual(uids(await exportOcsf(records)), first);
  assert.equal(new Set(first).size, first.length);
  assert.notEqual(
    recordUid({ id: 1, ts: 'x', sessionId: 'a' }),
    recordUid({ id: 1, ts: 'x', sessionId: 'b' }),
  );
});

test('the validator refuses what the class forbids: a missing required attribute, a wrong type, an unknown attribute, an unknown enum value', async (t) => {
  const [event] = await exportOcsf(await recordedCalls(t));
  assert.ok(event);
  const broken = (change: (e: Record<string, unknown>) => void): string[] => {
    const copy = structuredClone(event);
    change(copy);
    return schema.validate(copy, API_ACTIVITY);
  };
  assert.match(broken((e) => delete e.src_endpoint).join('\n'), /src_endpoint: required, missing/);
  assert.match(
    broken((e) => delete (e.api as Record<string, unknown>).operation).join('\n'),
    /api\.operation: required/,
  );
  assert.match(broken((e) => (e.time = '2026-06-01')).join('\n'), /time: expected an integer/);
  assert.match(broken((e) => (e.time = 1_780_000_000)).join('\n'), /time: not in ms/);
  assert.match(broken((e) => (e.tool = 'echo')).join('\n'), /tool: not an attribute here/);
  assert.match(broken((e) => (e.disposition_id = 42)).join('\n'), /disposition_id: 42 is not one of/);
  assert.match(broken((e) => (e.class_uid = 6002)).join('\n'), /class_uid: expected 6003/);
  assert.match(broken((e) => (e.severity = 'High')).join('\n'), /severity: expected "Informational"/);
  assert.match(broken((e) => (e.actor = {})).join('\n'), /actor: needs at least one of/);
});

const arbitraryRecord: fc.Arbitrary<AuditRecord> = fc.record({
  id: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
  ts: fc
    .integer({ min: Date.parse('2000-01-01'), max: Date.parse('2100-01-01') })
    .map((ms) => new Date(ms).toISOString()),
  sessionId: fc.string({ minLength: 1 }),
  clientName: fc.option(fc.string()),
  clientVersion: fc.option(fc.string()),
  server: fc.string({ minLength: 1 }),
  tool: fc.string({ minLength: 1 }),
  requestId: fc.option(fc.oneof(fc.string(), fc.integer().map(String))),
  arguments: fc.option(fc.jsonValue()),
  decision: fc.constantFrom('allow' as const, 'deny' as const),
  reason: fc.option(fc.string()),
  outcome: fc.option(
    fc.constantFrom(
      'ok' as const,
      'tool_error' as const,
      'error' as const,
      'refused' as const,
      'cancelled' as const,
      'input_required' as const,
    ),
  ),
  error: fc.option(fc.string()),
  durationMs: fc.option(fc.double({ min: 0, max: 1e9, noNaN: true })),
  policyVersion: fc.option(fc.string()),
});

test('every audit record, whatever its text, maps to a valid API Activity event that survives JSON', () => {
  fc.assert(
    fc.property(arbitraryRecord, (record) => {
      const event = JSON.parse(JSON.stringify(toOcsfApiActivity(record, context))) as unknown;
      assert.deepEqual(schema.validate(event, API_ACTIVITY), []);
    }),
    { numRuns: 300 },
  );
});

test("hash-chain fields map to OCSF's attestation shape under unmapped (OCSF 1.8.0 has no attestation attribute)", () => {
  assert.equal(ocsfChainFields({}), undefined);
  const chain = { chainPosition: 41, chainHash: 'ab'.repeat(32), chainPrevHash: 'cd'.repeat(32) };
  assert.deepEqual(ocsfChainFields(chain), {
    uid: '41',
    fingerprint: { algorithm_id: 3, algorithm: 'SHA-256', value: 'ab'.repeat(32) },
    prev_event: { fingerprint: { algorithm_id: 3, algorithm: 'SHA-256', value: 'cd'.repeat(32) } },
  });
  const record: AuditRecord = {
    id: 41,
    ts: '2026-06-01T12:00:00.000Z',
    sessionId: 's',
    clientName: null,
    clientVersion: null,
    server: 'fs',
    tool: 'read',
    requestId: null,
    arguments: null,
    decision: 'allow',
    reason: null,
    outcome: null,
    error: null,
    durationMs: null,
    policyVersion: null,
  };
  const event = toOcsfApiActivity({ ...record, ...chain }, context);
  assert.deepEqual((event.unmapped as { attestation: unknown }).attestation, ocsfChainFields(chain));
  assert.deepEqual(schema.validate(event, API_ACTIVITY), []);
});
