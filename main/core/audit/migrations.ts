import type Database from 'better-sqlite3';
import { WardenError } from '../errors.ts';

/**
 * One step of the audit database's schema. Migrations are numbered from 1 without gaps and
 * applied in order; the database's `PRAGMA user_version` is the number of the last one applied.
 * A migration that has shipped is never edited: change the schema with a new one.
 */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

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
];

/** The schema version this build writes: the last migration's number. */
export const SCHEMA_VERSION: number = MIGRATIONS.at(-1)?.version ?? 0;

/** The schema version recorded in a database (`PRAGMA user_version`; 0 for a new file). */
export function schemaVersion(db: Database.Database): number {
  return db.pragma('user_version', { simple: true }) as number;
}

/**
 * Brings a database up to {@link SCHEMA_VERSION}: each pending migration runs in its own
 * `BEGIN IMMEDIATE` transaction together with the `user_version` update, so a crash leaves the
 * database at some migration's boundary and two processes opening it at once do not race.
 * Applying the migrations again does nothing.
 * @returns the versions before and after.
 * @throws WardenError AUDIT_FAILED when the database was written by a newer Warden; any
 *   SQLite error of a migration (the caller names the file).
 */
export function applyMigrations(
  db: Database.Database,
  migrations: readonly Migration[] = MIGRATIONS,
): { from: number; to: number } {
  const from = schemaVersion(db);
  const latest = migrations.at(-1)?.version ?? 0;
  if (from > latest) {
    throw new WardenError(
      'AUDIT_FAILED',
      `the audit log has schema version ${from}, newer than this MCP Warden knows (${latest}); upgrade MCP Warden`,
    );
  }
  for (const migration of migrations) {
    const apply = db.transaction(() => {
      // Read again under the write lock: another process may have applied it meanwhile.
      if (schemaVersion(db) >= migration.version) return;
      db.exec(migration.sql);
      db.pragma(`user_version = ${migration.version}`);
    });
    if (migration.version > from) apply.immediate();
  }
  return { from, to: schemaVersion(db) };
}
