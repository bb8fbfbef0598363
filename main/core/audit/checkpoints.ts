import type Database from 'better-sqlite3';
import type { AuditChain } from './chain.ts';
import type { CheckpointKey } from './checkpoint-key.ts';
import {
  formatCheckpoint,
  formatVerifierKey,
  keyHash,
  signerFromSeed,
  signNote,
  type NoteSigner,
} from './signed-note.ts';

/** Options of the signed checkpoints (AuditLogOptions.chain). */
export interface CheckpointOptions {
  /** A checkpoint after this many rows joined the chain since the last one (default 1000). */
  everyRows?: number;
  /** A checkpoint this often when rows joined since the last one, ms (default 5 minutes). */
  everyMs?: number;
  /** The clock of checkpoint times (ms since the epoch), which retention ages by (default Date.now). */
  now?: () => number;
  /** The origin's org segment: the org policy's id, or undefined for `local` (read at each checkpoint). */
  org?: () => string | undefined;
}

/** What the log knows about signing, for status and the Activity page. */
export type SigningState =
  | { state: 'pending' }
  | { state: 'present'; keyHash: string; verifierKey: string }
  | { state: 'missing'; reason: string };

/** The origin of a device's checkpoints: `mcp-warden/<org or local>/<device id>`. */
export function checkpointOrigin(org: string | undefined, deviceId: string): string {
  const segment = org && /^[^\s+/]+$/u.test(org) ? org : 'local';
  return `mcp-warden/${segment}/${deviceId}`;
}

/**
 * Writes the chain's signed checkpoints into `audit_checkpoints` (C2SP tlog-checkpoint text in a
 * signed note, signed with the device's Ed25519 key under the origin as key name): every
 * `everyRows` rows, every `everyMs` when the chain grew, and at close. Each row also keeps the
 * tree's compact frontier and last leaf, so the writer restarts from it and retention can cut
 * the log there. Until the key is known (useKey), checkpoints wait; without a key they are
 * written unsigned (the bare checkpoint text), which `audit verify` reports as such.
 */
/** A checkpoint as written: its origin line, rows covered, RFC 6962 root, the (signed) note, when (ms). */
export interface WrittenCheckpoint {
  origin: string;
  treeSize: number;
  rootHash: Buffer;
  note: string;
  createdMs: number;
}

export class ChainCheckpoints {
  readonly #chain: AuditChain;
  readonly #insert: Database.Statement<[number, Buffer, Buffer | null, Buffer, string, number]>;
  readonly #everyRows: number;
  readonly #now: () => number;
  readonly #org: () => string | undefined;
  readonly #timer: NodeJS.Timeout;
  readonly #write: (write: () => void) => void;
  /**
   * Called inside the transaction that writes each checkpoint (the audit log forwards it through
   * its outbox, issue 13 item 5: the org holds the device's signed tree heads); a throw rolls the
   * checkpoint back, to be written at the next commit or tick.
   */
  onWritten: ((checkpoint: WrittenCheckpoint) => void) | undefined;
  #signed: NoteSigner | { missing: string } | undefined;
  #lastSize: number;
  #lastError: unknown;

  constructor(db: Database.Database, chain: AuditChain, options: CheckpointOptions = {}) {
    this.#chain = chain;
    const inTransaction = db.transaction((write: () => void) => write());
    this.#write = (write) => inTransaction.immediate(write);
    this.#insert = db.prepare(
      'INSERT INTO audit_checkpoints (tree_size, root_hash, last_leaf, frontier, note, created_ms) VALUES (?, ?, ?, ?, ?, ?)',
    );
    this.#everyRows = options.everyRows ?? 1000;
    this.#now = options.now ?? Date.now;
    this.#org = options.org ?? (() => undefined);
    this.#lastSize =
      db.prepare<[], { n: number | null }>('SELECT max(tree_size) AS n FROM audit_checkpoints').get()?.n ?? 0;
    this.#timer = setInterval(() => this.#tryCheckpoint(), options.everyMs ?? 5 * 60_000);
    this.#timer.unref();
  }

  /** Sets the signing key (or why there is none), then writes a checkpoint that was waiting. */
  useKey(key: CheckpointKey): void {
    this.#signed = 'seed' in key ? signerFromSeed(this.#origin(), key.seed) : { missing: key.missing };
    this.afterCommit();
  }

  /** The signing state. */
  signing(): SigningState {
    const signed = this.#signed;
    if (signed === undefined) return { state: 'pending' };
    if ('missing' in signed) return { state: 'missing', reason: signed.missing };
    return {
      state: 'present',
      keyHash: signed.keyHash.toString(16).padStart(8, '0'),
      verifierKey: formatVerifierKey(signed),
    };
  }

  /** The last checkpoint that failed to be written, if the latest attempt failed. */
  get lastError(): unknown {
    return this.#lastError;
  }

  /**
   * After each commit: a checkpoint when `everyRows` rows joined since the last one. Never
   * throws: the rows are committed; a checkpoint that fails is retried at the next commit or tick.
   */
  afterCommit(): void {
    if (this.#chain.size - this.#lastSize >= this.#everyRows) this.#tryCheckpoint();
  }

  #tryCheckpoint(): void {
    try {
      this.checkpoint();
      this.#lastError = undefined;
    } catch (error) {
      this.#lastError = error;
    }
  }

  /**
   * Writes a checkpoint of the chain now when it grew since the last one and the key is known
   * (or `force`, at close: unsigned when the key is still unknown).
   * @throws SQLite errors (the caller names the file).
   */
  checkpoint(force = false): void {
    const size = this.#chain.size;
    if (size === this.#lastSize || size === 0) return;
    if (this.#signed === undefined && !force) return;
    const origin = this.#origin();
    let signer = this.#signed !== undefined && 'privateKey' in this.#signed ? this.#signed : undefined;
    if (signer && signer.name !== origin) {
      // The org in force changed: the same key signs under the new origin.
      signer = { ...signer, name: origin, keyHash: keyHash(origin, signer.publicKey) };
      this.#signed = signer;
    }
    const root = this.#chain.root();
    const text = formatCheckpoint({ origin, treeSize: size, rootHash: root });
    const note = signer ? signNote(text, [signer]) : text;
    const createdMs = Math.trunc(this.#now());
    const written: WrittenCheckpoint = { origin, treeSize: size, rootHash: root, note, createdMs };
    // The row and what describes it elsewhere (the outbox's records) commit together.
    this.#write(() => {
      this.#insert.run(size, root, this.#chain.last, this.#chain.frontierBytes(), note, createdMs);
      this.onWritten?.(written);
    });
    this.#lastSize = size;
  }

  /** Stops the timer and writes the final checkpoint (see checkpoint(true)). */
  close(): void {
    clearInterval(this.#timer);
    this.checkpoint(true);
  }

  #origin(): string {
    return checkpointOrigin(this.#org(), this.#chain.deviceId);
  }
}
