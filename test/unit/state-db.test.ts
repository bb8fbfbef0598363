/**
 * state.db migrations 3 (daemon settings) and 4 (upstream process groups) on a real SQLite file
 * written by the previous schema: nothing of it is lost; pause and process-group records round-trip.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { isWardenError } from '../../main/core/errors.ts';
import { applyStateMigrations, openStateDb, STATE_MIGRATIONS } from '../../main/core/store/state-db.ts';
import { DaemonSettingsStore } from '../../main/core/store/daemon-settings.ts';
import { ProcessGroupStore } from '../../main/core/store/process-groups.ts';

test('a state.db of schema 2 is brought to the newest schema with its rows kept; pause and process groups persist', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'warden-state-'));
  try {
    const file = path.join(dir, 'state.db');
    const old = new Database(file);
    applyStateMigrations(old, STATE_MIGRATIONS.slice(0, 2));
    old
      .prepare('INSERT INTO secret_bindings (name, server, identity_hash, bound_at) VALUES (?, ?, ?, ?)')
      .run('token', 'github', 'h'.repeat(64), '2026-01-01T00:00:00Z');
    old.close();

    const db = openStateDb(file);
    assert.equal(db.pragma('user_version', { simple: true }), STATE_MIGRATIONS.length);
    assert.equal((db.prepare('SELECT count(*) AS n FROM secret_bindings').get() as { n: number }).n, 1);
    const settings = new DaemonSettingsStore(db);
    assert.equal(settings.paused, false, 'not paused unless someone paused');
    settings.paused = true;
    const groups = new ProcessGroupStore(db);
    const record = {
      pgid: 4242,
      leaderIdentity: 'linux:boot:1',
      server: 'everything',
      command: 'npx -y @modelcontextprotocol/server-everything@2026.8.31',
      daemonPid: 77,
      daemonIdentity: 'linux:boot:0',
      startedAt: '2026-01-01T00:00:00.000Z',
    };
    groups.add(record);
    db.close();

    const again = openStateDb(file);
    assert.equal(new DaemonSettingsStore(again).paused, true);
    const store = new ProcessGroupStore(again);
    assert.deepEqual(store.list(), [record]);
    store.remove(4242);
    assert.deepEqual(store.list(), []);
    again.close();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a state.db from a newer Warden is refused with STORE_FAILED naming the state database, not the audit log', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'warden-state-'));
  try {
    const file = path.join(dir, 'state.db');
    const newer = new Database(file);
    newer.pragma(`user_version = ${STATE_MIGRATIONS.length + 1}`);
    newer.close();
    assert.throws(
      () => openStateDb(file),
      (error) =>
        isWardenError(error, 'STORE_FAILED') &&
        error.message.includes(file) &&
        isWardenError(error.cause, 'STORE_FAILED') &&
        /^Warden's state database has schema version \d+, newer/.test(error.cause.message),
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
