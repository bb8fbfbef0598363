import { test } from 'node:test';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { AuditLog, type AuditCallStart } from '../../main/core/audit/audit-log.ts';
import { AuditReader } from '../../main/core/audit/audit-reader.ts';
import { runUntilKilled } from '../helpers/killed-writer.ts';
import { applyMigrations, MIGRATIONS, SCHEMA_VERSION } from '../../main/core/audit/migrations.ts';
import { isWardenError } from '../../main/core/errors.ts';

const AUDIT_LOG_TS = path.resolve(import.meta.dirname, '../../main/core/audit/audit-log.ts');

/** A fresh directory for one test, removed when the test ends. */
function tempDir(t: { after: (fn: () => void) => void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'warden-audit-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function call(overrides: Partial<AuditCallStart> = {}): AuditCallStart {
  return {
    startedAt: Date.parse('2025-06-01T12:00:00.123Z'),
    sessionId: 'session-1',
    clientName: 'test-client',
    clientVersion: '1.2.3',
    server: 'everything',
    tool: 'echo',
    requestId: 7,
    arguments: { message: 'hello' },
    decision: 'allow',
    reason: 'config',
    ...overrides,
  };
}

function raw(file: string): Database.Database {
  return new Database(file, { readonly: true, fileMustExist: true });
}

test('migrations are numbered from 1 without gaps', () => {
  assert.deepEqual(
    MIGRATIONS.map((m) => m.version),
    MIGRATIONS.map((_, i) => i + 1),
  );
  assert.equal(SCHEMA_VERSION, MIGRATIONS.length);
});

test('open creates the directory and file, enables WAL and applies the migrations', (t) => {
  const file = path.join(tempDir(t), 'nested', 'dir', 'audit.db');
  const log = AuditLog.open(file);
  log.close();
  const db = raw(file);
  t.after(() => db.close());
  assert.equal(db.pragma('user_version', { simple: true }), SCHEMA_VERSION);
  assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
  const columns = (db.prepare('PRAGMA table_info(tool_calls)').all() as { name: string }[]).map(
    (c) => c.name,
  );
  for (const column of [
    'id',
    'ts',
    'session_id',
    'client_name',
    'client_version',
    'server',
    'tool',
    'request_id',
    'arguments',
    'decision',
    'reason',
    'outcome',
    'error',
    'duration_ms',
    'policy_version',
  ]) {
    assert.ok(columns.includes(column), `column ${column}`);
  }
  if (process.platform !== 'win32') {
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    assert.equal(fs.statSync(path.dirname(file)).mode & 0o777, 0o700);
  }
});

test('reopening keeps the rows and applies no migration twice', (t) => {
  const file = path.join(tempDir(t), 'audit.db');
  const first = AuditLog.open(file);
  const id = first.recordCall(call());
  first.close();
  const second = AuditLog.open(file, { synchronous: 'full' });
  const id2 = second.recordCall(call({ tool: 'add' }));
  second.close();
  assert.ok(id2 > id);

  const db = new Database(file);
  t.after(() => db.close());
  assert.deepEqual(applyMigrations(db), { from: SCHEMA_VERSION, to: SCHEMA_VERSION });
  assert.equal((db.prepare('SELECT count(*) AS n FROM tool_calls').get() as { n: number }).n, 2);
});

test('a database from a newer Warden is refused with AUDIT_FAILED', (t) => {
  const file = path.join(tempDir(t), 'audit.db');
  AuditLog.open(file).close();
  const db = new Database(file);
  db.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
  db.close();
  assert.throws(
    () => AuditLog.open(file),
    (error) =>
      isWardenError(error, 'AUDIT_FAILED') && error.message.includes(file) && /newer/.test(error.message),
  );
});

test('recordCall then recordOutcome round-trips every field', (t) => {
  const file = path.join(tempDir(t), 'audit.db');
  const log = AuditLog.open(file);
  t.after(() => log.close());
  const id = log.recordCall(call());
  const reader = AuditReader.open(file);
  t.after(() => reader.close());

  assert.deepEqual(reader.latest(1), [
    {
      id,
      ts: '2025-06-01T12:00:00.123Z',
      sessionId: 'session-1',
      clientName: 'test-client',
      clientVersion: '1.2.3',
      server: 'everything',
      tool: 'echo',
      requestId: '7',
      arguments: { message: 'hello' },
      decision: 'allow',
      reason: 'config',
      outcome: null,
      error: null,
      durationMs: null,
      policyVersion: null,
    },
  ]);

  log.recordOutcome(id, { outcome: 'tool_error', error: 'no such file', durationMs: 12.345 });
  const [record] = reader.latest(1);
  assert.equal(record?.outcome, 'tool_error');
  assert.equal(record?.error, 'no such file');
  assert.equal(record?.durationMs, 12.345);
});

test('optional fields are stored as null', (t) => {
  const file = path.join(tempDir(t), 'audit.db');
  const log = AuditLog.open(file);
  t.after(() => log.close());
  const id = log.recordCall({
    startedAt: Date.parse('2025-06-01T00:00:00Z'),
    sessionId: 's',
    server: 'fs',
    tool: 'list',
    decision: 'allow',
  });
  log.recordOutcome(id, { outcome: 'ok', durationMs: 1 });
  const reader = AuditReader.open(file);
  t.after(() => reader.close());
  const [record] = reader.latest(1);
  assert.equal(record?.clientName, null);
  assert.equal(record?.clientVersion, null);
  assert.equal(record?.requestId, null);
  assert.equal(record?.arguments, null);
  assert.equal(record?.reason, null);
  assert.equal(record?.outcome, 'ok');
  assert.equal(record?.error, null);
});

test('recordRefusal stores a denied call with outcome refused and duration 0', (t) => {
  const file = path.join(tempDir(t), 'audit.db');
  const log = AuditLog.open(file);
  t.after(() => log.close());
  const id = log.recordRefusal(
    call({ tool: 'delete', decision: 'allow', reason: 'tool "delete" is denied' }),
    'MCP Warden refused this call',
  );
  const reader = AuditReader.open(file);
  t.after(() => reader.close());
  const [record] = reader.after(id - 1);
  assert.equal(record?.id, id);
  assert.equal(record?.decision, 'deny');
  assert.equal(record?.outcome, 'refused');
  assert.equal(record?.error, 'MCP Warden refused this call');
  assert.equal(record?.reason, 'tool "delete" is denied');
  assert.equal(record?.durationMs, 0);
});

test('secrets in arguments are redacted before they reach the file', (t) => {
  const file = path.join(tempDir(t), 'audit.db');
  const log = AuditLog.open(file);
  const args = {
    url: 'https://example.com',
    headers: { Authorization: 'Bearer top-secret-1', 'Content-Type': 'application/json' },
    auth: { user: 'ann', password: 'top-secret-2' },
    items: [{ api_key: 'top-secret-3', name: 'kept' }],
  };
  const id = log.recordCall(call({ arguments: args }));
  log.close();

  const db = raw(file);
  const stored = (
    db.prepare('SELECT arguments FROM tool_calls WHERE id = ?').get(id) as { arguments: string }
  ).arguments;
  db.close();
  assert.deepEqual(JSON.parse(stored), {
    url: 'https://example.com',
    headers: { Authorization: '[redacted]', 'Content-Type': 'application/json' },
    auth: '[redacted]',
    items: [{ api_key: '[redacted]', name: 'kept' }],
  });
  // Not in the database file, its WAL, or anywhere else on disk.
  for (const name of fs.readdirSync(path.dirname(file))) {
    assert.doesNotMatch(fs.readFileSync(path.join(path.dirname(file), name), 'latin1'), /top-secret/, name);
  }
  // The caller's object is untouched.
  assert.equal(args.auth.password, 'top-secret-2');
});

test('a row is visible to another connection as soon as recordCall returns', (t) => {
  const file = path.join(tempDir(t), 'audit.db');
  const log = AuditLog.open(file);
  t.after(() => log.close());
  const other = raw(file);
  t.after(() => other.close());
  const count = other.prepare('SELECT count(*) AS n FROM tool_calls');
  assert.equal((count.get() as { n: number }).n, 0);

  const id = log.recordCall(call());
  const row = other.prepare('SELECT id, tool, outcome FROM tool_calls WHERE id = ?').get(id);
  assert.deepEqual({ ...(row as object) }, { id, tool: 'echo', outcome: null });

  log.recordOutcome(id, { outcome: 'ok', durationMs: 2 });
  const after = other.prepare('SELECT outcome FROM tool_calls WHERE id = ?').get(id) as { outcome: string };
  assert.equal(after.outcome, 'ok');
});

test('every call recorded before a kill -9 is in the log afterwards', async (t) => {
  const file = path.join(tempDir(t), 'audit.db');
  // Records calls as fast as it can, printing each id once recordCall (and then recordOutcome) returned.
  const script = `
    import { AuditLog } from ${JSON.stringify(pathToFileURL(AUDIT_LOG_TS).href)};
    const log = AuditLog.open(${JSON.stringify(file)});
    let i = 0;
    const next = () => {
      i++;
      const id = log.recordCall({ startedAt: Date.now(), sessionId: 'kill', server: 's', tool: 't' + i, decision: 'allow', arguments: { i } });
      process.stdout.write('call ' + id + ' ' + i + '\\n');
      log.recordOutcome(id, { outcome: 'ok', durationMs: 0.5 });
      process.stdout.write('done ' + id + '\\n');
      setImmediate(next);
    };
    next();
  `;
  const { calls, done } = await runUntilKilled(script, (out) => out.calls.size >= 200);
  assert.ok(calls.size >= 200);

  const reader = AuditReader.open(file);
  t.after(() => reader.close());
  const stored = new Map(reader.latest(1_000_000).map((r) => [r.id, r]));
  for (const [id, i] of calls) {
    const record = stored.get(id);
    assert.ok(record, `call #${id} was printed but is not in the log`);
    assert.equal(record.tool, `t${i}`);
    assert.deepEqual(record.arguments, { i });
  }
  for (const id of done) assert.equal(stored.get(id)?.outcome, 'ok', `outcome of #${id}`);
});

test('opening where no file can be created fails with AUDIT_FAILED naming the file', (t) => {
  const dir = tempDir(t);
  const notADir = path.join(dir, 'a-file');
  fs.writeFileSync(notADir, 'x');
  const file = path.join(notADir, 'audit.db');
  assert.throws(
    () => AuditLog.open(file),
    (error) => isWardenError(error, 'AUDIT_FAILED') && error.message.includes(file),
  );
});

test('opening in a read-only directory fails with AUDIT_FAILED', { skip: !canTestPermissions() }, (t) => {
  const dir = path.join(tempDir(t), 'locked');
  fs.mkdirSync(dir, { mode: 0o500 });
  t.after(() => fs.chmodSync(dir, 0o700));
  const file = path.join(dir, 'audit.db');
  assert.throws(
    () => AuditLog.open(file),
    (error) => isWardenError(error, 'AUDIT_FAILED') && error.message.includes(file),
  );
});

test('a file that is not an SQLite database fails with AUDIT_FAILED', (t) => {
  const file = path.join(tempDir(t), 'audit.db');
  fs.writeFileSync(file, 'this is not a database, just some text that is long enough '.repeat(20));
  assert.throws(
    () => AuditLog.open(file),
    (error) => isWardenError(error, 'AUDIT_FAILED') && error.message.includes(file),
  );
});

test('recording after close or for an unknown id fails with AUDIT_FAILED', (t) => {
  const file = path.join(tempDir(t), 'audit.db');
  const log = AuditLog.open(file);
  assert.throws(
    () => log.recordOutcome(999, { outcome: 'ok', durationMs: 1 }),
    (error) => isWardenError(error, 'AUDIT_FAILED') && error.message.includes('#999'),
  );
  log.close();
  log.close();
  assert.throws(
    () => log.recordCall(call()),
    (error) => isWardenError(error, 'AUDIT_FAILED') && error.message.includes(file),
  );
});

test('the reader lists the latest rows oldest first, rows after an id, and rows since a time', (t) => {
  const file = path.join(tempDir(t), 'audit.db');
  const log = AuditLog.open(file);
  t.after(() => log.close());
  const base = Date.parse('2025-06-01T00:00:00Z');
  const ids = [0, 1, 2, 3, 4].map((i) =>
    log.recordCall(call({ startedAt: base + i * 60_000, tool: `t${i}` })),
  );
  const reader = AuditReader.open(file);
  t.after(() => reader.close());

  assert.deepEqual(
    reader.latest(2).map((r) => r.tool),
    ['t3', 't4'],
  );
  assert.equal(reader.latest(100).length, 5);
  assert.deepEqual(reader.latest(0), []);
  assert.deepEqual(
    reader.after(ids[2]!).map((r) => r.id),
    ids.slice(3),
  );
  assert.deepEqual(
    [...reader.iterate({ since: base + 2 * 60_000 })].map((r) => r.tool),
    ['t2', 't3', 't4'],
  );
  assert.equal([...reader.iterate()].length, 5);
  assert.deepEqual(
    reader.byIds([ids[4]!, ids[0]!, 12345]).map((r) => r.tool),
    ['t0', 't4'],
  );

  // Stopping an export early leaves the reader usable.
  for (const record of reader.iterate()) {
    assert.equal(record.tool, 't0');
    break;
  }
  assert.equal(reader.latest(1)[0]?.tool, 't4');
});

test('the reader says clearly when there is no audit log yet', (t) => {
  const file = path.join(tempDir(t), 'audit.db');
  assert.throws(
    () => AuditReader.open(file),
    (error) =>
      isWardenError(error, 'AUDIT_FAILED') &&
      error.message === `no audit log at ${file} yet: start \`mcp-warden serve\` and make a call`,
  );
  // An empty file (no schema) is no audit log either.
  fs.writeFileSync(file, '');
  assert.throws(
    () => AuditReader.open(file),
    (error) => isWardenError(error, 'AUDIT_FAILED') && error.message.startsWith('no audit log at'),
  );
});

/** Permission checks mean nothing to root or on Windows. */
function canTestPermissions(): boolean {
  return process.platform !== 'win32' && process.getuid?.() !== 0;
}
