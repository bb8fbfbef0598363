/**
 * Secrets in a real OS keychain: gnome-keyring on a private D-Bus session (test/helpers/keyring.ts).
 * A server's token is a `${secret:…}` reference, resolved at spawn; the value reaches the
 * server's environment and no log, audit row, state file or error message.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { describe, test } from 'node:test';
import { useDaemonFixture } from '../helpers/daemon-fixture.ts';
import { callTool, httpClient, resultText } from '../helpers/sdk-client.ts';
import { keyringMissing, keytarLoads } from '../helpers/requirements.ts';
import { filesContaining } from '../helpers/secret-files.ts';
import { CLI, everythingServer, makeWardenEnv } from '../helpers/warden-env.ts';
import { runProcess, type RunResult } from '../helpers/run.ts';

const TOKEN = 'tok-5f1c9e-DO-NOT-LEAK-7a2b';
const skip = keyringMissing();

/** Runs the CLI with `input` on stdin; resolves with its exit code and output. */
const cli = (env: NodeJS.ProcessEnv, args: string[], input?: string): Promise<RunResult> =>
  runProcess(CLI, args, { env, ...(input === undefined ? {} : { input }) });

describe('secrets in the OS keychain', { skip }, () => {
  const fx = useDaemonFixture({
    keyring: true,
    prepare: async (w) => {
      w.writeConfig({
        mcpServers: {
          // "allow": these tests read the token back through get-env (results masking would mask it).
          everything: everythingServer({
            env: { API_TOKEN: '${secret:everything-token}' },
            resultSecrets: 'allow',
          }),
          needy: everythingServer({ env: { API_TOKEN: '${secret:never-set}' } }),
          other: everythingServer({ env: { API_TOKEN: '${secret:bound-elsewhere}' } }),
        },
      });
      const set = await cli(w.env, ['secrets', 'set', 'everything-token'], TOKEN);
      assert.equal(set.code, 0, set.stderr);
      assert.equal(
        (await cli(w.env, ['secrets', 'set', 'bound-elsewhere', '--server', 'everything'], 'x-bound-value'))
          .code,
        0,
      );
    },
  });

  test('a server whose token is a ${secret:…} reference starts with the token in its environment', async () => {
    const client = await httpClient(fx.daemon.url, fx.daemon.token, 'everything');
    try {
      const env = resultText(await callTool(client, 'get-env', {}));
      assert.ok(env.includes(TOKEN), 'the server sees the resolved token');
      assert.ok(!env.includes('${secret:'), 'no unresolved reference reaches the server');
    } finally {
      await client.close();
    }
  });

  test('a missing secret is a clear error naming the server and the secret; that server does not start', async () => {
    await assert.rejects(httpClient(fx.daemon.url, fx.daemon.token, 'needy'), (error: Error) => {
      assert.match(
        error.message,
        /server \\?"needy\\?" needs secret \\?"never-set\\?", which is not in the keychain; set it with `mcp-warden secrets set never-set`/,
      );
      return true;
    });
  });

  test('a secret bound to one server is not given to another', async () => {
    await assert.rejects(
      httpClient(fx.daemon.url, fx.daemon.token, 'other'),
      /may not use secret \\?"bound-elsewhere\\?": it is bound to server \\?"everything\\?"/,
    );
  });

  test('names are listed, values only with --reveal', async () => {
    const list = await cli(fx.w.env, ['secrets', 'list']);
    assert.match(list.stdout, /everything-token/);
    assert.match(list.stdout, /bound-elsewhere {2}\(bound to server "everything"\)/);
    assert.ok(!list.stdout.includes(TOKEN));
    const get = await cli(fx.w.env, ['secrets', 'get', 'everything-token']);
    assert.ok(!get.stdout.includes(TOKEN));
    assert.equal(
      (await cli(fx.w.env, ['secrets', 'get', 'everything-token', '--reveal'])).stdout.trim(),
      TOKEN,
    );
  });

  test('the token appears in no log, audit row, state file or config', async () => {
    // While the daemon runs: its databases' -wal and -shm files are there too.
    assert.ok(fs.existsSync(`${fx.w.paths.auditDb}-wal`), 'the audit log has its write-ahead log open');
    assert.deepEqual(filesContaining(fx.w.home, TOKEN), []);
    assert.deepEqual(filesContaining(fx.w.home, 'x-bound-value'), []);
    await fx.daemon.stop();
    assert.ok(!fx.daemon.output().includes(TOKEN), 'the daemon log holds the token');
    assert.deepEqual(filesContaining(fx.w.home, TOKEN), []);
    assert.deepEqual(filesContaining(fx.w.home, 'x-bound-value'), []);
    await fx.start();
  });
});

describe('no keychain available', () => {
  test('a clear error saying what is missing, and nothing written in plain text anywhere', async () => {
    const w = makeWardenEnv();
    try {
      w.writeConfig({ mcpServers: { everything: everythingServer() } });
      // No D-Bus session and no display: what a headless login without a keyring looks like.
      const { DBUS_SESSION_BUS_ADDRESS: _bus, DISPLAY: _display, ...env } = { ...process.env, ...w.env };
      const result = await cli(env, ['secrets', 'set', 'api-token'], TOKEN);
      assert.equal(result.code, 1);
      if (keytarLoads()) {
        assert.match(result.stderr, /the OS keychain is not available: there is no D-Bus session/);
        assert.match(result.stderr, /Nothing was stored in plain text/);
      } else {
        // A machine without libsecret at `npm ci` time has no keytar build: that is what is missing.
        assert.match(result.stderr, /the OS keychain module \(keytar\) is not installed or could not load/);
        assert.match(result.stderr, /sudo apt-get install libsecret-1-dev.*reinstall MCP Warden \(`npm ci`/);
        assert.match(result.stderr, /never stored in plain text/);
      }
      assert.ok(!result.stderr.includes(TOKEN) && !result.stdout.includes(TOKEN));
      assert.deepEqual(filesContaining(w.home, TOKEN), []);
    } finally {
      w.cleanup();
    }
  });
});
