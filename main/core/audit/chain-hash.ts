import { createHash, hash } from 'node:crypto';

/** Bytes of a SHA-256 hash, the hash of every leaf and node. */
export const HASH_BYTES = 32;

/** The version of the leaf content below; part of what is hashed. */
export const LEAF_VERSION = 1;

/**
 * The columns of `tool_calls` a leaf covers, as SQLite returns them (see migrations.ts). A column
 * added later is not covered until a new LEAF_VERSION names it (old rows keep their version).
 */
export const CHAINED_COLUMNS = [
  'id',
  'ts',
  'ts_ms',
  'session_id',
  'client_name',
  'client_version',
  'server',
  'tool',
  'request_id',
  'arguments',
  'decision',
  'reason',
  'outcome',
  'error',
  'duration_ms',
  'policy_version',
  'sensitive_data_detected',
  'pii_detected',
  'arguments_hmac',
  'result_secret_rules',
  'result_secret_action',
] as const;

/** A `tool_calls` row's chained columns, as SQLite returns them. */
export type ChainedRow = Record<(typeof CHAINED_COLUMNS)[number], string | number | null>;

/** The chained columns in JCS order (UTF-16 code units), each with the JSON text before its value. */
const SORTED_MEMBERS: readonly (readonly [column: (typeof CHAINED_COLUMNS)[number], prefix: string])[] = [
  ...CHAINED_COLUMNS,
]
  .sort()
  .map((column, index) => [column, `${index === 0 ? '' : ','}${JSON.stringify(column)}:`] as const);

/** RFC 8785 section 3.2.2 for one column value: null, a finite number or a well-formed string. */
function canonicalValue(value: string | number | null): string {
  if (value === null) return 'null';
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new Error(`a row has a number JCS cannot write (${value})`);
    return JSON.stringify(value);
  }
  // String.prototype.isWellFormed (ES2024), which the project's lib setting does not declare.
  if (!(value as string & { isWellFormed(): boolean }).isWellFormed())
    throw new Error('a row has a string with a lone surrogate');
  return JSON.stringify(value);
}

/**
 * The content a row's leaf hashes: RFC 8785 (JCS) canonical JSON of
 * `{"v":1,"seq":<chain position, 1-based>,"prev":<base64 leaf hash of position seq-1, or null>,"row":{<column>:<value>}}`.
 * The position and the previous leaf make the chain: a row moved, deleted or inserted changes
 * every later leaf's input.
 *
 * Written member by member in JCS order for this one shape (top-level keys prev, row, seq, v;
 * the columns sorted), as the canonicalize library would write it (a property test holds the two
 * equal) at a fraction of the cost: it runs for every call.
 * @throws Error for a value JCS has no text for (NaN, Infinity, a lone surrogate).
 */
export function leafContent(row: ChainedRow, seq: number, prev: Buffer | null): string {
  let text = `{"prev":${prev === null ? 'null' : `"${prev.toString('base64')}"`},"row":{`;
  for (const [column, prefix] of SORTED_MEMBERS) text += prefix + canonicalValue(row[column] ?? null);
  return `${text}},"seq":${canonicalValue(seq)},"v":${LEAF_VERSION}}`;
}

const LEAF_PREFIX = Buffer.of(0);
const NODE_PREFIX = Buffer.of(1);

/** RFC 6962 section 2.1 leaf hash: SHA-256(0x00 || content). */
export function leafHash(content: string | Buffer): Buffer {
  const bytes = typeof content === 'string' ? Buffer.from(content) : content;
  return hash('sha256', Buffer.concat([LEAF_PREFIX, bytes]), 'buffer');
}

/** RFC 6962 section 2.1 interior node hash: SHA-256(0x01 || left || right). */
export function nodeHash(left: Buffer, right: Buffer): Buffer {
  return hash('sha256', Buffer.concat([NODE_PREFIX, left, right]), 'buffer');
}

/** RFC 6962 MTH of the empty tree: SHA-256 of nothing. */
export const EMPTY_ROOT: Buffer = createHash('sha256').digest();

/**
 * The compact range [0, size) of an RFC 6962 Merkle tree: the roots of its perfect subtrees,
 * largest (leftmost) first, one per set bit of `size`. Enough to append leaves and compute the
 * tree head of every later size without the leaves before, so pruned leaves need not be kept.
 */
export class MerkleFrontier {
  #size: number;
  /** Perfect subtree roots, leftmost first; their sizes are the set bits of #size, descending. */
  #nodes: Buffer[];

  constructor(size = 0, nodes: Buffer[] = []) {
    if (popcount(size) !== nodes.length) {
      throw new Error(`a frontier of ${size} leaves has ${popcount(size)} nodes, not ${nodes.length}`);
    }
    this.#size = size;
    this.#nodes = nodes;
  }

  /**
   * Reads {@link serialize}'s bytes.
   * @throws Error when the bytes do not fit `size`.
   */
  static parse(size: number, bytes: Buffer): MerkleFrontier {
    if (bytes.length !== popcount(size) * HASH_BYTES) {
      throw new Error(
        `a frontier of ${size} leaves is ${popcount(size) * HASH_BYTES} bytes, not ${bytes.length}`,
      );
    }
    const nodes: Buffer[] = [];
    for (let at = 0; at < bytes.length; at += HASH_BYTES)
      nodes.push(Buffer.from(bytes.subarray(at, at + HASH_BYTES)));
    return new MerkleFrontier(size, nodes);
  }

  /** Leaves so far. */
  get size(): number {
    return this.#size;
  }

  /** Appends a leaf hash (merging equal-sized subtrees as RFC 6962's MTH splits them). */
  append(leaf: Buffer): void {
    let node = leaf;
    // Each trailing set bit of the old size is a subtree of the size the new one completes.
    for (let size = this.#size; size & 1; size >>= 1) node = nodeHash(this.#nodes.pop()!, node);
    this.#nodes.push(node);
    this.#size += 1;
  }

  /** The RFC 6962 Merkle tree hash MTH of the leaves so far. */
  root(): Buffer {
    if (this.#nodes.length === 0) return EMPTY_ROOT;
    let root = this.#nodes.at(-1)!;
    for (let i = this.#nodes.length - 2; i >= 0; i -= 1) root = nodeHash(this.#nodes[i]!, root);
    return root;
  }

  /** The nodes concatenated, leftmost first (popcount(size) * 32 bytes). */
  serialize(): Buffer {
    return Buffer.concat(this.#nodes);
  }

  /** An independent copy (to roll back an append in a failed transaction). */
  clone(): MerkleFrontier {
    return new MerkleFrontier(this.#size, [...this.#nodes]);
  }
}

function popcount(n: number): number {
  let count = 0;
  for (let v = n; v > 0; v = Math.floor(v / 2)) count += v % 2;
  return count;
}
