/**
 * Secrets never reach the audit log, its WAL or the daemon log, and never reach the client
 * through a result (issue 13 item 3, issue 14 item 7), with a real daemon, the real keychain
 * (gnome-keyring on a private D-Bus session) and server-everything: its `echo` tool returns its
 * arguments, its `get-env` tool returns its own environment, which holds a `${secret:…}` Warden
 * injected.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import fs from 'node:fs';
import { describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { useDaemonFixture } from '../helpers/daemon-fixture.ts';
import { startKeyring } from '../helpers/keyring.ts';
import { callTool, httpClient, resultText, shimClient } from '../helpers/sdk-client.ts';
import { keyringMissing } from '../helpers/requirements.ts';
import { filesContaining } from '../helpers/secret-files.ts';
import { startOtlpReceiver, type OtlpReceiver } from '../fixtures/otlp-receiver.ts';
import { runProcess } from '../helpers/run.ts';
import { CLI, everythingServer, freePort, makeWardenEnv, waitFor } from '../helpers/warden-env.ts';

/** Token-shaped values, built here so no file of the repository holds one whole. */
const GITHUB_TOKEN = ['ghp', '_', 'Zq7Lk2Vx9Rt4Mn8Pw3Hy6Bc1Df5Gj0Ks2Ua9'].join('');
const SLACK_TOKEN = ['xoxb', '-', '482915736042-5938271640385-', 'qWeRtYuIoPaSdFgHjKlZxCvB'].join('');
const PRIVATE_KEY = generateKeyPairSync('rsa', { modulusLength: 2048 })
  .privateKey.export({ type: 'pkcs1', format: 'pem' })
  .toString();
/** The body of the key, as it would show inside JSON (newlines escaped) or alone. */
const KEY_BODY = PRIVATE_KEY.split('\n')[5]!;
/** A secret Warden injects: nothing token-shaped, found because Warden knows the value. */
const INJECTED = 'wdn-injected-7Hq2Xp9Lm4';

type Row = Record<string, unknown>;

function auditRows(file: string): Row[] {
  const db = new Database(file, { readonly: true });
  try {
    return db.prepare('SELECT * FROM tool_calls ORDER BY id').all() as Row[];
  } finally {
    db.close();
  }
}

