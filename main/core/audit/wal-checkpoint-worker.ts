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
 * A worker runs only while there is something to checkpoint: its owner starts one on a write
 * (or at open, for a WAL left by an earlier run), and after `idleExitMs` without a write, the
 * WAL empty, it closes its connection and ends, so an idle daemon holds no second isolate.
 *
 * The shared words (workerData.state, an Int32Array of two elements): the state word (index
 * STATE_WORD), which the main thread moves from BOOTING to CANCELLED to stop a worker that has
 * not opened yet; the worker moves it from BOOTING to OPEN before it opens its connection, to
 * CLOSED (with Atomics.notify) after closing it, on the message 'stop', or from OPEN to
 * RETIRING, then RETIRED (with Atomics.notify) once idle. The writes counter (index
 * WRITES_WORD), to which the owner adds one after each commit and then reads the state word:
 * a worker retires only when the counter did not move between its last tick and its move to
 * RETIRING (else it moves back to OPEN), so a write is seen either by a worker that stays or
 * by an owner that starts a new one.
 */
import Database from 'better-sqlite3';
import fs from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import {
  CHECKPOINTER_STATE,
  STATE_WORD,
  WRITES_WORD,
  type CheckpointerData,
} from './wal-checkpoint-state.ts';

interface CheckpointRow {
  busy: number;
  log: number;
  checkpointed: number;
}

const data = workerData as CheckpointerData;
const state = new Int32Array(data.state);

if (
  Atomics.compareExchange(state, STATE_WORD, CHECKPOINTER_STATE.booting, CHECKPOINTER_STATE.open) ===
  CHECKPOINTER_STATE.booting
) {
  run();
}

function run(): void {
  const db = new Database(data.file, { fileMustExist: true, timeout: 0 });
  db.pragma('wal_autocheckpoint = 0');
  let lastLog = -1;
  let lastWrites = Atomics.load(state, WRITES_WORD);
  /** Since when nothing was written and the WAL is empty (ms, Date.now), or undefined. */
  let idleSince: number | undefined;
  const checkpoint = (mode: 'PASSIVE' | 'RESTART' | 'TRUNCATE'): CheckpointRow => {
    return (
      (db.pragma(`wal_checkpoint(${mode})`) as CheckpointRow[])[0] ?? { busy: 1, log: -1, checkpointed: -1 }
    );
  };
  const tick = (): void => {
    const writes = Atomics.load(state, WRITES_WORD);
    try {
      const passive = checkpoint('PASSIVE');
      let walBytes = sizeOf(`${data.file}-wal`);
      const idle = passive.busy === 0 && passive.log === passive.checkpointed && passive.log === lastLog;
      if (idle && walBytes > 0) {
        checkpoint('TRUNCATE');
        walBytes = sizeOf(`${data.file}-wal`);
      } else if (!idle && walBytes > data.restartBytes) checkpoint('RESTART');
      lastLog = passive.log;
      const quiet = idle && walBytes === 0 && writes === lastWrites;
      idleSince = quiet ? (idleSince ?? Date.now()) : undefined;
    } catch {
      // A checkpoint that fails (file busy, disk full) is tried again next tick; the writer
      // keeps appending to the WAL, so nothing is lost.
      idleSince = undefined;
    }
    lastWrites = writes;
    if (idleSince !== undefined && Date.now() - idleSince >= data.idleExitMs) retire();
  };
  const timer = setInterval(tick, data.intervalMs);
  const close = (final: number): void => {
    clearInterval(timer);
    try {
      db.close();
    } finally {
      Atomics.store(state, STATE_WORD, final);
      Atomics.notify(state, STATE_WORD);
      parentPort?.close();
    }
  };
  const retire = (): void => {
    if (
      Atomics.compareExchange(state, STATE_WORD, CHECKPOINTER_STATE.open, CHECKPOINTER_STATE.retiring) !==
      CHECKPOINTER_STATE.open
    )
      return;
    if (Atomics.load(state, WRITES_WORD) !== lastWrites) {
      // A write since the last tick, whose owner may have seen OPEN: keep checkpointing.
      Atomics.store(state, STATE_WORD, CHECKPOINTER_STATE.open);
      idleSince = undefined;
      return;
    }
    close(CHECKPOINTER_STATE.retired);
  };
  parentPort?.on('message', (message: unknown) => {
    if (message !== 'stop') return;
    close(CHECKPOINTER_STATE.closed);
  });
}

function sizeOf(file: string): number {
  try {
    return fs.statSync(file).size;
  } catch {
    return 0;
  }
}
