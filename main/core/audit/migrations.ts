import type Database from 'better-sqlite3';
import { applyMigrations as applyOwnMigrations, type Migration } from '../db/migrations.ts';
import { OUTBOX_MIGRATION_SQL } from './outbox.ts';

/** Every migration of the audit database, oldest first. */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'create tool_calls',
    sql: `
      CREATE TABLE tool_calls (
        id             INTEGER PRIMARY KEY AUTOINCREMENT,
        ts             TEXT    NOT NULL, -- start of the call, ISO 8601 UTC with ms
        ts_ms          INTEGER NOT NULL, -- the same instant, ms since the epoch (range queries)
        session_id     TEXT    NOT NULL,
        client_name    TEXT,
        client_version TEXT,
        server         TEXT    NOT NULL,
        tool           TEXT    NOT NULL,
        request_id     TEXT,             -- the JSON-RPC id, as text
        arguments      TEXT,             -- JSON, secrets redacted
        decision       TEXT    NOT NULL, -- 'allow' | 'deny'
        reason         TEXT,
        outcome        TEXT,             -- NULL while the call is in flight
        error          TEXT,
        duration_ms    REAL
      );
      CREATE INDEX tool_calls_ts_ms ON tool_calls (ts_ms);
    `,
  },
  {
    version: 2,
    name: 'policy version in force',
    sql: `
      ALTER TABLE tool_calls ADD COLUMN policy_version TEXT; -- e.g. "org acme v6"; NULL without org policy
    `,
  },
  {
    // AUTOINCREMENT makes every INSERT read and write sqlite_sequence as well. Without it the
    // rowid is max(id) + 1, so ids stay monotonic and are never reused as long as the newest
    // row is never deleted: the audit log is append-only (Warden deletes no rows; a future
    // retention must keep the newest row). The copy keeps every id, so the next id follows the
    // last one recorded.
    version: 3,
    name: 'tool_calls without AUTOINCREMENT',
    sql: `
      CREATE TABLE tool_calls_v3 (
        id             INTEGER PRIMARY KEY, -- the rowid
        ts             TEXT    NOT NULL,
        ts_ms          INTEGER NOT NULL,
        session_id     TEXT    NOT NULL,
        client_name    TEXT,
        client_version TEXT,
        server         TEXT    NOT NULL,
        tool           TEXT    NOT NULL,
        request_id     TEXT,
        arguments      TEXT,
        decision       TEXT    NOT NULL,
        reason         TEXT,
        outcome        TEXT,
        error          TEXT,
        duration_ms    REAL,
        policy_version TEXT
      );
      INSERT INTO tool_calls_v3 (
        id, ts, ts_ms, session_id, client_name, client_version, server, tool, request_id,
        arguments, decision, reason, outcome, error, duration_ms, policy_version
      )
      SELECT
        id, ts, ts_ms, session_id, client_name, client_version, server, tool, request_id,
        arguments, decision, reason, outcome, error, duration_ms, policy_version
      FROM tool_calls ORDER BY id;
      DROP TABLE tool_calls;
      ALTER TABLE tool_calls_v3 RENAME TO tool_calls;
      CREATE INDEX tool_calls_ts_ms ON tool_calls (ts_ms);
    `,
  },
  {
    version: 4,
    name: 'redaction flags and arguments HMAC',
    sql: `
      ALTER TABLE tool_calls ADD COLUMN sensitive_data_detected INTEGER NOT NULL DEFAULT 0; -- 1: a secret was redacted (arguments, error, result)
      ALTER TABLE tool_calls ADD COLUMN pii_detected INTEGER NOT NULL DEFAULT 0; -- 1: personal data in arguments or error
      ALTER TABLE tool_calls ADD COLUMN arguments_hmac TEXT; -- hex HMAC-SHA-256 of the raw arguments (key in the keychain); NULL without one
      ALTER TABLE tool_calls ADD COLUMN result_secret_rules TEXT; -- rules that matched in the result, comma-separated; NULL: none
      ALTER TABLE tool_calls ADD COLUMN result_secret_action TEXT; -- 'mask' | 'block' | 'allow': what was done about them
    `,
  },
  {
    // The hash chain and its signed checkpoints (audit/chain.ts, checkpoints.ts). Rows recorded
    // before this migration join the chain when the log is next opened.
    version: 5,
    name: 'hash chain and signed checkpoints',
    sql: `
      ALTER TABLE tool_calls ADD COLUMN chain_seq INTEGER; -- position in the chain, 1-based; NULL in flight
      ALTER TABLE tool_calls ADD COLUMN chain_hash BLOB;   -- RFC 6962 leaf hash (chain-hash.ts)
      CREATE TABLE audit_checkpoints (
        id         INTEGER PRIMARY KEY,
        tree_size  INTEGER NOT NULL UNIQUE, -- rows 1..tree_size of the chain
        root_hash  BLOB    NOT NULL,        -- RFC 6962 tree head
        last_leaf  BLOB,                    -- the leaf hash at tree_size
        frontier   BLOB    NOT NULL,        -- the compact range [0, tree_size): subtree roots, leftmost first
        note       TEXT    NOT NULL,        -- C2SP signed note of the tlog-checkpoint text (bare text: unsigned)
        created_ms INTEGER NOT NULL
      );
      CREATE TABLE audit_chain (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
    `,
  },
  { version: 6, name: 'forwarding outbox', sql: OUTBOX_MIGRATION_SQL },
];

/** The schema version this build writes: the last migration's number. */
export const SCHEMA_VERSION: number = MIGRATIONS.at(-1)?.version ?? 0;

/**
 * Brings the audit database to the newest schema (see db/migrations.ts, applyMigrations).
 * @throws WardenError AUDIT_FAILED when the database was written by a newer Warden; any
 *   SQLite error of a migration (the caller names the file).
 */
export function applyMigrations(
  db: Database.Database,
  migrations: readonly Migration[] = MIGRATIONS,
): { from: number; to: number } {
  return applyOwnMigrations(db, migrations, { database: 'the audit log', code: 'AUDIT_FAILED' });
}