describe('redaction at audit write time and results masking', { skip: keyringMissing() }, () => {
  /** An OTLP collector the audit records are forwarded to (audit.destinations). */
  let otlp: OtlpReceiver;
  const fx = useDaemonFixture({
    keyring: true,
    prepare: async (w, defer) => {
      otlp = await startOtlpReceiver();
      defer(() => otlp.close());
      w.writeConfig({
        audit: { destinations: { collector: { type: 'otlp', endpoint: otlp.url, maxBackoffSeconds: 2 } } },
        mcpServers: {
          everything: everythingServer({ env: { UPSTREAM_PAT: '${secret:upstream-pat}' } }),
          strict: everythingServer({
            env: { UPSTREAM_PAT: '${secret:upstream-pat}' },
            resultSecrets: 'block',
          }),
        },
      });
      const set = await runProcess(CLI, ['secrets', 'set', 'upstream-pat'], { env: w.env, input: INJECTED });
      assert.equal(set.code, 0, set.stderr);
    },
  });

  test('secrets in the arguments and the result: the client gets them masked, the row names the rules', async () => {
    const client = await httpClient(fx.url, fx.token, 'everything');
    try {
      const message = `deploy with ${GITHUB_TOKEN} and notify ${SLACK_TOKEN}\n${PRIVATE_KEY}`;
      const result = await callTool(client, 'echo', { message });
      const text = resultText(result);
      assert.equal(result.isError, undefined);
      for (const secret of [GITHUB_TOKEN, SLACK_TOKEN, KEY_BODY]) assert.ok(!text.includes(secret), text);
      assert.match(text, /deploy with \[REDACTED:github\] and notify \[REDACTED:slack\]/);
      assert.match(text, /\[REDACTED:privatekey\]/);
    } finally {
      await client.close();
    }
    const row = await waitFor(
      () => auditRows(fx.w.paths.auditDb).find((r) => r.tool === 'echo' && r.outcome !== null),
      10_000,
      'the echo row',
    );
    assert.equal(row.outcome, 'ok');
    assert.equal(row.sensitive_data_detected, 1);
    assert.equal(row.result_secret_action, 'mask');
    assert.deepEqual(String(row.result_secret_rules).split(','), ['github', 'privatekey', 'slack']);
    const args = JSON.parse(String(row.arguments)) as { message: string };
    assert.match(
      args.message,
      /^deploy with \[REDACTED:github\] and notify \[REDACTED:slack\]\n\[REDACTED:privatekey\]/,
    );
    assert.match(String(row.arguments_hmac), /^[0-9a-f]{64}$/, 'a keyed HMAC of the raw arguments');
  });

  test('the same arguments give the same HMAC; its key is in the keychain, not in a file', async () => {
    const client = await httpClient(fx.url, fx.token, 'everything');
    try {
      await callTool(client, 'echo', { message: 'correlate me' });
      await callTool(client, 'echo', { message: 'correlate me' });
      await callTool(client, 'echo', { message: 'something else' });
    } finally {
      await client.close();
    }
    const rows = await waitFor(() => {
      const found = auditRows(fx.w.paths.auditDb).filter(
        (r) => r.tool === 'echo' && /correlate me|something else/.test(String(r.arguments)),
      );
      return found.length === 3 && found;
    });
    assert.equal(rows[0]!.arguments_hmac, rows[1]!.arguments_hmac);
    assert.notEqual(rows[0]!.arguments_hmac, rows[2]!.arguments_hmac);
    const list = await runProcess(CLI, ['secrets', 'list'], { env: fx.w.env });
    // The key is the audit's own (service mcp-warden-audit), not a secret a config could reference.
    assert.doesNotMatch(list.stdout, /hmac/i);
  });

  test('personal data sets pii_detected and is kept; a call without any sets neither flag', async () => {
    const client = await httpClient(fx.url, fx.token, 'everything');
    try {
      await callTool(client, 'echo', { message: 'write to jane.doe@example.com, card 4111 1111 1111 1111' });
      await callTool(client, 'echo', { message: 'nothing personal' });
    } finally {
      await client.close();
    }
    const rows = await waitFor(() => {
      const all = auditRows(fx.w.paths.auditDb);
      const pii = all.find((r) => String(r.arguments).includes('jane.doe'));
      const plain = all.find((r) => String(r.arguments).includes('nothing personal'));
      return pii && plain && { pii, plain };
    });
    assert.equal(rows.pii.pii_detected, 1);
    assert.equal(rows.pii.sensitive_data_detected, 0);
    assert.equal(rows.plain.pii_detected, 0);
    assert.equal(rows.plain.sensitive_data_detected, 0);
  });

  test('a server that echoes its environment: the injected secret reaches the client masked', async () => {
    const client = await httpClient(fx.url, fx.token, 'everything');
    try {
      const text = resultText(await callTool(client, 'get-env', {}));
      assert.ok(!text.includes(INJECTED), 'the injected value does not reach the client');
      assert.match(text, /\[REDACTED:injected:upstream-pat\]/);
    } finally {
      await client.close();
    }
    const row = await waitFor(() =>
      auditRows(fx.w.paths.auditDb).find((r) => r.tool === 'get-env' && r.outcome !== null),
    );
    assert.equal(row.result_secret_action, 'mask');
    assert.equal(row.result_secret_rules, 'injected:upstream-pat');
  });

  test('with "block" the client gets an isError result naming the rule, and the row says so', async () => {
    const client = await httpClient(fx.url, fx.token, 'strict');
    try {
      const env = await callTool(client, 'get-env', {});
      assert.equal(env.isError, true);
      assert.match(resultText(env), /MCP Warden blocked this tools\/call answer.*injected:upstream-pat/);
      assert.ok(!resultText(env).includes(INJECTED));
      const echo = await callTool(client, 'echo', { message: `token ${GITHUB_TOKEN}` });
      assert.equal(echo.isError, true);
      assert.match(resultText(echo), /held a secret \(github\)/);
      assert.ok(!resultText(echo).includes(GITHUB_TOKEN));
      const plain = await callTool(client, 'echo', { message: 'harmless' });
      assert.equal(plain.isError, undefined, 'a result without a secret goes through');
    } finally {
      await client.close();
    }
    const rows = await waitFor(() => {
      const found = auditRows(fx.w.paths.auditDb).filter(
        (r) => r.server === 'strict' && r.result_secret_action === 'block',
      );
      return found.length === 2 && found;
    });
    assert.deepEqual(
      rows.map((r) => [r.tool, r.outcome, r.result_secret_rules]),
      [
        ['get-env', 'tool_error', 'injected:upstream-pat'],
        ['echo', 'tool_error', 'github'],
      ],
    );
    for (const row of rows) assert.match(String(row.error), /MCP Warden blocked/);
  });

  test('no secret reaches the OCSF export or the OTLP collector the records are forwarded to', async () => {
    const secrets = [GITHUB_TOKEN, SLACK_TOKEN, KEY_BODY, INJECTED];
    const finished = auditRows(fx.w.paths.auditDb).filter((r) => r.outcome !== null).length;
    await waitFor(() => otlp.records.length >= finished, 30_000, 'the forwarded records at the collector');
    const received = Buffer.concat(otlp.bodies).toString('utf8');
    assert.match(received, /\[REDACTED:github\]/, 'the collector got the call with the token redacted');
    const exported = await runProcess(CLI, ['audit', 'export', '--format', 'ocsf'], { env: fx.w.env });
    assert.equal(exported.code, 0, exported.stderr);
    assert.match(exported.stdout, /\[REDACTED:github\]/);
    for (const secret of secrets) {
      assert.ok(!received.includes(secret), 'a secret reached the OTLP collector');
      assert.ok(!exported.stdout.includes(secret), 'a secret is in the OCSF export');
    }
  });

  test('no secret is in audit.db, its -wal file or the daemon log, while the daemon runs and after it stops', async () => {
    const secrets = [GITHUB_TOKEN, SLACK_TOKEN, KEY_BODY, INJECTED];
    assert.ok(fs.existsSync(`${fx.w.paths.auditDb}-wal`), 'the audit log has its write-ahead log open');
    for (const secret of secrets) {
      assert.deepEqual(filesContaining(fx.w.home, secret), [], 'while running');
      assert.ok(!fx.daemon.output().includes(secret), 'the daemon logged a secret (debug level)');
    }
    await fx.daemon.stop();
    for (const secret of secrets) {
      assert.deepEqual(filesContaining(fx.w.home, secret), [], 'after the stop');
      assert.ok(!fx.daemon.output().includes(secret), 'the daemon printed a secret');
    }
    await fx.start();
  });
});

