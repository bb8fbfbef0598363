import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { applyMigrations, type Migration } from '../db/migrations.ts';
import { describeError, WardenError } from '../errors.ts';

/**
 * Warden's own durable state (`state.db` in the data dir, SQLite, WAL): server identities a
 * person approved, pinned tool definitions and their pending reviews, remembered approval
 * decisions, daily quota counters, daemon settings that outlive a restart (pause), the
 * process groups of running upstream servers, and the stdio servers that have run (with their
 * last initialize, for warm upstreams). Separate from the audit log so the audit file holds
 * records only. Migrations are numbered and never edited.
 */
export const STATE_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'approvals, pins, remembered rules, quotas',
    sql: `
      CREATE TABLE server_approvals (
        server        TEXT NOT NULL,
        identity_hash TEXT NOT NULL,   -- sha256 of the canonical identity JSON
        identity      TEXT NOT NULL,   -- the identity JSON (command, args, package, url)
        approved_at   TEXT NOT NULL,   -- ISO 8601 UTC
        approved_by   TEXT NOT NULL,   -- 'first use', 'cli', 'control-api', ...
        PRIMARY KEY (server, identity_hash)
      );
      CREATE TABLE remembered_rules (
        id          INTEGER PRIMARY KEY AUTOINCREMENT,
        server      TEXT NOT NULL,
        tool        TEXT NOT NULL,
        conditions  TEXT,              -- JSON array of argument conditions, NULL = any arguments
        created_at  TEXT NOT NULL,
        created_by  TEXT NOT NULL,
        approval_id TEXT               -- the approval request it came from
      );
      CREATE TABLE tool_pins (
        server     TEXT NOT NULL,
        kind       TEXT NOT NULL CHECK (kind IN ('tool', 'prompt', 'resourceTemplate')),
        name       TEXT NOT NULL,
        hash       TEXT NOT NULL,      -- sha256 of the canonical definition
        definition TEXT NOT NULL,      -- the pinned definition JSON (for diffs)
        pinned_at  TEXT NOT NULL,
        PRIMARY KEY (server, kind, name)
      );
      CREATE TABLE pin_reviews (
        server      TEXT NOT NULL,
        kind        TEXT NOT NULL,
        name        TEXT NOT NULL,
        status      TEXT NOT NULL CHECK (status IN ('new', 'changed', 'removed')),
        hash        TEXT,
        definition  TEXT,              -- the definition now offered (NULL when removed)
        diff        TEXT,              -- unified diff pinned -> offered
        detected_at TEXT NOT NULL,
        PRIMARY KEY (server, kind, name)
      );
      CREATE TABLE quota_usage (
        day   TEXT NOT NULL,           -- UTC calendar day, YYYY-MM-DD
        scope TEXT NOT NULL,           -- 'server/tool' glob pair of the limit rule
        count INTEGER NOT NULL,
        PRIMARY KEY (day, scope)
      );
    `,
  },
  {
    version: 2,
    name: 'secret bindings',
    sql: `
      CREATE TABLE secret_bindings (
        name          TEXT PRIMARY KEY,  -- the secret's name in the keychain
        server        TEXT NOT NULL,     -- the only server that may receive it
        identity_hash TEXT NOT NULL,     -- the exact identity it was bound to
        bound_at      TEXT NOT NULL
      );
    `,
  },
  {
    version: 3,
    name: 'daemon settings (pause)',
    sql: `
      CREATE TABLE daemon_settings (
        key        TEXT PRIMARY KEY,   -- 'paused', ...
        value      TEXT NOT NULL,      -- JSON
        updated_at TEXT NOT NULL       -- ISO 8601 UTC
      );
    `,
  },
  {
    version: 4,
    name: 'upstream process groups',
    sql: `
      CREATE TABLE upstream_process_groups (
        pgid            INTEGER PRIMARY KEY, -- the group id: pid of the spawned command (group leader)
        leader_identity TEXT    NOT NULL,    -- the leader's pid incarnation (boot id + start time)
        server          TEXT    NOT NULL,
        command         TEXT    NOT NULL,    -- the command line as spawned, secret references unresolved
        daemon_pid      INTEGER NOT NULL,    -- the daemon that spawned it
        daemon_identity TEXT    NOT NULL,
        started_at      TEXT    NOT NULL     -- ISO 8601 UTC
      );
    `,
  },
  {
    version: 5,
    name: 'stdio servers that have run (warm upstreams)',
    sql: `
      CREATE TABLE upstream_runs (
        server        TEXT PRIMARY KEY,
        identity_hash TEXT NOT NULL,   -- the identity it ran as (command, args): another one has not run
        initialize    TEXT NOT NULL,   -- JSON: the params of the last session's initialize
        last_run_at   TEXT NOT NULL    -- ISO 8601 UTC
      ) WITHOUT ROWID;
    `,
  },
  {
    version: 6,
    name: 'the protocol era of each configured server (2025-11-25 legacy or 2026-07-28 modern)',
    sql: `
      CREATE TABLE upstream_eras (
        server        TEXT PRIMARY KEY,
        identity_hash TEXT NOT NULL,   -- the identity (command and args, or URL) the verdict is for
        era           TEXT NOT NULL CHECK (era IN ('legacy', 'modern')),
        probed_at     TEXT NOT NULL    -- ISO 8601 UTC
      ) WITHOUT ROWID;
    `,
  },
  {
    version: 7,
    name: 'hosts a sandboxed server may always connect to',
    sql: `
      CREATE TABLE sandbox_hosts (
        server     TEXT NOT NULL,
        host       TEXT NOT NULL,   -- lower case, as sandbox-runtime asked about it
        port       INTEGER NOT NULL,
        granted_at TEXT NOT NULL,   -- ISO 8601 UTC
        granted_by TEXT NOT NULL,   -- the approval channel: "cli", "popup", …
        PRIMARY KEY (server, host, port)
      ) WITHOUT ROWID;
    `,
  },
];

/**
 * Brings state.db to the newest schema (see db/migrations.ts, applyMigrations).
 * @param migrations the migrations to apply, oldest first; all of STATE_MIGRATIONS by default.
 * @throws WardenError STORE_FAILED when the database was written by a newer Warden; any SQLite
 *   error of a migration (the caller names the file).
 */
export function applyStateMigrations(
  db: Database.Database,
  migrations: readonly Migration[] = STATE_MIGRATIONS,
): { from: number; to: number } {
  return applyMigrations(db, migrations, { database: "Warden's state database", code: 'STORE_FAILED' });
}

/**
 * Opens (creating if needed, mode 0600) the state database and applies its migrations.
 * @throws WardenError STORE_FAILED naming the file.
 */
export function openStateDb(file: string): Database.Database {
  const resolved = path.resolve(file);
  let db: Database.Database | undefined;
  try {
    fs.mkdirSync(path.dirname(resolved), { recursive: true, mode: 0o700 });
    fs.closeSync(fs.openSync(resolved, 'a', 0o600));
    db = new Database(resolved, { fileMustExist: true, timeout: 5000 });
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    applyStateMigrations(db);
    return db;
  } catch (error) {
    db?.close();
    throw new WardenError(
      'STORE_FAILED',
      `cannot open Warden's state database at ${resolved}: ${describeError(error)}`,
      {
        cause: error,
      },
    );
  }
}
