/** The states of a checkpointer worker, in the shared Int32Array it and its owner both see. */
export const CHECKPOINTER_STATE = {
  /** Started; has not opened its connection yet. */
  booting: 0,
  /** Its connection is open; it checkpoints every interval until told 'stop'. */
  open: 1,
  /** Its connection is closed (after 'stop'). */
  closed: 2,
  /** Its owner closed before it opened: it opens nothing and ends. */
  cancelled: 3,
} as const;

/** The workerData of wal-checkpoint-worker.ts. */
export interface CheckpointerData {
  /** The database file (absolute). */
  file: string;
  /** A SharedArrayBuffer of one Int32 holding a CHECKPOINTER_STATE value. */
  state: SharedArrayBuffer;
  /** ms between checkpoints. */
  intervalMs: number;
  /** WAL size in bytes past which a RESTART checkpoint bounds it. */
  restartBytes: number;
}
