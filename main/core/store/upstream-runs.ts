import type Database from 'better-sqlite3';
import type { InitializeRequest } from '@modelcontextprotocol/server';
import type { StdioServerConfig } from '../config/schema.ts';
import { identityHash, serverIdentity } from '../policy/identity.ts';

/** The params of an MCP `initialize` request (MCP 2025-11-25, basic/lifecycle). */
export type InitializeParams = InitializeRequest['params'];

/**
 * The stdio servers that have run on this machine (table upstream_runs in state.db): one row per
 * server name, with the identity (command, args) it ran as and the params of the last session's
 * `initialize`. A server "has run before" only as that exact identity; a warm upstream is
 * initialized with those params. Written when a session's initialize succeeds; unchanged params
 * are not written again.
 */
export class UpstreamRunStore {
  readonly #get: Database.Statement<[string], { identity_hash: string; initialize: string }>;
  readonly #put: Database.Statement<[string, string, string, string]>;
  /** What the table holds, by server, as written or read by this process (saves reads and writes). */
  readonly #known = new Map<string, { identityHash: string; json: string }>();

  constructor(db: Database.Database) {
    this.#get = db.prepare(`SELECT identity_hash, initialize FROM upstream_runs WHERE server = ?`);
    this.#put = db.prepare(
      `INSERT INTO upstream_runs (server, identity_hash, initialize, last_run_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (server) DO UPDATE SET identity_hash = excluded.identity_hash,
         initialize = excluded.initialize, last_run_at = excluded.last_run_at`,
    );
  }

  /**
   * The initialize params of the last session of `server`, when it has run as its current
   * identity; undefined when it has not (or ran as another command).
   */
  lastInitialize(server: StdioServerConfig): InitializeParams | undefined {
    const known = this.#read(server.name);
    if (!known || known.identityHash !== identityHash(serverIdentity(server))) return undefined;
    try {
      return JSON.parse(known.json) as InitializeParams;
    } catch {
      return undefined;
    }
  }

  /**
   * Records that a session of `server` initialized with `params`.
   * @throws SQLite errors (the caller logs them: a lost record only costs a warm start).
   */
  record(server: StdioServerConfig, params: InitializeParams): void {
    const hash = identityHash(serverIdentity(server));
    const json = JSON.stringify(params);
    const known = this.#read(server.name);
    if (known?.identityHash === hash && known.json === json) return;
    this.#put.run(server.name, hash, json, new Date().toISOString());
    this.#known.set(server.name, { identityHash: hash, json });
  }

  #read(name: string): { identityHash: string; json: string } | undefined {
    const cached = this.#known.get(name);
    if (cached) return cached;
    const row = this.#get.get(name);
    if (!row) return undefined;
    const known = { identityHash: row.identity_hash, json: row.initialize };
    this.#known.set(name, known);
    return known;
  }
}
