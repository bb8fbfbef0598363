import type Database from 'better-sqlite3';
import { CHAIN_META } from './chain.ts';

/** One day, ms. */
export const DAY_MS = 24 * 60 * 60 * 1000;

/** Rows deleted per transaction: the writer waits for at most one chunk (a few ms). */
const DELETE_CHUNK = 1000;
/** Pages freed per incremental_vacuum step. */
const VACUUM_STEP_PAGES = 512;

/** What one pruning did. */
export interface PruneResult {
  /** Chain positions 1..prunedThrough are gone (0: nothing was ever pruned). */
  prunedThrough: number;
  /** Rows deleted by this run. */
  deletedRows: number;
  /** Pages given back to the file system by this run. */
  freedPages: number;
  /** The file was rebuilt once (VACUUM) to turn incremental vacuum on. */
  rebuilt: boolean;
}

/**
 * Retention (issue 13 item 2): removes the whole checkpointed ranges of the chain whose
 * checkpoint was written more than `retentionDays` before `now`, so what is left starts at a
 * checkpoint boundary: that checkpoint (tree size, root, frontier, last leaf) is kept as the
 * cut, `audit_chain.pruned_through` records it, and `audit verify` starts from it. The newest
 * row is never deleted (rowids are max(id) + 1: migrations.ts, version 3). Then the freed pages
 * are given back (incremental vacuum, in steps; an older file without it is rebuilt once).
 * Every step is its own short transaction, so the daemon's writer waits for one step at most;
 * run it on a connection of its own off the event loop (retention.ts runs it in a worker).
 * @param now ms since the epoch (the test's clock ages rows).
 * @throws SQLite errors.
 */
export function pruneAuditLog(db: Database.Database, retentionDays: number, now: number): PruneResult {
  const meta = db.prepare<[string], { value: string }>('SELECT value FROM audit_chain WHERE key = ?');
  const before = Number(meta.get(CHAIN_META.prunedThrough)?.value ?? 0);
  const cutoff = now - retentionDays * DAY_MS;
  const newest = db
    .prepare<[], { chain_seq: number | null }>(
      'SELECT chain_seq FROM tool_calls WHERE id = (SELECT max(id) FROM tool_calls)',
    )
    .get();
  // A cut below the newest row's position (when it is in the chain), so it stays.
  const below = newest?.chain_seq ?? Number.MAX_SAFE_INTEGER;
  const cut = db
    .prepare<[number, number, number], { tree_size: number }>(
      'SELECT tree_size FROM audit_checkpoints WHERE created_ms <= ? AND tree_size > ? AND tree_size < ? ORDER BY tree_size DESC LIMIT 1',
    )
    .get(cutoff, before, below)?.tree_size;
  const through = cut ?? before;
  if (cut !== undefined) {
    db.transaction(() => {
      db.prepare('INSERT OR REPLACE INTO audit_chain (key, value) VALUES (?, ?)').run(
        CHAIN_META.prunedThrough,
        String(cut),
      );
      db.prepare('DELETE FROM audit_checkpoints WHERE tree_size < ?').run(cut);
    }).immediate();
  }
  // Also finishes a pruning a crash interrupted (pruned_through set, rows left).
  let deletedRows = 0;
  if (through > 0) {
    const last = db
      .prepare<[number], { id: number | null }>('SELECT max(id) AS id FROM tool_calls WHERE chain_seq <= ?')
      .get(through)?.id;
    const chunk = db.prepare<[number, number, number]>(
      'DELETE FROM tool_calls WHERE id IN (SELECT id FROM tool_calls WHERE id <= ? AND chain_seq <= ? ORDER BY id LIMIT ?)',
    );
    for (let changes = last == null ? 0 : 1; changes > 0;) {
      changes = chunk.run(last!, through, DELETE_CHUNK).changes;
      deletedRows += changes;
    }
  }
  let freedPages = 0;
  let rebuilt = false;
  if (deletedRows > 0) {
    if (db.pragma('auto_vacuum', { simple: true }) !== 2) {
      // A file from before incremental vacuum: one rebuild turns it on (the writer waits for it).
      const pages = db.pragma('page_count', { simple: true }) as number;
      db.pragma('auto_vacuum = INCREMENTAL');
      db.exec('VACUUM');
      freedPages = pages - (db.pragma('page_count', { simple: true }) as number);
      rebuilt = true;
    } else {
      for (;;) {
        const free = db.pragma('freelist_count', { simple: true }) as number;
        if (free === 0) break;
        db.pragma(`incremental_vacuum(${Math.min(free, VACUUM_STEP_PAGES)})`);
        freedPages += free - (db.pragma('freelist_count', { simple: true }) as number);
      }
    }
    // The file shrinks when the WAL is copied back. PASSIVE never waits (a TRUNCATE would hold
    // the writer back while readers finish); the daemon's checkpointer copies what is left.
    db.pragma('wal_checkpoint(PASSIVE)');
  }
  return { prunedThrough: through, deletedRows, freedPages, rebuilt };
}
