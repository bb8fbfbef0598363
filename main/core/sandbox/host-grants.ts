import type Database from 'better-sqlite3';

/**
 * Hosts a person allowed a server to connect to "always" (table sandbox_hosts in state.db,
 * migration 7). Keyed by server name and `host:port`; kept until the server is removed from
 * the table by hand (`mcp-warden` has no command for it yet: docs/sandbox.md).
 */
export class HostGrantStore {
  readonly #has: Database.Statement<[string, string, number], { n: number }>;
  readonly #put: Database.Statement<[string, string, number, string, string]>;

  constructor(db: Database.Database) {
    this.#has = db.prepare(`SELECT 1 AS n FROM sandbox_hosts WHERE server = ? AND host = ? AND port = ?`);
    this.#put = db.prepare(
      `INSERT OR IGNORE INTO sandbox_hosts (server, host, port, granted_at, granted_by) VALUES (?, ?, ?, ?, ?)`,
    );
  }

  /** Whether `server` may always connect to `host:port`. */
  allowed(server: string, host: string, port: number): boolean {
    return this.#has.get(server, host.toLowerCase(), port) !== undefined;
  }

  /**
   * Records an "always" answer.
   * @throws SQLite errors (the caller still allows this connection and logs it).
   */
  grant(server: string, host: string, port: number, by: string): void {
    this.#put.run(server, host.toLowerCase(), port, new Date().toISOString(), by);
  }
}
