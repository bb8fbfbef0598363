import type Database from 'better-sqlite3';
import { randomUUID } from 'node:crypto';
import { CHAINED_COLUMNS, leafContent, leafHash, MerkleFrontier, type ChainedRow } from './chain-hash.ts';

/** Keys of the `audit_chain` table (migration 4). */
export const CHAIN_META = {
  /** This log's device id, part of the checkpoints' origin and of the signing key's account. */
  deviceId: 'device_id',
  /** Chain positions 1..N were removed by retention; the checkpoint of size N is the boundary. */
  prunedThrough: 'pruned_through',
} as const;

/** What a rolled-back transaction restores: the chain as it was before it. */
export interface ChainMark {
  frontier: MerkleFrontier;
  last: Buffer | null;
}

const SELECT_ROW = `SELECT ${CHAINED_COLUMNS.join(', ')} FROM tool_calls WHERE id = ?`;

/**
 * The hash chain of the audit log (issue 13, item 1; docs/audit-chain.md). A `tools/call` row is
 * INSERTed before it is forwarded and its outcome UPDATEd later, so its content is final only
 * at its outcome (or when it is recorded as refused): that is when it joins the chain, in the
 * same transaction as the write that made it final. Its chain position (`chain_seq`, 1-based,
 * in commit order) and RFC 6962 leaf hash (`chain_hash`) of the RFC 8785 canonical JSON of
 * (position, previous leaf hash, row) are stored in the row. Rows in flight have no position
 * yet; rows a stopped Warden left in flight join the chain, as they are, when the log is next
 * opened (no process will finish them).
 *
 * The Merkle tree of the leaves (RFC 6962) is kept as a compact frontier, so a tree head of
 * every size costs log2(size) hashes. One writer per file (the AuditLog that owns it).
 */
export class AuditChain {
  readonly deviceId: string;
  readonly #select: Database.Statement<[number], ChainedRow>;
  readonly #set: Database.Statement<[number, Buffer, number]>;
  #frontier: MerkleFrontier;
  #last: Buffer | null;
  /** In-flight rows' content as stored, by id, so the outcome's UPDATE can carry the leaf. */
  readonly #inFlight = new Map<number, ChainedRow>();

