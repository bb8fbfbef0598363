/**
 * The rotating diagnostic log (pino-roll): bounded by size and file count, `daemon.log` a link
 * to the active file, owner-only files, an old unrotated daemon.log adopted, sizes parsed with
 * clear errors. Real files in a temp directory.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import fc from 'fast-check';
import {
  currentLogFile,
  DAEMON_LOG_MAX_BYTES,
  logMaxBytes,
  openRotatingLog,
  parseLogSize,
  rotatedLogFiles,
} from '../../main/core/log-file.ts';
import { createLogger } from '../../main/core/log.ts';
import { waitFor } from '../helpers/warden-env.ts';

function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'warden-log-'));
}

/** Logs `count` lines, letting the event loop turn now and then (as a daemon does), then closes the log. */
async function logLines(
  file: string,
  count: number,
  options: { maxBytes: number; files: number },
  run = 'first',
): Promise<void> {
  const destination = await openRotatingLog(file, options);
  const logger = createLogger({ destination, level: 'info' });
  for (let i = 0; i < count; i++) {
    logger.info({ i, run }, `line ${i} ${'x'.repeat(80)}`);
    if (i % 20 === 0) await new Promise((resolve) => setImmediate(resolve));
  }
  // As a process that exits: the stream is closed (a roll still pending is dropped).
  const stream = destination as unknown as NodeJS.EventEmitter & { end(): void };
  await new Promise((resolve) => {
    stream.once('close', resolve);
    stream.end();
  });
}

test('rotates past the size limit, keeps the newest files only, daemon.log links to the active one', async () => {
  const dir = tempDir();
  try {
    const file = path.join(dir, 'state', 'daemon.log');
    await logLines(file, 3000, { maxBytes: 32 * 1024, files: 4 });
    // pino-roll removes old files in the background, right after a roll.
    const files = await waitFor(
      () => (rotatedLogFiles(file).length === 4 ? rotatedLogFiles(file) : undefined),
      2000,
      'four files kept',
    );
    const total = files.reduce((sum, f) => sum + fs.statSync(f).size, 0);
    assert.ok(total < 4 * (32 * 1024 + 20 * 200), `total ${total} bytes stays bounded`);
    assert.ok(fs.lstatSync(file).isSymbolicLink());
    assert.equal(currentLogFile(file), files.at(-1));
    const last = fs.readFileSync(file, 'utf8').trim().split('\n').at(-1)!;
    assert.equal((JSON.parse(last) as { i: number }).i, 2999, 'the newest line is in the active file');
    assert.doesNotMatch(fs.readFileSync(files[0]!, 'utf8'), /"i":0,/, 'the oldest lines rotated out');
    for (const f of files) assert.equal(fs.statSync(f).mode & 0o777, 0o600);
    assert.equal(fs.statSync(path.dirname(file)).mode & 0o777, 0o700);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a restart appends to the active file and counts the files of earlier runs', async () => {
  const dir = tempDir();
  try {
    const file = path.join(dir, 'daemon.log');
    await logLines(file, 1500, { maxBytes: 16 * 1024, files: 3 });
    const active = currentLogFile(file);
    await logLines(file, 1, { maxBytes: 16 * 1024, files: 3 }, 'second');
    assert.match(fs.readFileSync(active, 'utf8'), /"run":"second"/, 'a restart writes on in the active file');
    await logLines(file, 1500, { maxBytes: 16 * 1024, files: 3 }, 'third');
    await waitFor(() => rotatedLogFiles(file).length === 3, 2000, 'older runs’ files to be removed too');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a daemon.log from a version that did not rotate is kept as daemon.0.log and rotates out', async () => {
  const dir = tempDir();
  try {
    const file = path.join(dir, 'daemon.log');
    fs.writeFileSync(file, '{"msg":"from before"}\n');
    await logLines(file, 5, { maxBytes: 16 * 1024, files: 3 });
    assert.match(fs.readFileSync(path.join(dir, 'daemon.0.log'), 'utf8'), /from before/);
    assert.ok(fs.lstatSync(file).isSymbolicLink());
    await logLines(file, 2000, { maxBytes: 16 * 1024, files: 3 });
    await waitFor(() => !fs.existsSync(path.join(dir, 'daemon.0.log')), 2000, 'daemon.0.log to rotate out');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('sizes: bytes or k/m/g; anything else, or under 16k, is a clear error', async () => {
  assert.equal(parseLogSize('10m'), 10 * 1024 * 1024);
  assert.equal(parseLogSize('64k'), 64 * 1024);
  assert.equal(parseLogSize('1G'), 1024 ** 3);
  assert.equal(parseLogSize('20000'), 20000);
  assert.equal(parseLogSize('1.5m'), 1.5 * 1024 * 1024);
  assert.equal(logMaxBytes({}), DAEMON_LOG_MAX_BYTES);
  assert.equal(logMaxBytes({ MCP_WARDEN_LOG_MAX_SIZE: '32k' }), 32 * 1024);
  for (const bad of ['', 'ten', '10x', '-5m', '1k', 'm', '10 m b c'])
    assert.throws(() => parseLogSize(bad), /MCP_WARDEN_LOG_MAX_SIZE must be a size of at least 16k/, bad);
  fc.assert(
    fc.property(fc.string({ maxLength: 12 }), (text) => {
      try {
        assert.ok(parseLogSize(text) >= 16 * 1024);
      } catch (error) {
        assert.match(String(error), /must be a size of at least 16k.*got "/s);
      }
    }),
  );
  await assert.rejects(openRotatingLog('/tmp/x/daemon.txt'), /must end in \.log/);
});
