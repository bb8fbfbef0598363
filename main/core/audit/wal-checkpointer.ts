import type Database from 'better-sqlite3';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import {
  CHECKPOINTER_STATE,
  STATE_WORD,
  WRITES_WORD,
  type CheckpointerData,
} from './wal-checkpoint-state.ts';

/** Options of {@link WalCheckpointer.start}. */
export interface WalCheckpointerOptions {
  /** ms between checkpoints (default 250). */
  intervalMs?: number;
  /** WAL size in bytes past which a RESTART checkpoint bounds it (default 64 MiB). */
  restartBytes?: number;
  /** ms without a write, the WAL empty, after which the worker ends until the next write (default 10 s). */
  idleExitMs?: number;
}

/** Largest WAL found at start that is checkpointed on this thread, bytes (1 MiB). */
const START_INLINE_BYTES = 1024 * 1024;

/** How long stop() waits for the worker to close its connection, ms. */
const STOP_WAIT_MS = 2000;

// The worker is this module's sibling, as .ts from the sources or .js from a build.
const WORKER_URL = new URL(
  `./wal-checkpoint-worker${path.extname(fileURLToPath(import.meta.url))}`,
  import.meta.url,
);

/** One worker and the words it shares with this thread (wal-checkpoint-state.ts). */
interface Running {
  worker: Worker;
  shared: Int32Array;
}

/**
 * Checkpoints a WAL database off the event loop (SQLite WAL, "Checkpointing"): the writer runs
 * with `wal_autocheckpoint = 0`, and a worker thread with its own connection copies the WAL
 * into the database on a timer (wal-checkpoint-worker.ts says how it bounds the WAL). So no
 * write of the writer pays for a checkpoint. The worker runs only while there is something to
 * checkpoint: the writer calls {@link wrote} after each commit, which starts one when none
 * runs, and a worker idle for `idleExitMs` (nothing written, the WAL empty) ends, so an idle
 * daemon holds no second V8 isolate (14 MiB resident). When a worker fails, the checkpoints
 * run on a timer of the writer's own connection instead (PASSIVE: short, but on the event loop).
 */
export class WalCheckpointer {
  readonly #file: string;
  readonly #db: Database.Database;
  readonly #intervalMs: number;
  readonly #restartBytes: number;
  readonly #idleExitMs: number;
  /** Workers not yet ended: the newest one is `#current`; one retiring may still close. */
  readonly #workers = new Set<Running>();
  #current: Running | undefined;
  #fallback: NodeJS.Timeout | undefined;
  #stopped = false;

  private constructor(file: string, db: Database.Database, options: WalCheckpointerOptions) {
    this.#file = file;
    this.#db = db;
    this.#intervalMs = options.intervalMs ?? 250;
    this.#restartBytes = options.restartBytes ?? 64 * 1024 * 1024;
    this.#idleExitMs = options.idleExitMs ?? 10_000;
    db.pragma('wal_autocheckpoint = 0');
    // A WAL an earlier run (or the migrations just now) left: a small one is emptied here, at
    // start, before any request is served (no worker for a few pages); a large one, or one a
    // reader holds, by a worker.
    const left = walBytes(file);
    if (left > 0 && !(left <= START_INLINE_BYTES && truncated(db))) this.#spawn();
  }

  /**
   * Turns off the writer's automatic checkpoints; empties a WAL of up to 1 MiB left from
   * before (on this thread, once), or starts a worker for a larger one.
   * @param file the database file (absolute), already in WAL mode.
   * @param db the writer's connection (its own checkpoints are turned off).
   */
  static start(file: string, db: Database.Database, options: WalCheckpointerOptions = {}): WalCheckpointer {
    return new WalCheckpointer(file, db, options);
  }

  /** Whether a worker thread runs now (tests). */
  get running(): boolean {
    return this.#workers.size > 0;
  }

  /**
   * Tells the checkpointer the writer committed: starts a worker when none runs (or the one
   * running is retiring). Cheap: an atomic add and a load when a worker runs. Never throws.
   */
  wrote(): void {
    if (this.#stopped || this.#fallback) return;
    const current = this.#current;
    if (current) {
      Atomics.add(current.shared, WRITES_WORD, 1);
      const state = Atomics.load(current.shared, STATE_WORD);
      if (state !== CHECKPOINTER_STATE.retiring && state !== CHECKPOINTER_STATE.retired) return;
    }
    this.#spawn();
  }

  /**
   * Stops checkpointing: each worker closes its connection (stop waits for that, up to 2 s, so
   * the writer's final checkpoint at close finds no other connection). Idempotent.
   */
  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    if (this.#fallback) clearInterval(this.#fallback);
    const deadline = Date.now() + STOP_WAIT_MS;
    for (const { worker, shared } of this.#workers) {
      const was = Atomics.compareExchange(
        shared,
        STATE_WORD,
        CHECKPOINTER_STATE.booting,
        CHECKPOINTER_STATE.cancelled,
      );
      if (was !== CHECKPOINTER_STATE.booting) {
        worker.postMessage('stop');
        for (;;) {
          const state = Atomics.load(shared, STATE_WORD);
          const left = deadline - Date.now();
          if ((state !== CHECKPOINTER_STATE.open && state !== CHECKPOINTER_STATE.retiring) || left <= 0)
            break;
          Atomics.wait(shared, STATE_WORD, state, left);
        }
      }
      void worker.terminate();
    }
    this.#workers.clear();
    this.#current = undefined;
  }

  #spawn(): void {
    const shared = new Int32Array(new SharedArrayBuffer(8));
    const data: CheckpointerData = {
      file: this.#file,
      state: shared.buffer,
      intervalMs: this.#intervalMs,
      restartBytes: this.#restartBytes,
      idleExitMs: this.#idleExitMs,
    };
    let worker: Worker;
    try {
      worker = new Worker(WORKER_URL, { workerData: data });
    } catch {
      // No thread to be had (resources): checkpoint here; the row just written is committed.
      this.#runHere();
      return;
    }
    const running: Running = { worker, shared };
    running.worker.unref();
    this.#workers.add(running);
    this.#current = running;
    running.worker.on('error', () => this.#runHere());
    running.worker.on('exit', () => {
      this.#workers.delete(running);
      if (this.#current === running) this.#current = undefined;
      // Ended after retiring: the next write starts another. Ended otherwise: it failed.
      if (Atomics.load(shared, STATE_WORD) !== CHECKPOINTER_STATE.retired) this.#runHere();
    });
  }

  /** A worker failed or ended on its own: checkpoint on this thread from now on. */
  #runHere(): void {
    if (this.#stopped || this.#fallback) return;
    this.#fallback = setInterval(() => {
      try {
        if (this.#db.open) this.#db.pragma('wal_checkpoint(PASSIVE)');
      } catch {
        // Tried again next interval; the WAL keeps every committed row meanwhile.
      }
    }, this.#intervalMs);
    this.#fallback.unref();
  }
}

/** A TRUNCATE checkpoint on `db`, true when it emptied the WAL (false: busy, or it failed). */
function truncated(db: Database.Database): boolean {
  try {
    const [row] = db.pragma('wal_checkpoint(TRUNCATE)') as { busy: number }[];
    return row?.busy === 0;
  } catch {
    return false;
  }
}

function walBytes(file: string): number {
  try {
    return fs.statSync(`${file}-wal`).size;
  } catch {
    return 0;
  }
}
