import type Database from 'better-sqlite3';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { CHECKPOINTER_STATE, type CheckpointerData } from './wal-checkpoint-state.ts';

/** Options of {@link WalCheckpointer.start}. */
export interface WalCheckpointerOptions {
  /** ms between checkpoints (default 250). */
  intervalMs?: number;
  /** WAL size in bytes past which a RESTART checkpoint bounds it (default 64 MiB). */
  restartBytes?: number;
}

/** How long stop() waits for the worker to close its connection, ms. */
const STOP_WAIT_MS = 2000;

// The worker is this module's sibling, as .ts from the sources or .js from a build.
const WORKER_URL = new URL(
  `./wal-checkpoint-worker${path.extname(fileURLToPath(import.meta.url))}`,
  import.meta.url,
);

/**
 * Checkpoints a WAL database off the event loop (SQLite WAL, "Checkpointing"): the writer runs
 * with `wal_autocheckpoint = 0`, and a worker thread with its own connection copies the WAL
 * into the database on a timer (wal-checkpoint-worker.ts says how it bounds the WAL). So no
 * write of the writer pays for a checkpoint. When the worker cannot run, the checkpoints run
 * on a timer of the writer's own connection instead (PASSIVE: short, but on the event loop).
 */
export class WalCheckpointer {
  readonly #db: Database.Database;
  readonly #state = new Int32Array(new SharedArrayBuffer(4));
  readonly #worker: Worker;
  #fallback: NodeJS.Timeout | undefined;
  #stopped = false;

  private constructor(file: string, db: Database.Database, options: WalCheckpointerOptions) {
    this.#db = db;
    const intervalMs = options.intervalMs ?? 250;
    db.pragma('wal_autocheckpoint = 0');
    const data: CheckpointerData = {
      file,
      state: this.#state.buffer,
      intervalMs,
      restartBytes: options.restartBytes ?? 64 * 1024 * 1024,
    };
    this.#worker = new Worker(WORKER_URL, { workerData: data });
    this.#worker.unref();
    this.#worker.on('error', () => this.#runHere(intervalMs));
    this.#worker.on('exit', () => this.#runHere(intervalMs));
  }

  /**
   * Turns off the writer's automatic checkpoints and starts the worker.
   * @param file the database file (absolute), already in WAL mode.
   * @param db the writer's connection (its own checkpoints are turned off).
   */
  static start(file: string, db: Database.Database, options: WalCheckpointerOptions = {}): WalCheckpointer {
    return new WalCheckpointer(file, db, options);
  }

  /**
   * Stops checkpointing: the worker closes its connection (stop waits for that, up to 2 s, so
   * the writer's final checkpoint at close finds no other connection). Idempotent.
   */
  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    if (this.#fallback) clearInterval(this.#fallback);
    const was = Atomics.compareExchange(
      this.#state,
      0,
      CHECKPOINTER_STATE.booting,
      CHECKPOINTER_STATE.cancelled,
    );
    if (was === CHECKPOINTER_STATE.open) {
      this.#worker.postMessage('stop');
      Atomics.wait(this.#state, 0, CHECKPOINTER_STATE.open, STOP_WAIT_MS);
    }
    void this.#worker.terminate();
  }

  /** The worker failed or ended on its own: checkpoint on this thread from now on. */
  #runHere(intervalMs: number): void {
    if (this.#stopped || this.#fallback) return;
    this.#fallback = setInterval(() => {
      try {
        if (this.#db.open) this.#db.pragma('wal_checkpoint(PASSIVE)');
      } catch {
        // Tried again next interval; the WAL keeps every committed row meanwhile.
      }
    }, intervalMs);
    this.#fallback.unref();
  }
}