  private constructor(
    db: Database.Database,
    deviceId: string,
    frontier: MerkleFrontier,
    last: Buffer | null,
  ) {
    this.deviceId = deviceId;
    this.#select = db.prepare<[number], ChainedRow>(SELECT_ROW);
    this.#set = db.prepare<[number, Buffer, number]>(
      'UPDATE tool_calls SET chain_seq = ?, chain_hash = ? WHERE id = ?',
    );
    this.#frontier = frontier;
    this.#last = last;
  }

  /**
   * Reads the chain's state (the newest checkpoint's frontier and the leaves after it), creates
   * the device id on first use, and chains the rows an earlier run left unchained, in one
   * transaction.
   * @throws SQLite errors (the AuditLog names the file).
   */
  static open(db: Database.Database): AuditChain {
    return db
      .transaction(() => {
        db.prepare('INSERT OR IGNORE INTO audit_chain (key, value) VALUES (?, ?)').run(
          CHAIN_META.deviceId,
          randomUUID(),
        );
        const deviceId = db
          .prepare<[string], { value: string }>('SELECT value FROM audit_chain WHERE key = ?')
          .get(CHAIN_META.deviceId)!.value;
        const checkpoint = db
          .prepare<[], { tree_size: number; frontier: Buffer; last_leaf: Buffer | null }>(
            'SELECT tree_size, frontier, last_leaf FROM audit_checkpoints ORDER BY tree_size DESC LIMIT 1',
          )
          .get();
        const frontier = checkpoint
          ? MerkleFrontier.parse(checkpoint.tree_size, checkpoint.frontier)
          : new MerkleFrontier();
        let last = checkpoint?.last_leaf ?? null;
        const after = db
          .prepare<[number], { chain_hash: Buffer }>(
            'SELECT chain_hash FROM tool_calls WHERE chain_seq > ? ORDER BY chain_seq',
          )
          .iterate(frontier.size);
        for (const { chain_hash } of after) {
          frontier.append(chain_hash);
          last = chain_hash;
        }
        const chain = new AuditChain(db, deviceId, frontier, last);
        const unchained = db
          .prepare<[], { id: number }>('SELECT id FROM tool_calls WHERE chain_seq IS NULL ORDER BY id')
          .all();
        for (const { id } of unchained) chain.append(id);
        return chain;
      })
      .immediate();
  }

  /** Rows in the chain (the tree size). */
  get size(): number {
    return this.#frontier.size;
  }

  /** The RFC 6962 tree head of the chain so far. */
  root(): Buffer {
    return this.#frontier.root();
  }

  /** The compact frontier, for a checkpoint row. */
  frontierBytes(): Buffer {
    return this.#frontier.serialize();
  }

  /** The newest leaf hash (null for an empty chain). */
  get last(): Buffer | null {
    return this.#last;
  }

  /**
   * Appends the row `id`, whose content just became final, to the chain: must run inside the
   * transaction of the write that made it final (an autocommitted append could be lost apart
   * from its write).
   * @throws Error when there is no row `id`; SQLite errors. Either rolls the transaction back:
   *   the caller restores {@link mark}.
   */
  append(id: number): void {
    const row = this.#select.get(id);
    if (!row) throw new Error(`no call #${id} to chain`);
    const seq = this.#frontier.size + 1;
    const leaf = leafHash(leafContent(row, seq, this.#last));
    this.#set.run(seq, leaf, id);
    this.#inFlight.delete(id);
    this.#frontier.append(leaf);
    this.#last = leaf;
  }

  /**
   * Remembers the content of in-flight row `id` as it was just INSERTed (the values as SQLite
   * returns them: see {@link storedText}), so {@link leafAtOutcome} needs no SELECT.
   */
  remember(id: number, row: ChainedRow): void {
    this.#inFlight.set(id, row);
  }

  /** Whether {@link remember} holds row `id`. */
  remembers(id: number): boolean {
    return this.#inFlight.has(id);
  }

  /**
   * The chain position and leaf hash remembered row `id` gets when it ends with this outcome,
   * for the UPDATE that writes both; the chain moves on only with {@link appended}.
   * @returns undefined when the row is not remembered (then: the UPDATE, then {@link append}).
   */
  leafAtOutcome(id: number, end: OutcomeColumns): { seq: number; leaf: Buffer } | undefined {
    const row = this.#inFlight.get(id);
    if (!row) return undefined;
    // What the outcome's UPDATE (audit-log.ts) writes: the flags only ever go up.
    const final: ChainedRow = {
      ...row,
      outcome: end.outcome,
      error: storedText(end.error),
      duration_ms: end.durationMs,
      sensitive_data_detected: Math.max(Number(row.sensitive_data_detected ?? 0), end.sensitive),
      pii_detected: Math.max(Number(row.pii_detected ?? 0), end.pii),
      result_secret_rules: storedText(end.resultRules),
      result_secret_action: storedText(end.resultAction),
    };
    const seq = this.#frontier.size + 1;
    return { seq, leaf: leafHash(leafContent(final, seq, this.#last)) };
  }

  /** Moves the chain on by the leaf {@link leafAtOutcome} gave, once its UPDATE wrote row `id`. */
  appended(id: number, leaf: Buffer): void {
    this.#inFlight.delete(id);
    this.#frontier.append(leaf);
    this.#last = leaf;
  }

  /** The state before a transaction, for {@link restore} when it rolls back. */
  mark(): ChainMark {
    return { frontier: this.#frontier.clone(), last: this.#last };
  }

  /** Puts the chain back as {@link mark} saw it (its transaction rolled back). */
  restore(mark: ChainMark): void {
    this.#frontier = mark.frontier;
    this.#last = mark.last;
  }
}

/** The columns an outcome's UPDATE writes (audit-log.ts UpdateParams), as {@link AuditChain.leafAtOutcome} takes them. */
export interface OutcomeColumns {
  outcome: string;
  error: string | null;
  durationMs: number;
  sensitive: 0 | 1;
  pii: 0 | 1;
  resultRules: string | null;
  resultAction: string | null;
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/**
 * Text as SQLite stores and returns it: UTF-8, so a lone surrogate comes back as U+FFFD (as `String.prototype.toWellFormed`
 * makes it). The leaf of a remembered row must hash what verify will read.
 */
export function storedText(text: string | null): string | null {
  return text === null ? null : text.replace(LONE_SURROGATE, '\uFFFD');
}
