/** One queued write: runs inside the batch's transaction; its promise settles after the commit. */
interface QueuedWrite {
  run: () => unknown;
  /** It runs several statements that must commit together. */
  atomic: boolean;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

/**
 * Writes of one turn of the event loop committed together (group commit). The first write of a
 * turn commits at once, by itself, so a lone write (a single sequential call) waits for
 * nothing; it opens the turn's window, and the writes that come while the window is open are
 * committed together in one transaction when it closes, with `setImmediate` (right after the
 * turn's I/O callbacks, so they wait for no timer either).
 *
 * Each write's promise resolves with what its `run` returned once the transaction has
 * committed (the rows are then visible to other connections and survive a kill -9), or
 * rejects with what `commit` threw, for every write of the batch, when the transaction failed
 * and was rolled back (disk full, database locked past the busy timeout, closed database).
 */
export class WriteBatch {
  readonly #commit: (writes: () => unknown[], count: number, atomic: boolean) => unknown[];
  #queued: QueuedWrite[] = [];
  /** The open window: set from a turn's first write until its flush. */
  #scheduled: NodeJS.Immediate | undefined;

  /**
   * @param commit runs `writes` (`count` of them) in one transaction and returns its result;
   *   throws when the transaction could not commit (nothing of it is then written). `atomic`:
   *   some write runs several statements, so even a count of 1 needs a transaction.
   */
  constructor(commit: (writes: () => unknown[], count: number, atomic: boolean) => unknown[]) {
    this.#commit = commit;
  }

  /** Writes waiting for the next flush. */
  get pending(): number {
    return this.#queued.length;
  }

  /**
   * Commits a write now when it is the first of this turn, else queues it for the turn's
   * transaction.
   * @param run the statement(s) to run; its result is what the promise resolves with. A throw
   *   rolls back the whole batch, so it must throw only for a database error.
   * @param atomic `run` runs several statements that must commit together, even alone.
   */
  enqueue<T>(run: () => T, atomic = false): Promise<T> {
    if (this.#scheduled === undefined) {
      this.#scheduled = setImmediate(() => this.flush());
      try {
        return Promise.resolve(this.#commit(() => [run()], 1, atomic)[0] as T);
      } catch (error) {
        return Promise.reject(error instanceof Error ? error : new Error(String(error)));
      }
    }
    return new Promise<T>((resolve, reject) => {
      this.#queued.push({ run, atomic, resolve: resolve as (value: unknown) => void, reject });
    });
  }

  /** Commits every queued write now, in one transaction (also called at close). Never throws. */
  flush(): void {
    if (this.#scheduled) clearImmediate(this.#scheduled);
    this.#scheduled = undefined;
    const writes = this.#queued;
    if (writes.length === 0) return;
    this.#queued = [];
    let results: unknown[];
    try {
      results = this.#commit(
        () => writes.map((write) => write.run()),
        writes.length,
        writes.some((write) => write.atomic),
      );
    } catch (error) {
      for (const write of writes) write.reject(error);
      return;
    }
    writes.forEach((write, i) => write.resolve(results[i]));
  }
}
