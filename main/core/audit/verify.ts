import Database from 'better-sqlite3';
import fs from 'node:fs';
import path from 'node:path';
import { schemaVersion } from '../db/migrations.ts';
import { describeError, WardenError } from '../errors.ts';
import { CHAIN_META } from './chain.ts';
import { CHAINED_COLUMNS, leafContent, leafHash, MerkleFrontier, type ChainedRow } from './chain-hash.ts';
import { checkNote, parseCheckpoint, parseNote, verifierOf, type CheckpointText } from './signed-note.ts';

/** The key the checkpoints are checked with: the device's public key, or why there is none. */
export type VerifyKey = { publicKey: Buffer } | { missing: string };

/** What is wrong, each naming the row (id and chain position) or the checkpoint. */
export type VerifyProblemKind =
  | 'edited'
  | 'swapped'
  | 'deleted'
  | 'truncated'
  | 'unchained'
  | 'checkpoint-forged'
  | 'checkpoint-other-key'
  | 'checkpoint-unsigned'
  | 'checkpoint-root'
  | 'checkpoint-malformed'
  | 'boundary-missing'
  | 'no-key';

export interface VerifyProblem {
  kind: VerifyProblemKind;
  message: string;
  /** The row's id and chain position, when the problem is a row's. */
  rowId?: number;
  position?: number;
  /** The checkpoint's id and tree size, when it is a checkpoint's. */
  checkpointId?: number;
  treeSize?: number;
}

/** The result of {@link verifyAuditLog}. */
export interface VerifyReport {
  file: string;
  /** No problem: every row of the chain recomputed, every checkpoint's root and signature valid. */
  ok: boolean;
  deviceId: string | null;
  /** Chain positions removed by retention (1..prunedThrough), 0 when none. */
  prunedThrough: number;
  /** Chain positions recomputed and found in order: prunedThrough+1 .. verifiedThrough. */
  verifiedThrough: number;
  /** Rows in the chain after the last checkpoint (hash-chained, not yet signed): not a problem. */
  uncheckedTail: { from: number; to: number } | null;
  /** Rows not yet in the chain: calls in flight, or left in flight by a Warden that stopped. */
  inFlight: number;
  checkpoints: {
    total: number;
    valid: number;
    last: { id: number; treeSize: number; createdAt: string } | null;
  };
  /** `checked`, or why the signatures could not be checked. */
  signatures: 'checked' | { missing: string };
  problems: VerifyProblem[];
}

interface CheckpointRow {
  id: number;
  tree_size: number;
  frontier: Buffer;
  last_leaf: Buffer | null;
  note: string;
  created_ms: number;
}

type Row = ChainedRow & { id: number; chain_seq: number; chain_hash: Buffer | null };

/** How far around a row that does not match its hash the positions are tried (rows swapped). */
const SWAP_WINDOW = 64;

/**
 * Recomputes the audit log's hash chain and checks every checkpoint (issue 13 item 1; like
 * CloudTrail's `validate-logs`), on the file directly, read-only (the daemon may be running).
 * Names the first edited, swapped or deleted row, a tail truncated after a checkpoint, and
 * each checkpoint whose root does not match or whose signature fails (forged, another key,
 * unsigned). Rows in flight and rows after the last checkpoint are reported, not problems.
 * @throws WardenError AUDIT_FAILED when the file is missing, not an audit log, or cannot be read.
 */
export function verifyAuditLog(file: string, key: VerifyKey): VerifyReport {
  const resolved = path.resolve(file);
  if (!fs.existsSync(resolved)) throw new WardenError('AUDIT_FAILED', `no audit log at ${resolved}`);
  let db: Database.Database | undefined;
  try {
    db = new Database(resolved, { readonly: true, fileMustExist: true });
    if (schemaVersion(db) < 4) {
      throw new WardenError(
        'AUDIT_FAILED',
        `the audit log at ${resolved} has no hash chain yet (schema ${schemaVersion(db)}): start \`mcp-warden serve\` once`,
      );
    }
    return db.transaction(() => verify(db!, resolved, key))();
  } catch (error) {
    if (error instanceof WardenError) throw error;
    throw new WardenError(
      'AUDIT_FAILED',
      `cannot verify the audit log at ${resolved}: ${describeError(error)}`,
      {
        cause: error,
      },
    );
  } finally {
    db?.close();
  }
}

