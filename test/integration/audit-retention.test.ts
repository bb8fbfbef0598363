/**
 * Retention on a real audit log: with retentionDays 1 and rows aged by the test's clock, the
 * whole checkpointed ranges older than a day are removed (in a worker thread, while the writer
 * stays open), the file shrinks, and `audit verify` still passes from the kept boundary.
 */
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { AuditLog, type AuditCallStart } from '../../main/core/audit/audit-log.ts';
import { DAY_MS } from '../../main/core/audit/retention-prune.ts';
import { AuditRetention } from '../../main/core/audit/retention.ts';
import { formatVerifierKey, signerFromSeed, verifierOf } from '../../main/core/audit/signed-note.ts';
import { verifyAuditLog } from '../../main/core/audit/verify.ts';
import { sqlite3Missing } from '../helpers/requirements.ts';
import { runProcess } from '../helpers/run.ts';
import { CLI } from '../helpers/warden-env.ts';

const START = Date.parse('2026-03-01T00:00:00Z');

function call(i: number, at: number): AuditCallStart {
  return {
    startedAt: at,
    sessionId: 'session-1',
    server: 'everything',
    tool: 'echo',
    requestId: i,
    // Rows of a realistic size, so that removing most of them shows in the file's size.
    arguments: { message: `call ${i} `.repeat(20) },
    decision: 'allow',
    reason: 'config',
  };
}

async function writeCalls(log: AuditLog, from: number, count: number, at: number): Promise<void> {
  for (let i = from; i < from + count; i += 100) {
    const ids = await Promise.all(Array.from({ length: 100 }, (_, k) => log.queueCall(call(i + k, at))));
    await Promise.all(ids.map((id) => log.queueOutcome(id, { outcome: 'ok', durationMs: 2 })));
  }
}

test('retention with retentionDays 1 removes the aged checkpointed ranges, shrinks the file, and verify still passes', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'warden-retention-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'audit.db');
  let now = START;
  const seed = randomBytes(32);
  const open = (): AuditLog => {
    const log = AuditLog.open(file, { chain: { everyRows: 500, now: () => now } });
    log.useCheckpointKey({ seed });
    return log;
  };

  // 5000 calls on day 0, then 1000 on day 2.
  let log = open();
  await writeCalls(log, 0, 5000, now);
  now = START + 2 * DAY_MS;
  await writeCalls(log, 5000, 1000, now);
  log.close();
  const sizeBefore = fs.statSync(file).size;
  const publicKey = signerFromSeed('k', seed).publicKey;
  assert.equal(verifyAuditLog(file, { publicKey }).ok, true);

  // Retention runs in its worker while the writer is open and writing.
  log = open();
  const retention = new AuditRetention(file, { retentionDays: () => 1, now: () => now });
  const [result] = await Promise.all([retention.run(), writeCalls(log, 6000, 500, now)]);
  assert.equal(result.prunedThrough, 5000, 'the cut is the last checkpoint of day 0');
  assert.equal(result.deletedRows, 5000);
  assert.ok(result.freedPages > 0);
  assert.deepEqual(
    await retention.run(),
    { prunedThrough: 5000, deletedRows: 0, freedPages: 0, rebuilt: false },
    'a second run has nothing to remove',
  );
  await writeCalls(log, 6500, 100, now);
  log.close();

  const db = new Database(file, { readonly: true });
  const rows = db.prepare('SELECT count(*) AS n, min(ts_ms) AS oldest FROM tool_calls').get() as {
    n: number;
    oldest: number;
  };
  db.close();
  assert.equal(rows.n, 1600);
  assert.equal(rows.oldest, START + 2 * DAY_MS, 'no row of day 0 is left');
  const sizeAfter = fs.statSync(file).size;
  assert.ok(sizeAfter < sizeBefore / 2, `the file shrank from ${sizeBefore} to ${sizeAfter} bytes`);

  const report = verifyAuditLog(file, { publicKey });
  assert.deepEqual(report.problems, []);
  assert.equal(report.prunedThrough, 5000);
  assert.equal(report.verifiedThrough, 6600);
  assert.equal(report.checkpoints.valid, report.checkpoints.total);

  // The command says the same, checking the signatures with the device's verifier key.
  const meta = new Database(file, { readonly: true });
  const deviceId = meta
    .prepare("SELECT value FROM audit_chain WHERE key = 'device_id'")
    .pluck()
    .get() as string;
  meta.close();
  const vkey = formatVerifierKey(verifierOf({ publicKey }, `mcp-warden/local/${deviceId}`));
  const cli = await runProcess(CLI, ['audit', '--db', file, 'verify', '--key', vkey]);
  assert.equal(cli.code, 0, cli.stdout + cli.stderr);
  assert.match(
    cli.stdout,
    /^\d+\/\d+ checkpoints valid, rows 5001\.\.6600 verified\nrows 1\.\.5000 were removed by retention\n/,
  );

  // Rows removed past the boundary are still a gap, and a missing boundary is named.
  if (!sqlite3Missing()) {
    const tampered = path.join(dir, 'tampered.db');
    fs.copyFileSync(file, tampered);
    execFileSync('sqlite3', [tampered, 'DELETE FROM audit_checkpoints WHERE tree_size = 5000']);
    const broken = verifyAuditLog(tampered, { publicKey });
    assert.deepEqual(
      broken.problems.map((p) => p.kind),
      ['boundary-missing'],
    );
  }
});

test('retention keeps everything younger than retentionDays, and the newest row always', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'warden-retention-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'audit.db');
  let now = START;
  const log = AuditLog.open(file, { chain: { everyRows: 100, now: () => now } });
  log.useCheckpointKey({ seed: randomBytes(32) });
  await writeCalls(log, 0, 300, now);
  log.close();
  // Every checkpoint is old, but the last one covers the newest row: the cut stays below it.
  now = START + 30 * DAY_MS;
  const retention = new AuditRetention(file, { retentionDays: () => 90, now: () => now });
  assert.equal((await retention.run()).deletedRows, 0, 'nothing is older than 90 days');
  const short = new AuditRetention(file, { retentionDays: () => 1, now: () => now });
  const result = await short.run();
  assert.equal(result.prunedThrough, 200);
  const db = new Database(file, { readonly: true });
  t.after(() => db.close());
  assert.equal(db.prepare('SELECT count(*) FROM tool_calls').pluck().get(), 100);
  assert.equal(db.prepare('SELECT max(id) FROM tool_calls').pluck().get(), 300, 'the newest row is kept');
});
