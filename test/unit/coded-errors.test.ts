/**
 * Errors of the lower modules carry their WardenError code (errors.ts), so the edges map them
 * (JSON-RPC, HTTP, IPC) without their callers wrapping plain Errors: the stdin writer, the
 * change journal and the process tree.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { QueuedWriter } from '../../main/core/bridge/queued-writer.ts';
import { journalFile, readJournal } from '../../main/core/change/journal.ts';
import { isWardenError } from '../../main/core/errors.ts';
import { silentLogger } from '../../main/core/log.ts';
import { ProcessTree } from '../../main/core/process/process-tree.ts';

test('a write to a closed stdin rejects with UPSTREAM_CRASHED naming the stream', async () => {
  const stream = new PassThrough();
  const writer = new QueuedWriter(stream, "the server process's stdin");
  stream.destroy();
  await assert.rejects(writer.write('x'), (error: unknown) => {
    assert.ok(isWardenError(error, 'UPSTREAM_CRASHED'), String(error));
    assert.match(error.message, /the server process's stdin (is|was) closed/);
    return true;
  });
});

test('a damaged or unknown change journal is CHANGE_PENDING, naming the file', (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'warden-journal-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  assert.equal(readJournal(dir), undefined);
  for (const [text, why] of [
    ['{"version": 1, "steps": [', /damaged \(not JSON\)/],
    ['{"version": 99, "steps": []}', /not a change journal this version of MCP Warden knows/],
  ] as const) {
    fs.writeFileSync(journalFile(dir), text);
    assert.throws(
      () => readJournal(dir),
      (error: unknown) =>
        isWardenError(error, 'CHANGE_PENDING') &&
        error.message.includes(journalFile(dir)) &&
        why.test(error.message),
    );
  }
});

test('a process tree of a child that never started is UPSTREAM_UNAVAILABLE', async () => {
  const child = spawn(path.join(os.tmpdir(), 'warden-no-such-program-' + process.pid), { stdio: 'ignore' });
  const failed = new Promise((resolve) => child.once('error', resolve));
  assert.throws(
    () => new ProcessTree(child, silentLogger()),
    (error: unknown) => isWardenError(error, 'UPSTREAM_UNAVAILABLE') && /not started/.test(error.message),
  );
  await failed;
});
