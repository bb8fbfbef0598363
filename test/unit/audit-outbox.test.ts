import { test } from 'node:test';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AuditLog, type AuditCallStart } from '../../main/core/audit/audit-log.ts';
import type { ForwardedCall } from '../../main/core/audit/outbox-records.ts';
import { checkpointRecordId } from '../../main/core/audit/outbox-records.ts';

function tempFile(t: { after: (fn: () => void) => void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'warden-outbox-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return path.join(dir, 'audit.db');
}

function call(overrides: Partial<AuditCallStart> = {}): AuditCallStart {
  return {
    startedAt: Date.parse('2026-06-01T12:00:00.123Z'),
    sessionId: 'session-1',
    clientName: 'test-client',
    clientVersion: '1.2.3',
    server: 'everything',
    tool: 'echo',
    requestId: 7,
    arguments: { message: 'hello', password: 'hunter2' },
    decision: 'allow',
    reason: 'config',
    protocolVersion: '2025-11-25',
    ...overrides,
  };
}

/** Every outbox row of `file`, as another connection sees it (i.e. committed). */
function outboxRows(file: string): { destination: string; kind: string; record_id: string; body: string }[] {
  const db = new Database(file, { readonly: true });
  try {
    return db.prepare('SELECT destination, kind, record_id, body FROM outbox ORDER BY seq').all() as {
      destination: string;
      kind: string;
      record_id: string;
      body: string;
    }[];
  } finally {
    db.close();
  }
}

test('without destinations nothing is queued', async (t) => {
  const file = tempFile(t);
  const log = AuditLog.open(file);
  t.after(() => log.close());
  log.outbox.setDestinations([]);
  const id = await log.queueCall(call());
  await log.queueOutcome(id, { outcome: 'ok', durationMs: 3 });
  await log.queueRefusal(call(), 'refused');
  assert.deepEqual(outboxRows(file), []);
});

test('a call gets one record per destination when its outcome is committed, built from the row as stored', async (t) => {
  const file = tempFile(t);
  const log = AuditLog.open(file);
  t.after(() => log.close());
  log.outbox.setDestinations(['siem', 'collector']);
  const id = await log.queueCall(call());
  assert.deepEqual(outboxRows(file), [], 'a call in flight has no record yet');
  await log.queueOutcome(id, { outcome: 'tool_error', error: 'boom', durationMs: 4.5 });
  const rows = outboxRows(file);
  assert.deepEqual(
    rows.map((r) => [r.destination, r.kind, r.record_id]),
    [
      ['siem', 'call', `${log.outbox.logId}-${id}`],
      ['collector', 'call', `${log.outbox.logId}-${id}`],
    ],
  );
  const record = JSON.parse(rows[0]!.body) as ForwardedCall;
  assert.equal(record.rowId, id);
  assert.equal(record.outcome, 'tool_error');
  assert.equal(record.error, 'boom');
  assert.equal(record.protocolVersion, '2025-11-25');
  assert.equal(record.ts, '2026-06-01T12:00:00.123Z');
  assert.doesNotMatch(record.arguments ?? '', /hunter2/, 'arguments are forwarded as stored: redacted');
  assert.match(log.outbox.logId, /^[0-9a-f]{32}$/);
});

test('a refusal is complete when written: its record comes with the row, in one transaction', (t) => {
  const file = tempFile(t);
  const log = AuditLog.open(file);
  t.after(() => log.close());
  log.outbox.setDestinations(['siem']);
  const id = log.recordRefusal(call({ decision: 'deny' }), 'not allowed');
  const rows = outboxRows(file);
  assert.equal(rows.length, 1);
  assert.equal((JSON.parse(rows[0]!.body) as ForwardedCall).rowId, id);
  assert.equal((JSON.parse(rows[0]!.body) as ForwardedCall).outcome, 'refused');
});

test('a batch that fails rolls back its rows and their records together', async (t) => {
  const file = tempFile(t);
  const log = AuditLog.open(file);
  t.after(() => log.close());
  log.outbox.setDestinations(['siem']);
  const ids = [await log.queueCall(call()), await log.queueCall(call()), await log.queueCall(call())];
  // Stands in for a failing disk: the third outcome aborts its transaction.
  const db = new Database(file);
  db.exec(
    `CREATE TRIGGER fail_outcome AFTER UPDATE ON tool_calls WHEN NEW.error = 'abort' BEGIN SELECT RAISE(ABORT, 'disk full'); END`,
  );
  db.close();
  await new Promise((resolve) => setImmediate(resolve)); // the queueCalls' window is closed
  // The first write of a turn commits alone; the next two share one transaction.
  const settled = await Promise.allSettled([
    log.queueOutcome(ids[0]!, { outcome: 'ok', durationMs: 1 }),
    log.queueOutcome(ids[1]!, { outcome: 'ok', durationMs: 1 }),
    log.queueOutcome(ids[2]!, { outcome: 'error', error: 'abort', durationMs: 1 }),
  ]);
  assert.deepEqual(
    settled.map((s) => s.status),
    ['fulfilled', 'rejected', 'rejected'],
  );
  assert.deepEqual(
    outboxRows(file).map((r) => (JSON.parse(r.body) as ForwardedCall).rowId),
    [ids[0]],
    'only the committed outcome has a record',
  );
  const reader = new Database(file, { readonly: true });
  t.after(() => reader.close());
  const outcomes = reader.prepare('SELECT outcome FROM tool_calls ORDER BY id').all() as {
    outcome: string | null;
  }[];
  assert.deepEqual(
    outcomes.map((r) => r.outcome),
    ['ok', null, null],
  );
});

test('rows a killed daemon left without an outcome are queued once, at the next start', async (t) => {
  const file = tempFile(t);
  const first = AuditLog.open(file);
  first.outbox.setDestinations(['siem']);
  const inFlight = await first.queueCall(call());
  const done = await first.queueCall(call({ requestId: 9 }));
  await first.queueOutcome(done, { outcome: 'ok', durationMs: 1 });
  first.close(); // as a kill -9 would leave it: `inFlight` has no outcome

  const second = AuditLog.open(file);
  second.outbox.setDestinations(['siem']);
  second.outbox.setDestinations(['siem', 'collector']); // a reload: not queued again
  second.close();
  const third = AuditLog.open(file);
  third.outbox.setDestinations(['siem']);
  third.close();

  // The calls' records (each close also forwards the checkpoint it writes: see the test below).
  const records = outboxRows(file)
    .filter((r) => r.kind === 'call')
    .map((r) => [
      r.destination,
      (JSON.parse(r.body) as ForwardedCall).rowId,
      (JSON.parse(r.body) as ForwardedCall).outcome,
    ]);
  assert.deepEqual(records, [
    ['siem', done, 'ok'],
    ['siem', inFlight, null],
  ]);
});

test('enqueue is the entry point for checkpoints: one record per destination with the given id', (t) => {
  const file = tempFile(t);
  const log = AuditLog.open(file);
  t.after(() => log.close());
  log.outbox.setDestinations(['siem', 'collector']);
  const recordId = checkpointRecordId(log.outbox.logId, 10);
  log.outbox.enqueue('checkpoint', {
    recordId,
    origin: 'mcp-warden/local/device',
    treeSize: 10,
    rootHash: 'AAAA',
    note: 'mcp-warden/local/device\n10\nAAAA\n\n— key sig\n',
    ts: '2026-06-01T12:00:00.000Z',
  });
  assert.deepEqual(
    outboxRows(file).map((r) => [r.destination, r.kind, r.record_id]),
    [
      ['siem', 'checkpoint', recordId],
      ['collector', 'checkpoint', recordId],
    ],
  );
});

test('senders take the oldest first, delete what was delivered, and the status counts both', (t) => {
  const file = tempFile(t);
  const log = AuditLog.open(file);
  t.after(() => log.close());
  log.outbox.setDestinations(['siem']);
  for (let i = 0; i < 5; i++) log.recordRefusal(call({ requestId: i }), 'no');
  const batch = log.outbox.take('siem', 3);
  assert.deepEqual(
    batch.map((item) => (item.record as ForwardedCall).requestId),
    ['0', '1', '2'],
  );
  log.outbox.failed('siem', 'connection refused', 1000);
  log.outbox.delivered(
    'siem',
    batch.map((item) => item.seq),
    2000,
  );
  const [status] = log.outbox.status();
  assert.equal(status?.depth, 2);
  assert.equal(status?.delivered, 3);
  assert.equal(status?.lastSuccessMs, 2000);
  assert.equal(status?.lastError, 'connection refused');
  assert.equal(status?.failures, 0, 'a success resets the failures in a row');
  assert.equal(log.outbox.take('siem', 10).length, 2);
});

test('each signed-tree-head checkpoint the log writes goes to every destination, in its transaction', async (t) => {
  const file = tempFile(t);
  const log = AuditLog.open(file, { chain: { everyRows: 2 } });
  log.outbox.setDestinations(['siem']);
  for (let i = 0; i < 4; i++) {
    const id = await log.queueCall(call({ requestId: i }));
    await log.queueOutcome(id, { outcome: 'ok', durationMs: 1 });
  }
  log.useCheckpointKey({ missing: 'no keychain in this test' });
  log.close();
  const db = new Database(file, { readonly: true });
  t.after(() => db.close());
  const written = db.prepare('SELECT tree_size, note FROM audit_checkpoints ORDER BY tree_size').all() as {
    tree_size: number;
    note: string;
  }[];
  assert.ok(written.length >= 1, 'the log wrote checkpoints');
  const forwarded = outboxRows(file)
    .filter((row) => row.kind === 'checkpoint')
    .map((row) => JSON.parse(row.body) as { recordId: string; treeSize: number; note: string });
  assert.deepEqual(
    forwarded.map((c) => [c.recordId, c.treeSize, c.note]),
    written.map((w) => [checkpointRecordId(log.outbox.logId, w.tree_size), w.tree_size, w.note]),
  );
});
