/**
 * The hash chain through the real daemon: calls made with the SDK client over Streamable HTTP
 * join the chain, the daemon signs checkpoints with the device key it generated in a real
 * Secret Service, the dashboard's auditChain operation reports the chain state, and after a
 * SIGTERM (the shutdown checkpoint) `audit verify` passes on the file with no unchecked tail.
 * Without a keychain the daemon says so (log, auditChain) and signs nothing.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ControlClient } from '../../main/core/control/control-client.ts';
import { startKeyring, type TestKeyring } from '../helpers/keyring.ts';
import { keyringMissing } from '../helpers/requirements.ts';
import { runProcess } from '../helpers/run.ts';
import { callTool, httpClient } from '../helpers/sdk-client.ts';
import {
  CLI,
  everythingServer,
  makeWardenEnv,
  startDaemonProcess,
  waitFor,
  type WardenEnv,
} from '../helpers/warden-env.ts';

const CONFIG = {
  policy: { rules: [{ tool: 'echo', action: 'allow' }] },
  mcpServers: { everything: everythingServer() },
};

describe('the audit chain through the daemon', { skip: keyringMissing() }, () => {
  let w: WardenEnv;
  let keyring: TestKeyring;

  before(() => {
    w = makeWardenEnv();
    keyring = startKeyring(w.home, w.env);
    Object.assign(w.env, keyring.env);
    w.writeConfig(CONFIG);
  });

  after(() => {
    keyring?.stop();
    w?.cleanup();
  });

  test('calls join the chain, the Activity page sees it, and verify passes after shutdown', async () => {
    const daemon = await startDaemonProcess(w);
    try {
      const client = await httpClient(daemon.url, daemon.token, 'everything');
      for (let i = 0; i < 20; i += 1) await callTool(client, 'echo', { message: `m${i}` }, 10_000);
      await client.close();
      const dashboard = new ControlClient(`${daemon.url}/api/v1`, daemon.token);
      const chain = await waitFor(
        async () => {
          const state = await dashboard.auditChain();
          return state.signingKey.present && state.verifiedThrough >= 20 ? state : undefined;
        },
        20_000,
        'the signing key and 20 chained calls',
      );
      assert.equal(chain.ok, true, JSON.stringify(chain.problems));
      assert.deepEqual((await dashboard.status()).auditSigning, { state: 'present', reason: null });
      assert.match(chain.signingKey.keyHash ?? '', /^[0-9a-f]{8}$/);
      assert.deepEqual(
        chain.uncheckedTail,
        { from: 1, to: chain.verifiedThrough },
        'no checkpoint yet: 20 < 1000 rows',
      );
    } finally {
      assert.equal(await daemon.stop(), 0);
    }
    const verify = await runProcess(CLI, ['audit', 'verify'], { env: w.env });
    assert.equal(verify.code, 0, verify.stdout + verify.stderr);
    assert.match(verify.stdout, /^1\/1 checkpoints valid, rows 1\.\.\d+ verified\n/);
    assert.doesNotMatch(verify.stdout, /not yet covered/);
  });

  test('without a keychain the daemon signs nothing and says so', async () => {
    const other = makeWardenEnv();
    try {
      other.writeConfig(CONFIG);
      // No D-Bus session: keytar cannot reach a Secret Service.
      const daemon = await startDaemonProcess(other);
      try {
        const client = await httpClient(daemon.url, daemon.token, 'everything');
        await callTool(client, 'echo', { message: 'x' }, 10_000);
        await client.close();
        const dashboard = new ControlClient(`${daemon.url}/api/v1`, daemon.token);
        const chain = await waitFor(
          async () => {
            const state = await dashboard.auditChain();
            return state.signingKey.reason?.includes('keychain') ? state : undefined;
          },
          20_000,
          'the chain state to say there is no keychain',
        );
        assert.equal(chain.signingKey.present, false);
        const status = await dashboard.status();
        assert.equal(status.auditSigning?.state, 'missing');
        assert.match(status.auditSigning?.reason ?? '', /keychain/);
        assert.equal(chain.verifiedThrough, 1);
        await waitFor(
          () => /audit checkpoints are not signed/.test(daemon.output()),
          10_000,
          'the warning in the log',
        );
      } finally {
        await daemon.stop();
      }
      const verify = await runProcess(CLI, ['audit', 'verify', '--json'], { env: other.env });
      assert.equal(verify.code, 1, 'unsigned checkpoints are not proof');
      const report = JSON.parse(verify.stdout) as { problems: { kind: string }[] };
      assert.deepEqual(
        report.problems.map((p) => p.kind),
        ['checkpoint-unsigned', 'no-key'],
      );
    } finally {
      other.cleanup();
    }
  });
});
