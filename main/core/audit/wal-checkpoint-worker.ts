/**
 * The worker thread of WalCheckpointer (wal-checkpointer.ts): checkpoints the audit log's WAL
 * with a connection of its own, so the copying and fsyncing never run on the daemon's event
 * loop (SQLite WAL, https://sqlite.org/wal.html#checkpointing).
 *
 * Every `intervalMs`: a PASSIVE checkpoint (never waits for the writer or readers). When nothing
 * was written since the last tick and all of the WAL is in the database, a TRUNCATE checkpoint
 * empties the WAL file (it gives up at once when busy). Otherwise, when the WAL file has grown
 * past `restartBytes` (the writer never paused long enough for a PASSIVE checkpoint to
 * finish), a RESTART checkpoint, after which the writer starts the WAL over from its beginning
 * instead of growing it. Every checkpoint here runs with busy_timeout 0: one that would have
 * to wait for the writer or a reader does what it can at once and stops (a busy handler that
 * sleeps while this connection holds the write lock would stall the writer for its sleeps).
 * A RESTART that gets the write lock holds it while it copies the frames written since the
 * PASSIVE before it and syncs the database: a write in that moment waits for that, at most
 * once per `restartBytes` written without a pause. Only this thread ever
 * shrinks the file (the writer's journal_size_limit stays off): cutting a large file frees
 * its pages in the kernel, milliseconds of system time the event loop must not pay.
 *
 * The shared state word (workerData.state, an Int32Array of one element): the main thread
 * moves it from BOOTING to CANCELLED to stop a worker that has not opened yet; the worker moves
 * it from BOOTING to OPEN before it opens its connection and to CLOSED (with Atomics.notify)
 * after closing it, on the message 'stop'.
 */
import Database from 'better-sqlite3';
import fs from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { CHECKPOINTER_STATE, type CheckpointerData } from './wal-checkpoint-state.ts';

interface CheckpointRow {
  busy: number;
  log: number;
  checkpointed: number;
}

const data = workerData as CheckpointerData;
const state = new Int32Array(data.state);

if (
  Atomics.compareExchange(state, 0, CHECKPOINTER_STATE.booting, CHECKPOINTER_STATE.open) ===
  CHECKPOINTER_STATE.booting
) {
  run();
}

function run(): void {
  const db = new Database(data.file, { fileMustExist: true, timeout: 0 });
  db.pragma('wal_autocheckpoint = 0');
  let lastLog = -1;
  const checkpoint = (mode: 'PASSIVE' | 'RESTART' | 'TRUNCATE'): CheckpointRow => {
    return (
      (db.pragma(`wal_checkpoint(${mode})`) as CheckpointRow[])[0] ?? { busy: 1, log: -1, checkpointed: -1 }
    );
  };
  const tick = (): void => {
    try {
      const passive = checkpoint('PASSIVE');
      const walBytes = sizeOf(`${data.file}-wal`);
      const idle = passive.busy === 0 && passive.log === passive.checkpointed && passive.log === lastLog;
      if (idle && walBytes > 0) checkpoint('TRUNCATE');
      else if (!idle && walBytes > data.restartBytes) checkpoint('RESTART');
      lastLog = passive.log;
    } catch {
      // A checkpoint that fails (file busy, disk full) is tried again next tick; the writer
      // keeps appending to the WAL, so nothing is lost.
    }
  };
  const timer = setInterval(tick, data.intervalMs);
  parentPort?.on('message', (message: unknown) => {
    if (message !== 'stop') return;
    clearInterval(timer);
    try {
      db.close();
    } finally {
      Atomics.store(state, 0, CHECKPOINTER_STATE.closed);
      Atomics.notify(state, 0);
      parentPort?.close();
    }
  });
}

function sizeOf(file: string): number {
  try {
    return fs.statSync(file).size;
  } catch {
    return 0;
  }
}
