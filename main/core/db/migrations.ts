import type Database from 'better-sqlite3';
import { WardenError, type WardenErrorCode } from '../errors.ts';

/**
 * One step of a database's schema. Migrations are numbered from 1 without gaps and applied in
 * order; the database's `PRAGMA user_version` is the number of the last one applied. A
 * migration that has shipped is never edited: change the schema with a new one.
 */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/**
 * Whose migrations are applied: a name for messages (e.g. "the audit log") and the error code
 * its failures carry (e.g. AUDIT_FAILED for audit.db, STORE_FAILED for state.db).
 */
export interface MigrationOwner {
  database: string;
  code: WardenErrorCode;
}

/** The schema version recorded in a database (`PRAGMA user_version`; 0 for a new file). */
export function schemaVersion(db: Database.Database): number {
  return db.pragma('user_version', { simple: true }) as number;
}

/**
 * Brings a database up to its newest migration: each pending migration runs in its own
 * `BEGIN IMMEDIATE` transaction together with the `user_version` update, so a crash leaves the
 * database at some migration's boundary and two processes opening it at once do not race.
 * Applying the migrations again does nothing.
 * @returns the versions before and after.
 * @throws WardenError with the owner's code when the database was written by a newer Warden; any
 *   SQLite error of a migration (the caller names the file).
 */
export function applyMigrations(
  db: Database.Database,
  migrations: readonly Migration[],
  owner: MigrationOwner,
): { from: number; to: number } {
  const from = schemaVersion(db);
  const latest = migrations.at(-1)?.version ?? 0;
  if (from > latest) {
    throw new WardenError(
      owner.code,
      `${owner.database} has schema version ${from}, newer than this MCP Warden knows (${latest}); upgrade MCP Warden`,
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