describe('the headless daemon a client starts: its daemon.log', { skip: keyringMissing() }, () => {
  test('holds no secret of the arguments, the results or the injected environment, running or stopped', async (t) => {
    const w = makeWardenEnv();
    const keyring = startKeyring(w.home, w.env);
    t.after(() => {
      keyring.stop();
      w.cleanup();
    });
    const env = { ...keyring.env, MCP_WARDEN_LOG_LEVEL: 'debug' };
    w.writeConfig({
      daemon: { port: await freePort() },
      mcpServers: { everything: everythingServer({ env: { UPSTREAM_PAT: '${secret:upstream-pat}' } }) },
    });
    assert.equal(
      (await runProcess(CLI, ['secrets', 'set', 'upstream-pat'], { env, input: INJECTED })).code,
      0,
    );
    const { client } = await shimClient(env, 'everything');
    const pid = w.state()?.pid;
    assert.ok(pid, 'the shim started a daemon');
    try {
      const echoed = resultText(
        await callTool(client, 'echo', { message: `${GITHUB_TOKEN} ${SLACK_TOKEN}\n${PRIVATE_KEY}` }),
      );
      assert.match(echoed, /\[REDACTED:github\] \[REDACTED:slack\]/);
      assert.match(resultText(await callTool(client, 'get-env', {})), /\[REDACTED:injected:upstream-pat\]/);
    } finally {
      await client.close();
    }
    const secrets = [GITHUB_TOKEN, SLACK_TOKEN, KEY_BODY, INJECTED];
    await waitFor(
      () =>
        fs.existsSync(w.paths.daemonLogFile) &&
        fs.readFileSync(w.paths.daemonLogFile, 'utf8').includes('a secret in tools/call'),
    );
    assert.ok(fs.existsSync(`${w.paths.auditDb}-wal`));
    for (const secret of secrets) assert.deepEqual(filesContaining(w.home, secret), [], 'while running');
    process.kill(pid, 'SIGTERM');
    await waitFor(
      () => {
        try {
          process.kill(pid, 0);
          return false;
        } catch {
          return true;
        }
      },
      15_000,
      'the daemon to exit',
    );
    assert.ok(fs.statSync(w.paths.daemonLogFile).size > 0);
    for (const secret of secrets) assert.deepEqual(filesContaining(w.home, secret), [], 'after the stop');
  });
});
