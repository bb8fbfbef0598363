import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { WardenError } from '../errors.ts';
import type { PruneResult } from './retention-prune.ts';

export type { PruneResult } from './retention-prune.ts';

// The worker is this module's sibling, as .ts from the sources or .js from a build.
const WORKER_URL = new URL(
  `./retention-worker${path.extname(fileURLToPath(import.meta.url))}`,
  import.meta.url,
);

/** Options of {@link AuditRetention}. */
export interface RetentionOptions {
  /** Days to keep, read at each run (config reloads apply): `audit.retentionDays`. */
  retentionDays: () => number;
  /** The clock, ms since the epoch (default Date.now; tests age rows with their own). */
  now?: () => number;
  /** ms between runs (default 1 hour); the first runs `firstRunMs` after start (default 1 minute). */
  everyMs?: number;
  firstRunMs?: number;
  /** Told of each run's result or failure (logging); must not throw. */
  onRun?: (result: PruneResult | Error) => void;
}

/**
 * Runs retention (retention-prune.ts) on the audit log `file` in a worker thread with its own
 * connection, on a timer, so neither the deleting nor the VACUUM runs on the event loop.
 */
export class AuditRetention {
  readonly #file: string;
  readonly #options: RetentionOptions;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<PruneResult> | undefined;
  #stopped = false;

  constructor(file: string, options: RetentionOptions) {
    this.#file = file;
    this.#options = options;
  }

  /** Starts the timer (unref'd: it keeps no process alive). */
  start(): this {
    const schedule = (ms: number): void => {
      this.#timer = setTimeout(() => {
        void this.run()
          .then(
            (result) => this.#options.onRun?.(result),
            (error: unknown) =>
              this.#options.onRun?.(error instanceof Error ? error : new Error(String(error))),
          )
          .finally(() => {
            if (!this.#stopped) schedule(this.#options.everyMs ?? 60 * 60_000);
          });
      }, ms);
      this.#timer.unref();
    };
    schedule(this.#options.firstRunMs ?? 60_000);
    return this;
  }

  /**
   * Prunes now, in a worker (one run at a time: a run asked for while one runs joins it).
   * @throws (rejects) WardenError AUDIT_FAILED naming the file when the pruning failed.
   */
  run(): Promise<PruneResult> {
    this.#running ??= this.#prune().finally(() => (this.#running = undefined));
    return this.#running;
  }

  /** Stops the timer; a run under way finishes (its transactions are short). */
  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
  }

  #prune(): Promise<PruneResult> {
    return new Promise((resolve, reject) => {
      const failed = (message: string): void =>
        reject(
          new WardenError('AUDIT_FAILED', `retention of the audit log at ${this.#file} failed: ${message}`),
        );
      let worker: Worker;
      try {
        worker = new Worker(WORKER_URL, {
          workerData: {
            file: this.#file,
            retentionDays: this.#options.retentionDays(),
            now: (this.#options.now ?? Date.now)(),
            busyTimeoutMs: 5000,
          },
        });
      } catch (error) {
        failed(error instanceof Error ? error.message : String(error));
        return;
      }
      worker.once('message', (message: PruneResult | { error: string }) => {
        if ('error' in message) failed(message.error);
        else resolve(message);
      });
      worker.once('error', (error: Error) => failed(error.message));
      worker.once('exit', (code) => failed(`the worker ended (${code}) without a result`));
    });
  }
}
