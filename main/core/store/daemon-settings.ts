import type Database from 'better-sqlite3';

/**
 * Daemon settings that outlive a restart (table daemon_settings in state.db), e.g. whether
 * Warden is paused. Values are JSON.
 */
export class DaemonSettingsStore {
  readonly #get: Database.Statement<[string], { value: string }>;
  readonly #put: Database.Statement<[string, string, string]>;

  constructor(db: Database.Database) {
    this.#get = db.prepare(`SELECT value FROM daemon_settings WHERE key = ?`);
    this.#put = db.prepare(
      `INSERT INTO daemon_settings (key, value, updated_at) VALUES (?, ?, ?)
       ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
    );
  }

  /** Whether Warden is paused (false when never set). */
  get paused(): boolean {
    const row = this.#get.get('paused');
    return row ? JSON.parse(row.value) === true : false;
  }

  /** Records the pause state durably (before the caller acts on it). */
  set paused(paused: boolean) {
    this.#put.run('paused', JSON.stringify(paused), new Date().toISOString());
  }
}
