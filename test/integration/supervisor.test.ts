/**
 * Upstream failures, with a real daemon and a purpose-built hostile server
 * (test/fixtures/crashy-server.ts): crashes mid-call, garbage on stdout, and a server that
 * cannot start, which opens the circuit breaker.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { useDaemonFixture } from '../helpers/daemon-fixture.ts';
import { callTool, httpClient, resultText } from '../helpers/sdk-client.ts';
import { NODE, ROOT, waitFor } from '../helpers/warden-env.ts';

const CRASHY = path.join(ROOT, 'test/fixtures/crashy-server.ts');

describe('supervisor', () => {
  let starts: string;

  const fx = useDaemonFixture({
    prepare: (w) => {
      // The server writes this file from inside the OS sandbox: its directory is allowed.
      fs.mkdirSync(path.join(w.home, 'out'));
      starts = path.join(w.home, 'out', 'starts.txt');
    },
    config: (w) => ({
      // The fixture's tools carry no annotations: allow them, this test is about failures.
      policy: { rules: [{ tool: '*', action: 'allow' }] },
      mcpServers: {
        crashy: {
          command: NODE,
          args: [CRASHY],
          env: { CRASHY_STARTS_FILE: starts },
          sandbox: { filesystem: { allowWrite: [path.dirname(starts)] } },
        },
        broken: { command: NODE, args: [CRASHY], env: { CRASHY_FAIL_AT_START: '1' } },
        missing: { command: path.join(w.home, 'no-such-binary') },
      },
    }),
  });

  const startCount = (): number =>
    fs.existsSync(starts) ? fs.readFileSync(starts, 'utf8').trim().split('\n').length : 0;

  test('an upstream that dies mid-call: the call fails fast with a clear error, a later call succeeds after the restart', async () => {
    const client = await httpClient(fx.daemon.url, fx.daemon.token, 'crashy');
    try {
      assert.equal(resultText(await callTool(client, 'echo', { message: 'before' })), 'echo: before');
      const before = startCount();
      const t0 = performance.now();
      await assert.rejects(callTool(client, 'crash', {}, 15_000), (error: Error) => {
        assert.match(
          error.message,
          /server "crashy" did not answer tools\/call: the server process exited with code 3/,
        );
        return true;
      });
      assert.ok(performance.now() - t0 < 10_000, 'the in-flight call was not failed promptly');
      await waitFor(() => startCount() > before, 15_000, 'the restart');
      // The restarted server was re-initialized by Warden: the same session works again.
      assert.equal(resultText(await callTool(client, 'echo', { message: 'after' }, 20_000)), 'echo: after');
    } finally {
      await client.close();
    }
  });

  test('a request sent while the upstream restarts waits for it instead of failing', async () => {
    const client = await httpClient(fx.daemon.url, fx.daemon.token, 'crashy');
    try {
      await assert.rejects(callTool(client, 'crash', {}, 15_000));
      assert.equal(resultText(await callTool(client, 'echo', { message: 'queued' }, 20_000)), 'echo: queued');
    } finally {
      await client.close();
    }
  });

  test('garbage on the upstream stdout is skipped and the session goes on', async () => {
    const client = await httpClient(fx.daemon.url, fx.daemon.token, 'crashy');
    try {
      assert.equal(resultText(await callTool(client, 'garbage', {})), 'still alive');
      assert.equal(resultText(await callTool(client, 'echo', { message: 'ok' })), 'echo: ok');
    } finally {
      await client.close();
    }
  });

  test('a command that does not exist is a clear error naming it', async () => {
    await assert.rejects(httpClient(fx.daemon.url, fx.daemon.token, 'missing'), (error: Error) => {
      assert.match(error.message, /no-such-binary/);
      return true;
    });
  });

  test('a server that keeps failing opens the circuit breaker: the client gets a clear error at once', async () => {
    const failures: string[] = [];
    for (let i = 0; i < 5; i++) {
      await assert.rejects(httpClient(fx.daemon.url, fx.daemon.token, 'broken'), (error: Error) => {
        failures.push(error.message);
        return true;
      });
    }
    const t0 = performance.now();
    await assert.rejects(httpClient(fx.daemon.url, fx.daemon.token, 'broken'), (error: Error) => {
      assert.match(
        error.message,
        /server "broken" failed \d+ times in a row; Warden stopped restarting it until/,
      );
      return true;
    });
    assert.ok(performance.now() - t0 < 2000, 'an open breaker must answer at once');
  });
});
