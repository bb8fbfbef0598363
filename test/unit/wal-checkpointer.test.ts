/**
 * The audit log's checkpointer runs its worker thread only while there is something to
 * checkpoint: started by a write (or a WAL found at start), ended after `idleExitMs` with
 * nothing written and the WAL empty, started again by the next write; never ended while
 * writes go on. Real SQLite files, the real worker.
 */
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { WalCheckpointer } from '../../main/core/audit/wal-checkpointer.ts';
import { waitFor } from '../helpers/warden-env.ts';

function walDb(t: { after: (fn: () => void) => void }): { file: string; db: Database.Database } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'warden-wal-'));
  const file = path.join(dir, 'audit.db');
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  t.after(() => {
    if (db.open) db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return { file, db };
}

const walBytes = (file: string) => (fs.existsSync(`${file}-wal`) ? fs.statSync(`${file}-wal`).size : 0);

test('the worker starts on a write, empties the WAL, ends when idle and starts again on the next write', async (t) => {
  const { file, db } = walDb(t);
  db.exec('CREATE TABLE rows (n INTEGER)');
  assert.ok(walBytes(file) > 0);
  const checkpointer = WalCheckpointer.start(file, db, { intervalMs: 20, idleExitMs: 150 });
  t.after(() => checkpointer.stop());
  // The small WAL found at start (the CREATE TABLE) is emptied at once, without a worker.
  assert.equal(walBytes(file), 0);
  assert.equal(checkpointer.running, false);

  const insert = db.prepare('INSERT INTO rows VALUES (?)');
  insert.run(1);
  checkpointer.wrote();
  assert.equal(checkpointer.running, true);
  await waitFor(() => !checkpointer.running && walBytes(file) === 0, 10_000, 'the second worker to end');
  const reader = new Database(file, { readonly: true });
  assert.equal((reader.prepare('SELECT count(*) AS n FROM rows').get() as { n: number }).n, 1);
  reader.close();
});

test('a WAL over 1 MiB found at start is checkpointed by a worker, which then ends', async (t) => {
  const { file, db } = walDb(t);
  db.pragma('wal_autocheckpoint = 0');
  db.exec('CREATE TABLE blobs (b BLOB)');
  db.prepare('INSERT INTO blobs VALUES (?)').run(Buffer.alloc(2 * 1024 * 1024));
  assert.ok(walBytes(file) > 1024 * 1024);
  const checkpointer = WalCheckpointer.start(file, db, { intervalMs: 20, idleExitMs: 100 });
  t.after(() => checkpointer.stop());
  assert.equal(checkpointer.running, true);
  await waitFor(() => !checkpointer.running && walBytes(file) === 0, 10_000, 'the worker to end');
});

test('a worker does not end while writes go on', async (t) => {
  const { file, db } = walDb(t);
  db.exec('CREATE TABLE rows (n INTEGER)');
  const checkpointer = WalCheckpointer.start(file, db, { intervalMs: 20, idleExitMs: 100 });
  t.after(() => checkpointer.stop());
  const insert = db.prepare('INSERT INTO rows VALUES (?)');
  const until = Date.now() + 600;
  for (let n = 0; Date.now() < until; n++) {
    insert.run(n);
    checkpointer.wrote();
    assert.equal(checkpointer.running, true, `no worker after write ${n}`);
    await new Promise((resolve) => setImmediate(resolve));
  }
  await waitFor(() => !checkpointer.running && walBytes(file) === 0, 10_000, 'the worker to end');
});

test('stop ends a running worker, and the writer can then truncate the WAL alone', (t) => {
  const { file, db } = walDb(t);
  db.exec('CREATE TABLE rows (n INTEGER)');
  const checkpointer = WalCheckpointer.start(file, db, { intervalMs: 20 });
  db.prepare('INSERT INTO rows VALUES (1)').run();
  checkpointer.wrote();
  checkpointer.stop();
  checkpointer.stop();
  assert.equal(checkpointer.running, false);
  const [row] = db.pragma('wal_checkpoint(TRUNCATE)') as { busy: number }[];
  assert.equal(row?.busy, 0);
  assert.equal(walBytes(file), 0);
});
