/** The states of a checkpointer worker, in the shared Int32Array it and its owner both see. */
export const CHECKPOINTER_STATE = {
  /** Started; has not opened its connection yet. */
  booting: 0,
  /** Its connection is open; it checkpoints every interval until told 'stop' or idle long enough. */
  open: 1,
  /** Its connection is closed (after 'stop'). */
  closed: 2,
  /** Its owner closed before it opened: it opens nothing and ends. */
  cancelled: 3,
  /** Idle past idleExitMs, it is closing its connection and will end; a write needs a new worker. */
  retiring: 4,
  /** Its connection is closed after it retired; it ends. */
  retired: 5,
} as const;

/** Index of the state word in the shared Int32Array. */
export const STATE_WORD = 0;
/** Index of the writes counter (the owner adds one per commit; wraps) in the shared Int32Array. */
export const WRITES_WORD = 1;

/** The workerData of wal-checkpoint-worker.ts. */
export interface CheckpointerData {
  /** The database file (absolute). */
  file: string;
  /** A SharedArrayBuffer of two Int32: a CHECKPOINTER_STATE value, and the writes counter. */
  state: SharedArrayBuffer;
  /** ms between checkpoints. */
  intervalMs: number;
  /** WAL size in bytes past which a RESTART checkpoint bounds it. */
  restartBytes: number;
  /** ms without a write, the WAL empty, after which the worker closes and ends. */
  idleExitMs: number;
}
