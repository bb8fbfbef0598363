/**
 * The log of a daemon a shim started (headless) rotates past its size limit and keeps a few
 * files: a real shim, a real daemon process, a real server whose stderr fills the log.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { isProcessAlive } from '../../main/core/state-file.ts';
import { currentLogFile, rotatedLogFiles } from '../../main/core/log-file.ts';
import { callTool, resultText, shimClient } from '../helpers/sdk-client.ts';
import {
  EVERYTHING_JS,
  NODE,
  freePort,
  makeWardenEnv,
  waitFor,
  type WardenEnv,
} from '../helpers/warden-env.ts';

/** A file's text, or '' when it was removed meanwhile (rotation removes old files). */
function readIfThere(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

describe('daemon log', () => {
  let w: WardenEnv;

  beforeEach(() => {
    w = makeWardenEnv();
  });

  afterEach(() => {
    w.cleanup();
  });

  test('the headless daemon’s log rotates past its size limit and keeps a few files', async () => {
    // Four thousand lines on the server's stderr: each is a line of the daemon log.
    const noisy = {
      command: 'sh',
      args: [
        '-c',
        'i=0; while [ $i -lt 4000 ]; do echo "noise line $i" >&2; i=$((i+1)); done; exec "$0" "$1" stdio',
        NODE,
        EVERYTHING_JS,
      ],
    };
    w.writeConfig({ daemon: { port: await freePort() }, mcpServers: { everything: noisy } });
    const env = { ...w.env, MCP_WARDEN_LOG_MAX_SIZE: '64k', MCP_WARDEN_LOG_LEVEL: 'info' };
    const { client } = await shimClient(env, 'everything');
    const pid = w.state()?.pid;
    try {
      assert.equal(resultText(await callTool(client, 'echo', { message: 'logged' })), 'Echo: logged');
      const log = w.paths.daemonLogFile;
      // The last noise line is in the active file, or in the one before if a later line rolled it.
      await waitFor(
        () =>
          rotatedLogFiles(log)
            .slice(-2)
            .some((file) => /noise line 3999"/.test(readIfThere(file))),
        20_000,
        'the last noise line in the log',
      );
      assert.equal(currentLogFile(log), rotatedLogFiles(log).at(-1));
      // Old files are removed in the background, right after a roll.
      const files = await waitFor(
        () => (rotatedLogFiles(log).length === 5 ? rotatedLogFiles(log) : undefined),
        5000,
        'five files kept (the older ones removed)',
      );
      for (const file of files) {
        const size = fs.statSync(file).size;
        assert.ok(size <= 64 * 1024 + 32 * 1024, `${path.basename(file)} is ${size} bytes`);
        assert.equal(fs.statSync(file).mode & 0o777, 0o600);
      }
      assert.ok(Number(/\.(\d+)\.log$/.exec(files[0]!)![1]) > 1, 'the first files were removed');
      assert.doesNotMatch(
        fs.readFileSync(files[0]!, 'utf8'),
        /noise line 0"/,
        'the oldest lines rotated out',
      );
      assert.equal(fs.realpathSync(log), fs.realpathSync(files.at(-1)!), 'daemon.log is the active file');
      const stderrLog = path.join(path.dirname(log), 'daemon.stderr.log');
      assert.ok(fs.existsSync(stderrLog), 'the daemon’s stderr has its own file');
      assert.ok(fs.statSync(stderrLog).size < 64 * 1024);
    } finally {
      await client.close();
      if (pid) {
        process.kill(pid, 'SIGTERM');
        await waitFor(() => !isProcessAlive(pid), 15_000, 'the headless daemon to stop');
      }
    }
  });
});
