import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AuditLog } from '../../main/core/audit/audit-log.ts';
import { AuditReader, type AuditRecord } from '../../main/core/audit/audit-reader.ts';

const CLI = path.resolve(import.meta.dirname, '../../bin/mcp-warden');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** A fresh HOME for one test (so nothing reads or writes the real user's files). */
function tempHome(t: { after: (fn: () => void) => void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'warden-audit-cli-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function isolatedEnv(home: string): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: home,
    XDG_CONFIG_HOME: path.join(home, '.config'),
    XDG_DATA_HOME: path.join(home, '.local/share'),
    XDG_STATE_HOME: path.join(home, '.local/state'),
  };
}

function run(home: string, args: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(CLI, args, { env: isolatedEnv(home), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/**
 * Fills an audit log with three calls: an allowed one that ended, a refused one, and one still
 * in flight. Returns the file and the row ids.
 */
/**
 * Three calls: ok, refused, in flight. With `keepOpen` the writer stays open (and is returned), as
 * the daemon that would finish the call in flight: a later writer chains it as it is (the
 * process that started it is gone), so only this one can record its outcome.
 */
function fillLog(home: string): { file: string; ids: number[] };
function fillLog(home: string, keepOpen: true): { file: string; ids: number[]; log: AuditLog };
function fillLog(home: string, keepOpen = false): { file: string; ids: number[]; log?: AuditLog } {
  const file = path.join(home, 'audit.db');
  const log = AuditLog.open(file);
  const base = {
    sessionId: 'session-1',
    clientName: 'claude-code',
    clientVersion: '1.0.0',
    server: 'everything',
    decision: 'allow' as const,
    reason: 'config',
  };
  const first = log.recordCall({
    ...base,
    startedAt: Date.parse('2025-06-01T12:00:00.000Z'),
    tool: 'echo',
    requestId: 1,
    arguments: { message: 'hello, "world"', api_key: 'sk-live-123' },
  });
  log.recordOutcome(first, { outcome: 'ok', durationMs: 3.25 });
  const second = log.recordRefusal(
    {
      ...base,
      startedAt: Date.parse('2025-06-01T12:00:01.000Z'),
      tool: 'delete_file',
      requestId: 'r-2',
      arguments: { path: '/etc/passwd' },
      reason: 'tool "delete_file" is denied',
    },
    'MCP Warden refused this call: tool "delete_file" is denied.',
  );
  const third = log.recordCall({
    ...base,
    startedAt: Date.parse('2025-06-01T12:00:02.000Z'),
    tool: '=HYPERLINK("http://evil")',
    requestId: 3,
    arguments: {},
  });
  if (keepOpen) return { file, ids: [first, second, third], log };
  log.close();
  return { file, ids: [first, second, third] };
}

test('audit tail -n 2 prints the last two calls, oldest first, one line each', async (t) => {
  const home = tempHome(t);
  const { file, ids } = fillLog(home);
  const result = await run(home, ['audit', '--db', file, 'tail', '-n', '2']);
  assert.equal(result.code, 0, result.stderr);
  assert.equal(result.stderr, '');
  const lines = result.stdout.trimEnd().split('\n');
  assert.equal(lines.length, 2);
  assert.equal(
    lines[0],
    `#${ids[1]}  2025-06-01T12:00:01.000Z  claude-code  everything/delete_file  deny  refused  0 ms  tool "delete_file" is denied`,
  );
  assert.equal(
    lines[1],
    `#${ids[2]}  2025-06-01T12:00:02.000Z  claude-code  everything/=HYPERLINK("http://evil")  allow  running  -  config`,
  );
});

test('audit tail --json prints one record per line', async (t) => {
  const home = tempHome(t);
  const { file, ids } = fillLog(home);
  const result = await run(home, ['audit', '--db', file, 'tail', '--json', '-n', '5']);
  assert.equal(result.code, 0, result.stderr);
  const records = result.stdout
    .trimEnd()
    .split('\n')
    .map((line) => JSON.parse(line) as AuditRecord);
  assert.deepEqual(
    records.map((r) => r.id),
    ids,
  );
  assert.deepEqual(records[0], {
    id: ids[0],
    ts: '2025-06-01T12:00:00.000Z',
    sessionId: 'session-1',
    clientName: 'claude-code',
    clientVersion: '1.0.0',
    server: 'everything',
    tool: 'echo',
    requestId: '1',
    arguments: { message: 'hello, "world"', api_key: '[redacted]' },
    decision: 'allow',
    reason: 'config',
    outcome: 'ok',
    error: null,
    durationMs: 3.25,
    policyVersion: null,
  });
});

test('audit export --format csv writes a header and every row', async (t) => {
  const home = tempHome(t);
  const { file, ids } = fillLog(home);
  const result = await run(home, ['audit', '--db', file, 'export', '--format', 'csv']);
  assert.equal(result.code, 0, result.stderr);
  assert.equal(
    result.stdout,
    [
      'id,ts,session_id,client_name,client_version,server,tool,request_id,arguments,decision,reason,outcome,error,duration_ms,policy_version',
      `${ids[0]},2025-06-01T12:00:00.000Z,session-1,claude-code,1.0.0,everything,echo,1,` +
        '"{""message"":""hello, \\""world\\"""",""api_key"":""[redacted]""}",allow,config,ok,,3.25,',
      `${ids[1]},2025-06-01T12:00:01.000Z,session-1,claude-code,1.0.0,everything,delete_file,r-2,` +
        '"{""path"":""/etc/passwd""}",deny,"tool ""delete_file"" is denied",refused,' +
        '"MCP Warden refused this call: tool ""delete_file"" is denied.",0,',
      // A cell that a spreadsheet would run as a formula is defused.
      `${ids[2]},2025-06-01T12:00:02.000Z,session-1,claude-code,1.0.0,everything,` +
        `"'=HYPERLINK(""http://evil"")",3,{},allow,config,,,,`,
      '',
    ].join('\n'),
  );
});

test('audit export --format jsonl writes every record as read back', async (t) => {
  const home = tempHome(t);
  const { file } = fillLog(home);
  const result = await run(home, ['audit', '--db', file, 'export', '--format', 'jsonl']);
  assert.equal(result.code, 0, result.stderr);
  const reader = AuditReader.open(file);
  const expected = [...reader.iterate()];
  reader.close();
  assert.equal(result.stdout, expected.map((r) => JSON.stringify(r) + '\n').join(''));
});

test('audit export --since keeps later calls and --output writes a private file', async (t) => {
  const home = tempHome(t);
  const { file, ids } = fillLog(home);
  const output = path.join(home, 'out.jsonl');
  const result = await run(home, [
    'audit',
    '--db',
    file,
    'export',
    '--format',
    'jsonl',
    '--since',
    '2025-06-01T12:00:01Z',
    '-o',
    output,
  ]);
  assert.equal(result.code, 0, result.stderr);
  assert.equal(result.stdout, '');
  const lines = fs.readFileSync(output, 'utf8').trimEnd().split('\n');
  assert.deepEqual(
    lines.map((line) => (JSON.parse(line) as { id: number }).id),
    ids.slice(1),
  );
  if (process.platform !== 'win32') assert.equal(fs.statSync(output).mode & 0o777, 0o600);
});

test('audit export with an unknown format or time is a usage error', async (t) => {
  const home = tempHome(t);
  const { file } = fillLog(home);
  const format = await run(home, ['audit', '--db', file, 'export', '--format', 'xml']);
  assert.notEqual(format.code, 0);
  assert.equal(format.stdout, '');
  assert.match(format.stderr, /'xml' is invalid\. Allowed choices are jsonl, csv/);

  const since = await run(home, [
    'audit',
    '--db',
    file,
    'export',
    '--format',
    'csv',
    '--since',
    'yesterday-ish',
  ]);
  assert.notEqual(since.code, 0);
  assert.equal(since.stdout, '');
  assert.match(since.stderr, /expected an ISO 8601 time/);
});

test('a missing audit log exits 1 with a clear message', async (t) => {
  const home = tempHome(t);
  const file = path.join(home, 'nothing-here.db');
  for (const args of [['tail'], ['export', '--format', 'csv']]) {
    const result = await run(home, ['audit', '--db', file, ...args]);
    assert.equal(result.code, 1);
    assert.equal(result.stdout, '');
    assert.equal(
      result.stderr,
      `mcp-warden: no audit log at ${file} yet: start \`mcp-warden serve\` and make a call\n`,
    );
    assert.equal(fs.existsSync(file), false, 'reading must not create the file');
  }
});

test('audit tail --follow prints new calls and their outcomes until SIGINT', async (t) => {
  const home = tempHome(t);
  const { file, ids, log } = fillLog(home, true);
  t.after(() => log.close());
  const child = spawn(CLI, ['audit', '--db', file, 'tail', '-f', '-n', '1'], {
    env: isolatedEnv(home),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.after(() => child.kill('SIGKILL'));
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const waiters: (() => void)[] = [];
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
    waiters.splice(0).forEach((wake) => wake());
  });
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  const lines = (): string[] => stdout.split('\n').filter(Boolean);
  const waitForLines = async (n: number): Promise<void> => {
    while (lines().length < n) {
      await Promise.race([
        new Promise<void>((resolve) => waiters.push(resolve)),
        exited.then(() => assert.fail(`tail exited early; stderr: ${stderr}`)),
      ]);
    }
  };

  await waitForLines(1);
  assert.match(lines()[0]!, new RegExp(`^#${ids[2]}  .*  running  -  config$`));

  const id = log.recordCall({
    startedAt: Date.parse('2025-06-01T13:00:00.000Z'),
    sessionId: 'session-2',
    server: 'fs',
    tool: 'read_file',
    decision: 'allow',
  });
  await waitForLines(2);
  log.recordOutcome(id, { outcome: 'error', error: 'upstream crashed\nwhile reading', durationMs: 40 });
  log.recordOutcome(ids[2]!, { outcome: 'cancelled', durationMs: 3600000 });
  log.close();
  await waitForLines(4);

  const [, added, ...ended] = lines();
  assert.equal(added, `#${id}  2025-06-01T13:00:00.000Z  -  fs/read_file  allow  running  -`);
  assert.deepEqual(
    ended.sort(),
    [
      `#${id}  2025-06-01T13:00:00.000Z  -  fs/read_file  allow  error  40 ms  upstream crashed while reading`,
      `#${ids[2]}  2025-06-01T12:00:02.000Z  claude-code  everything/=HYPERLINK("http://evil")  allow  cancelled  3600000 ms  config`,
    ].sort(),
  );

  child.kill('SIGINT');
  assert.equal(await exited, 0, stderr);
  assert.equal(stderr, '');
});
