import type Database from 'better-sqlite3';
import type { ServerConfig } from '../config/schema.ts';
import { identityHash, serverIdentity } from '../policy/identity.ts';

/** The era a configured server speaks: `legacy` (2025-11-25, initialize) or `modern` (2026-07-28). */
export type UpstreamEra = 'legacy' | 'modern';

/**
 * The protocol era each configured server was found to speak (table upstream_eras in state.db):
 * one row per server name, with the identity (command and args, or URL) it was probed as. A
 * verdict holds only for that exact identity, so a changed command or URL is probed again (MCP
 * 2026-07-28 basic/versioning: clients MAY persist the era across restarts of the same server
 * configuration).
 */
export class UpstreamEraStore {
  readonly #get: Database.Statement<[string], { identity_hash: string; era: string }>;
  readonly #put: Database.Statement<[string, string, string, string]>;
  readonly #delete: Database.Statement<[string]>;

  constructor(db: Database.Database) {
    this.#get = db.prepare(`SELECT identity_hash, era FROM upstream_eras WHERE server = ?`);
    this.#put = db.prepare(
      `INSERT INTO upstream_eras (server, identity_hash, era, probed_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (server) DO UPDATE SET identity_hash = excluded.identity_hash,
         era = excluded.era, probed_at = excluded.probed_at`,
    );
    this.#delete = db.prepare(`DELETE FROM upstream_eras WHERE server = ?`);
  }

  /** The recorded era of `server` as its current identity; undefined when it has none. */
  get(server: ServerConfig): UpstreamEra | undefined {
    const row = this.#get.get(server.name);
    if (!row || row.identity_hash !== identityHash(serverIdentity(server))) return undefined;
    return row.era === 'modern' || row.era === 'legacy' ? row.era : undefined;
  }

  /**
   * Records the era `server` was found to speak.
   * @throws SQLite errors (the caller logs them: a lost record only costs another probe).
   */
  put(server: ServerConfig, era: UpstreamEra): void {
    this.#put.run(server.name, identityHash(serverIdentity(server)), era, new Date().toISOString());
  }

  /** Forgets the verdict of the server named `name` (its cached assumption failed). */
  forget(name: string): void {
    this.#delete.run(name);
  }
}
