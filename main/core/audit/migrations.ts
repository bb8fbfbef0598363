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
  // 4 (hash chain) and 5 (redaction) are other parts of the same release.
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
