/**
 * The audit log off the critical path, on real SQLite files: migration 3 (no AUTOINCREMENT) of
 * a file the previous schema wrote, outcomes and refusals committed in one transaction per
 * event-loop turn and visible once their promise resolves, WAL checkpoints in a worker (none
 * inline), and failures (a locked database, a full disk) that fail closed and lose nothing
 * committed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { AuditLog, type AuditCallStart } from '../../main/core/audit/audit-log.ts';
import { AuditReader } from '../../main/core/audit/audit-reader.ts';
import { runUntilKilled } from '../helpers/killed-writer.ts';
import { applyMigrations, MIGRATIONS, SCHEMA_VERSION } from '../../main/core/audit/migrations.ts';
import { isWardenError } from '../../main/core/errors.ts';
import { waitFor } from '../helpers/warden-env.ts';

const AUDIT_LOG_TS = path.resolve(import.meta.dirname, '../../main/core/audit/audit-log.ts');
/** Checkpoints that never come during a test (the worker's timer is an hour). */
const NO_CHECKPOINTS = { checkpoints: { intervalMs: 3_600_000 } };

function tempDir(t: { after: (fn: () => void) => void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'warden-audit-batch-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function call(i: number, overrides: Partial<AuditCallStart> = {}): AuditCallStart {
  return {
    startedAt: Date.parse('2026-01-01T00:00:00Z') + i,
    sessionId: 'session-1',
    server: 'everything',
    tool: 'echo',
    requestId: i,
    arguments: { i },
    decision: 'allow',
    reason: 'config',
    ...overrides,
  };
}

function outcomeOf(db: Database.Database, id: number): string | null {
  return (db.prepare('SELECT outcome FROM tool_calls WHERE id = ?').get(id) as { outcome: string | null })
    .outcome;
}

/** Frames in the WAL file (its size, header and frame headers included; no checkpoint ran). */
function walFrames(file: string): number {
  const size = fs.existsSync(`${file}-wal`) ? fs.statSync(`${file}-wal`).size : 0;
  return size === 0 ? 0 : (size - 32) / (4096 + 24);
}

test('migration 3 rebuilds a file of the previous schema in place: no AUTOINCREMENT, every row and id kept', (t) => {
  const file = path.join(tempDir(t), 'audit.db');
  // A file as the previous Warden left it: migrations 1 and 2, rows with a gap in their ids.
  const old = new Database(file);
  old.pragma('journal_mode = WAL');
  applyMigrations(old, MIGRATIONS.slice(0, 2));
  const insert = old.prepare(
    `INSERT INTO tool_calls (id, ts, ts_ms, session_id, server, tool, arguments, decision, outcome, duration_ms, policy_version)
     VALUES (?, '2026-01-01T00:00:00.000Z', 1767225600000, 's', 'srv', ?, ?, 'allow', 'ok', 1.5, ?)`,
  );
  for (const id of [1, 2, 3, 7, 8])
    insert.run(id, `t${id}`, JSON.stringify({ id }), id === 8 ? 'org acme v6' : null);
  const before = old.prepare('SELECT * FROM tool_calls ORDER BY id').all();
  assert.match(
    (old.prepare("SELECT sql FROM sqlite_master WHERE name = 'tool_calls'").get() as { sql: string }).sql,
    /AUTOINCREMENT/,
  );
  old.close();

  const log = AuditLog.open(file);
  const next = log.recordCall(call(9));
  log.close();

  const db = new Database(file, { readonly: true });
  t.after(() => db.close());
  assert.equal(db.pragma('user_version', { simple: true }), SCHEMA_VERSION);
  const sql = (db.prepare("SELECT sql FROM sqlite_master WHERE name = 'tool_calls'").get() as { sql: string })
    .sql;
  assert.doesNotMatch(sql, /AUTOINCREMENT/);
  // The columns the file had are kept as they were (later migrations add more, with their
  // defaults), and the chain migration then chains the rows already recorded, in id order (chain.ts).
  const columns = Object.keys(before[0] as object).join(', ');
  const kept = db
    .prepare(`SELECT ${columns}, chain_seq, chain_hash FROM tool_calls WHERE id < 9 ORDER BY id`)
    .all() as Record<string, unknown>[];
  assert.deepEqual(
    kept.map(({ chain_seq, chain_hash, ...row }) => {
      assert.ok(Buffer.isBuffer(chain_hash) && chain_hash.length === 32);
      return { chain_seq, row };
    }),
    before.map((row, i) => ({ chain_seq: i + 1, row })),
  );
  assert.equal(next, 9, 'the next id follows the last one recorded');
  assert.deepEqual(
    db
      .prepare("SELECT name FROM sqlite_master WHERE tbl_name = 'tool_calls' AND type = 'index'")
      .pluck()
      .all(),
    ['tool_calls_ts_ms'],
  );
  assert.equal(db.prepare("SELECT count(*) FROM sqlite_sequence WHERE name = 'tool_calls'").pluck().get(), 0);
});

test('a migration 3 that fails leaves the file at version 2 with every row (one transaction)', (t) => {
  const file = path.join(tempDir(t), 'audit.db');
  const old = new Database(file);
  applyMigrations(old, MIGRATIONS.slice(0, 2));
  old
    .prepare(
      `INSERT INTO tool_calls (ts, ts_ms, session_id, server, tool, decision) VALUES ('2026-01-01T00:00:00.000Z', 0, 's', 'srv', 'kept', 'allow')`,
    )
    .run();
  // Something in the way of the rebuild: the CREATE TABLE of the migration fails.
  old.exec('CREATE TABLE tool_calls_v3 (x)');
  old.close();

  assert.throws(
    () => AuditLog.open(file),
    (error) =>
      isWardenError(error, 'AUDIT_FAILED') &&
      error.message.includes(file) &&
      /tool_calls_v3/.test(error.message),
  );
  const db = new Database(file, { readonly: true });
  t.after(() => db.close());
  assert.equal(db.pragma('user_version', { simple: true }), 2);
  assert.deepEqual(db.prepare('SELECT tool FROM tool_calls').pluck().all(), ['kept']);
});

test('the first outcome of a turn commits at once, the rest of the turn in one transaction, visible once their promises resolve', async (t) => {
  const file = path.join(tempDir(t), 'audit.db');
  const log = AuditLog.open(file, NO_CHECKPOINTS);
  t.after(() => log.close());
  const other = new Database(file, { readonly: true });
  t.after(() => other.close());
  const ids = Array.from({ length: 100 }, (_, i) => log.recordCall(call(i)));

  const framesBefore = walFrames(file);
  const recorded: number[] = [];
  log.onRecord = (id) => recorded.push(id);
  const queued = ids.map((id) => log.queueOutcome(id, { outcome: 'ok', durationMs: 1 }));
  // The first committed by itself at once (it waits for nothing); the others not yet: their
  // transaction commits after this turn's I/O.
  assert.equal(outcomeOf(other, ids[0]!), 'ok');
  assert.deepEqual(
    ids.slice(1).map((id) => outcomeOf(other, id)),
    ids.slice(1).map(() => null),
  );
  await Promise.all(queued);
  assert.deepEqual(
    ids.map((id) => outcomeOf(other, id)),
    ids.map(() => 'ok'),
  );
  assert.deepEqual(recorded, ids, 'live views hear of each outcome after its commit');
  const batchFrames = walFrames(file) - framesBefore;

  // 100 outcomes one statement each, for comparison: at least a frame per commit. (Other calls:
  // an outcome is recorded once, then the row is final.)
  const others = Array.from({ length: 100 }, (_, i) => log.recordCall(call(100 + i)));
  const framesSync = walFrames(file);
  for (const id of others) log.recordOutcome(id, { outcome: 'tool_error', durationMs: 2 });
  const syncFrames = walFrames(file) - framesSync;
  assert.ok(syncFrames >= 100, `100 separate commits wrote ${syncFrames} frames`);
  // Two transactions write each page they touch once: the pages 100 rows take, which grow with
  // the row (the chain's leaf hash and position, the redaction columns, incremental vacuum's
  // pointer map: 5 frames with none of them, 11 with all), against a frame or more per commit.
  assert.ok(
    batchFrames * 8 <= syncFrames,
    `two transactions wrote ${batchFrames} frames, not at most an eighth of 100 commits' ${syncFrames}`,
  );
});

test('a queued refusal is committed with its outcome; an unknown id fails alone, not its batch', async (t) => {
  const file = path.join(tempDir(t), 'audit.db');
  const log = AuditLog.open(file);
  t.after(() => log.close());
  const id = log.recordCall(call(1));
  const [refusal, unknown, outcome] = await Promise.allSettled([
    log.queueRefusal(call(2, { tool: 'delete', reason: 'tool "delete" is denied' }), 'refused', 4.5),
    log.queueOutcome(99_999, { outcome: 'ok', durationMs: 1 }),
    log.queueOutcome(id, { outcome: 'ok', durationMs: 1 }),
  ]);
  assert.equal(refusal.status, 'fulfilled');
  assert.equal(outcome.status, 'fulfilled');
  assert.equal(unknown.status, 'rejected');
  assert.ok(isWardenError(unknown.reason, 'AUDIT_FAILED') && unknown.reason.message.includes('#99999'));
  const reader = AuditReader.open(file);
  t.after(() => reader.close());
  const rows = reader.latest(10);
  assert.deepEqual(
    rows.map((r) => [r.id, r.tool, r.decision, r.outcome, r.error, r.durationMs]),
    [
      [id, 'echo', 'allow', 'ok', null, 1],
      [refusal.value, 'delete', 'deny', 'refused', 'refused', 4.5],
    ],
  );
});

test('close commits what is queued; a write after close fails with AUDIT_FAILED', async (t) => {
  const file = path.join(tempDir(t), 'audit.db');
  const log = AuditLog.open(file);
  const id = log.recordCall(call(1));
  const queued = log.queueOutcome(id, { outcome: 'cancelled', durationMs: 3 });
  log.close();
  await queued;
  await assert.rejects(log.queueOutcome(id, { outcome: 'ok', durationMs: 1 }), (error) =>
    isWardenError(error, 'AUDIT_FAILED'),
  );
  assert.equal(fs.existsSync(`${file}-wal`), false, 'the final checkpoint emptied and removed the WAL');
  const db = new Database(file, { readonly: true });
  t.after(() => db.close());
  assert.equal(outcomeOf(db, id), 'cancelled');
});

test('a locked database fails closed: the INSERT throws and queued writes reject, nothing committed is lost', async (t) => {
  const file = path.join(tempDir(t), 'audit.db');
  const log = AuditLog.open(file, { busyTimeoutMs: 50 });
  t.after(() => log.close());
  const id = log.recordCall(call(1));
  await log.queueOutcome(id, { outcome: 'ok', durationMs: 1 });
  // A call in flight when the lock comes (an outcome is recorded once: then the row is final).
  const inFlight = log.recordCall(call(4));

  const locker = new Database(file, { timeout: 0 });
  t.after(() => locker.close());
  locker.exec('BEGIN IMMEDIATE');
  assert.throws(
    () => log.recordCall(call(2)),
    (error) =>
      isWardenError(error, 'AUDIT_FAILED') && /locked/.test(error.message) && error.message.includes(file),
  );
  const [outcome, refusal] = await Promise.allSettled([
    log.queueOutcome(inFlight, { outcome: 'error', durationMs: 2 }),
    log.queueRefusal(call(3), 'refused'),
  ]);
  for (const result of [outcome, refusal]) {
    assert.equal(result.status, 'rejected');
    assert.ok(isWardenError(result.reason, 'AUDIT_FAILED') && /locked/.test(String(result.reason.message)));
  }
  locker.exec('ROLLBACK');

  const reader = AuditReader.open(file);
  t.after(() => reader.close());
  assert.deepEqual(
    reader.latest(10).map((r) => [r.id, r.outcome]),
    [
      [id, 'ok'],
      [inFlight, null],
    ],
  );
  // Once the lock is gone, writes go on.
  await log.queueOutcome(inFlight, { outcome: 'tool_error', durationMs: 2 });
  assert.equal(reader.latest(1)[0]?.outcome, 'tool_error');
});

test(
  'a full disk fails closed with AUDIT_FAILED and keeps every row committed before',
  { skip: !canMountTmpfs() },
  async (t) => {
    const dir = path.join(tempDir(t), 'small');
    fs.mkdirSync(dir);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=512k', 'tmpfs', dir]);
    try {
      const file = path.join(dir, 'audit.db');
      const log = AuditLog.open(file, NO_CHECKPOINTS);
      const big = 'x'.repeat(8000);
      const committed: number[] = [];
      let failure: unknown;
      for (let i = 0; i < 1000 && failure === undefined; i++) {
        try {
          committed.push(log.recordCall(call(i, { arguments: { big } })));
        } catch (error) {
          failure = error;
        }
      }
      assert.ok(
        isWardenError(failure, 'AUDIT_FAILED') &&
          /full/.test(failure.message) &&
          failure.message.includes(file),
        String(failure),
      );
      assert.ok(committed.length > 0);
      await assert.rejects(log.queueRefusal(call(2000, { arguments: { big } }), 'refused'), (error) =>
        isWardenError(error, 'AUDIT_FAILED'),
      );
      log.close();
      const reader = AuditReader.open(file);
      try {
        assert.deepEqual(
          reader.latest(10_000).map((r) => r.id),
          committed,
        );
      } finally {
        reader.close();
      }
    } finally {
      execFileSync('umount', [dir]);
    }
  },
);

test('the writer never checkpoints inline; the worker empties the WAL once writes pause, and at close', async (t) => {
  const file = path.join(tempDir(t), 'audit.db');
  // Worker off for the first part: the WAL grows past SQLite's 1000-page auto-checkpoint.
  const log = AuditLog.open(file, NO_CHECKPOINTS);
  const big = 'x'.repeat(3000);
  for (let i = 0; i < 1500; i++) log.recordCall(call(i, { arguments: { big } }));
  assert.ok(walFrames(file) > 1500, `the WAL holds ${walFrames(file)} frames: no inline checkpoint`);
  log.close();
  assert.equal(fs.existsSync(`${file}-wal`), false);

  const live = AuditLog.open(file, { checkpoints: { intervalMs: 20 } });
  t.after(() => live.close());
  for (let i = 0; i < 500; i++) live.recordCall(call(i, { arguments: { big } }));
  assert.ok(walFrames(file) > 0);
  await waitFor(() => walFrames(file) === 0, 10_000, 'the worker to checkpoint and truncate the WAL');
  const db = new Database(file, { readonly: true });
  t.after(() => db.close());
  assert.equal(db.prepare('SELECT count(*) FROM tool_calls').pluck().get(), 2000);
});

test('kill -9 during bursts of queued outcomes: every outcome whose promise resolved is in the log', async (t) => {
  const file = path.join(tempDir(t), 'audit.db');
  // Bursts of 20 calls per turn: each recorded at once, its outcome queued; "done" once committed.
  const script = `
    import { AuditLog } from ${JSON.stringify(pathToFileURL(AUDIT_LOG_TS).href)};
    const log = AuditLog.open(${JSON.stringify(file)}, { checkpoints: { intervalMs: 5 } });
    let i = 0;
    const burst = () => {
      for (let k = 0; k < 20; k++) {
        i++;
        const id = log.recordCall({ startedAt: Date.now(), sessionId: 'kill', server: 's', tool: 't' + i, decision: 'allow', arguments: { i, pad: 'p'.repeat(500) } });
        process.stdout.write('call ' + id + ' ' + i + '\\n');
        log.queueOutcome(id, { outcome: 'ok', durationMs: 0.5 }).then(() => process.stdout.write('done ' + id + '\\n'));
      }
      setImmediate(burst);
    };
    burst();
  `;
  const { calls, done } = await runUntilKilled(script, (out) => out.done.size >= 3000);
  assert.ok(done.size >= 3000);

  const reader = AuditReader.open(file);
  t.after(() => reader.close());
  const stored = new Map(reader.latest(10_000_000).map((r) => [r.id, r]));
  for (const [id, i] of calls) {
    const record = stored.get(id);
    assert.ok(record, `call #${id} was printed but is not in the log`);
    assert.equal(record.tool, `t${i}`);
  }
  const lost = [...done].filter((id) => stored.get(id)?.outcome !== 'ok');
  assert.deepEqual(lost, [], 'committed outcomes missing after the kill');
});

/** Whether this process may mount a small tmpfs (root on Linux). */
function canMountTmpfs(): boolean {
  if (process.platform !== 'linux' || process.getuid?.() !== 0) return false;
  const probe = fs.mkdtempSync(path.join(os.tmpdir(), 'warden-tmpfs-probe-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', probe], { stdio: 'ignore' });
    execFileSync('umount', [probe], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  } finally {
    fs.rmSync(probe, { recursive: true, force: true });
  }
}