function verify(db: Database.Database, file: string, key: VerifyKey): VerifyReport {
  const meta = (name: string): string | undefined =>
    db.prepare<[string], { value: string }>('SELECT value FROM audit_chain WHERE key = ?').get(name)?.value;
  const deviceId = meta(CHAIN_META.deviceId) ?? null;
  const prunedThrough = Number(meta(CHAIN_META.prunedThrough) ?? 0);
  const problems: VerifyProblem[] = [];
  const checkpoints = db
    .prepare<[], CheckpointRow>(
      'SELECT id, tree_size, frontier, last_leaf, note, created_ms FROM audit_checkpoints ORDER BY tree_size, id',
    )
    .all();
  const signed = checkSignatures(checkpoints, key, deviceId, problems);
  const validRoot = new Set<number>();

  // The walk starts at the boundary retention left, or at the empty tree.
  let frontier = new MerkleFrontier();
  let prev: Buffer | null = null;
  let broken = false;
  if (prunedThrough > 0) {
    const boundary = checkpoints.find((c) => c.tree_size === prunedThrough);
    const text = boundary ? signed.get(boundary.id)?.text : undefined;
    if (!boundary) {
      problems.push({
        kind: 'boundary-missing',
        message: `rows 1..${prunedThrough} were removed by retention, but the checkpoint of tree size ${prunedThrough} that marks the cut is missing`,
        treeSize: prunedThrough,
      });
      broken = true;
    } else {
      frontier = MerkleFrontier.parse(boundary.tree_size, boundary.frontier);
      prev = boundary.last_leaf;
      if (text && frontier.root().equals(text.rootHash)) validRoot.add(boundary.id);
      else if (text) {
        problems.push({
          kind: 'checkpoint-root',
          message: `checkpoint #${boundary.id} (tree size ${boundary.tree_size}), the retention boundary, does not match the tree kept for the removed rows`,
          checkpointId: boundary.id,
          treeSize: boundary.tree_size,
        });
      }
    }
  }

  const bySize = new Map<number, CheckpointRow[]>();
  for (const c of checkpoints) bySize.set(c.tree_size, [...(bySize.get(c.tree_size) ?? []), c]);
  let lastRowId: number | null = null;
  if (!broken) {
    const rows = db
      .prepare<[number], Row>(
        `SELECT ${CHAINED_COLUMNS.join(', ')}, chain_seq, chain_hash FROM tool_calls WHERE chain_seq > ? ORDER BY chain_seq`,
      )
      .iterate(prunedThrough);
    for (const row of rows) {
      const position = frontier.size + 1;
      if (row.chain_seq !== position) {
        problems.push(
          row.chain_seq < position
            ? {
                kind: 'edited',
                message: `row #${row.id} claims chain position ${row.chain_seq}, which row #${lastRowId ?? '?'} holds (edited)`,
                rowId: row.id,
                position: row.chain_seq,
              }
            : {
                kind: 'deleted',
                message: `rows at chain positions ${position}..${row.chain_seq - 1} are missing (deleted), between row #${lastRowId ?? '(start)'} and row #${row.id}`,
                rowId: row.id,
                position,
              },
        );
        broken = true;
        break;
      }
      const leaf = leafHash(leafContent(row, position, prev));
      if (row.chain_hash === null || !leaf.equals(row.chain_hash)) {
        problems.push(mismatch(db, row, position, prunedThrough, prev));
        broken = true;
        break;
      }
      frontier.append(leaf);
      prev = leaf;
      lastRowId = row.id;
      for (const c of bySize.get(frontier.size) ?? []) {
        const text = signed.get(c.id)?.text;
        if (!text) continue;
        if (frontier.root().equals(text.rootHash)) validRoot.add(c.id);
        else {
          problems.push({
            kind: 'checkpoint-root',
            message: `checkpoint #${c.id} (tree size ${c.tree_size}) does not match rows 1..${c.tree_size}: rows were rewritten, or the checkpoint is forged`,
            checkpointId: c.id,
            treeSize: c.tree_size,
          });
        }
      }
    }
  }
  const verifiedThrough = frontier.size;

  const last = checkpoints.at(-1);
  if (!broken && last && last.tree_size > verifiedThrough) {
    problems.push({
      kind: 'truncated',
      message: `the chain ends at position ${verifiedThrough}${lastRowId === null ? '' : ` (row #${lastRowId})`}, but checkpoint #${last.id} covers ${last.tree_size} rows: rows at positions ${verifiedThrough + 1}..${last.tree_size} were deleted (truncated tail)`,
      checkpointId: last.id,
      treeSize: last.tree_size,
    });
  }
  const unchained = db
    .prepare<[], { id: number }>(
      'SELECT id FROM tool_calls WHERE chain_seq IS NULL AND outcome IS NOT NULL ORDER BY id LIMIT 1',
    )
    .get();
  if (unchained) {
    problems.push({
      kind: 'unchained',
      message: `row #${unchained.id} has an outcome but no chain position: it was added or edited outside Warden`,
      rowId: unchained.id,
    });
  }
  if ('missing' in key) {
    problems.push({
      kind: 'no-key',
      message: `the checkpoints' signatures were not checked: ${key.missing}`,
    });
  }
  const inFlight = db
    .prepare<[], { n: number }>(
      'SELECT count(*) AS n FROM tool_calls WHERE chain_seq IS NULL AND outcome IS NULL',
    )
    .get()!.n;
  const lastSize = last?.tree_size ?? prunedThrough;
  const valid = checkpoints.filter((c) => signed.get(c.id)?.valid === true && validRoot.has(c.id)).length;
  return {
    file,
    ok: problems.length === 0,
    deviceId,
    prunedThrough,
    verifiedThrough,
    uncheckedTail: !broken && verifiedThrough > lastSize ? { from: lastSize + 1, to: verifiedThrough } : null,
    inFlight,
    checkpoints: {
      total: checkpoints.length,
      valid,
      last: last
        ? { id: last.id, treeSize: last.tree_size, createdAt: new Date(last.created_ms).toISOString() }
        : null,
    },
    signatures: 'missing' in key ? { missing: key.missing } : 'checked',
    problems,
  };
}

/**
 * Each checkpoint's parsed text and whether its signature is the device key's; pushes a problem
 * for each that is malformed, unsigned, forged or signed by another key.
 */
function checkSignatures(
  checkpoints: readonly CheckpointRow[],
  key: VerifyKey,
  deviceId: string | null,
  problems: VerifyProblem[],
): Map<number, { text: CheckpointText; valid: boolean }> {
  const result = new Map<number, { text: CheckpointText; valid: boolean }>();
  for (const c of checkpoints) {
    const at = { checkpointId: c.id, treeSize: c.tree_size };
    const name = `checkpoint #${c.id} (tree size ${c.tree_size})`;
    let text: CheckpointText;
    let body: string;
    let parsed: ReturnType<typeof parseNote> | undefined;
    try {
      if (isUnsigned(c.note)) body = c.note;
      else {
        parsed = parseNote(c.note);
        body = parsed.text;
      }
      text = parseCheckpoint(body);
    } catch (error) {
      problems.push({
        kind: 'checkpoint-malformed',
        message: `${name} is not a signed checkpoint: ${describeError(error)}`,
        ...at,
      });
      continue;
    }
    if (text.treeSize !== c.tree_size || (deviceId !== null && !text.origin.endsWith(`/${deviceId}`))) {
      problems.push({
        kind: 'checkpoint-forged',
        message: `${name} says tree size ${text.treeSize} of ${text.origin}: not this log's checkpoint (forged)`,
        ...at,
      });
      result.set(c.id, { text, valid: false });
      continue;
    }
    if (!parsed) {
      problems.push({
        kind: 'checkpoint-unsigned',
        message: `${name} is unsigned (no signing key when it was written)`,
        ...at,
      });
      result.set(c.id, { text, valid: false });
      continue;
    }
    if ('missing' in key) {
      result.set(c.id, { text, valid: false });
      continue;
    }
    const verifier = verifierOf(key, text.origin);
    const { status, keyHashes } = checkNote(parsed, verifier);
    if (status === 'bad-signature') {
      problems.push({
        kind: 'checkpoint-forged',
        message: `${name}: its signature by this device's key does not verify (forged or altered)`,
        ...at,
      });
    } else if (status === 'other-key') {
      const hex = (n: number): string => n.toString(16).padStart(8, '0');
      problems.push({
        kind: 'checkpoint-other-key',
        message: `${name} is signed by another key (${keyHashes.map(hex).join(', ')}), not this device's key ${hex(verifier.keyHash)}`,
        ...at,
      });
    }
    result.set(c.id, { text, valid: status === 'valid' });
  }
  return result;
}

/** A checkpoint written without a key is the bare checkpoint text: no blank line, no signatures. */
function isUnsigned(note: string): boolean {
  return !note.includes('\n\n');
}

/**
 * A row whose leaf does not match: its content hashed at another position near this one, after
 * one of the leaves around it, gives its own stored leaf or that position's (rows swapped or
 * moved), else it was edited. Runs only on the first mismatch: (2 * SWAP_WINDOW)^2 hashes at most.
 */
function mismatch(
  db: Database.Database,
  row: Row,
  position: number,
  prunedThrough: number,
  prev: Buffer | null,
): VerifyProblem {
  const from = Math.max(prunedThrough + 1, position - SWAP_WINDOW);
  const to = position + SWAP_WINDOW;
  const stored = new Map<number, Buffer>();
  for (const r of db
    .prepare<[number, number], { chain_seq: number; chain_hash: Buffer | null }>(
      'SELECT chain_seq, chain_hash FROM tool_calls WHERE chain_seq BETWEEN ? AND ?',
    )
    .all(from, to)) {
    if (r.chain_hash) stored.set(r.chain_seq, r.chain_hash);
  }
  const previous = [...stored.values(), ...(prev ? [prev] : [])];
  for (let j = from; j <= to; j += 1) {
    if (j === position) continue;
    const targets = [row.chain_hash, stored.get(j)].filter((h): h is Buffer => h instanceof Buffer);
    for (const before of j === 1 ? [null] : previous) {
      const candidate = leafHash(leafContent(row, j, before));
      if (targets.some((t) => candidate.equals(t))) {
        return {
          kind: 'swapped',
          message: `row #${row.id} is at chain position ${position} but was recorded at position ${j}: rows were swapped or reordered`,
          rowId: row.id,
          position,
        };
      }
    }
  }
  return {
    kind: 'edited',
    message: `row #${row.id} (chain position ${position}) was edited: its content does not match its leaf hash`,
    rowId: row.id,
    position,
  };
}

/**
 * The device id an audit log's checkpoints are signed under (to find its key), or undefined
 * for a log without a chain yet.
 * @throws WardenError AUDIT_FAILED when the file is missing or cannot be read.
 */
export function readDeviceId(file: string): string | undefined {
  const resolved = path.resolve(file);
  if (!fs.existsSync(resolved)) throw new WardenError('AUDIT_FAILED', `no audit log at ${resolved}`);
  let db: Database.Database | undefined;
  try {
    db = new Database(resolved, { readonly: true, fileMustExist: true });
    if (schemaVersion(db) < 4) return undefined;
    return db
      .prepare<[string], { value: string }>('SELECT value FROM audit_chain WHERE key = ?')
      .get(CHAIN_META.deviceId)?.value;
  } catch (error) {
    throw new WardenError(
      'AUDIT_FAILED',
      `cannot read the audit log at ${resolved}: ${describeError(error)}`,
      {
        cause: error,
      },
    );
  } finally {
    db?.close();
  }
}
