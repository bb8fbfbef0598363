/**
 * Audit destinations the managed policy sets and locks, on a running daemon (a real daemon
 * process, the real CLI, two OTLP/HTTP receiver fixtures: no collector is packaged here): the
 * user's config can add a destination but cannot redirect or disable IT's while it is locked;
 * with the lock lifted, the user's entry of the same name replaces it. Changes of either file
 * take effect while the daemon runs.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { startOtlpReceiver, type OtlpReceiver } from '../fixtures/otlp-receiver.ts';
import { useDaemonFixture } from '../helpers/daemon-fixture.ts';
import { runProcess } from '../helpers/run.ts';
import { callTool, httpClient } from '../helpers/sdk-client.ts';
import { CLI, everythingServer, waitFor, withServerAllowRules } from '../helpers/warden-env.ts';

describe('audit destinations of the managed policy', () => {
  let managedFile: string;
  let it: OtlpReceiver;
  let mine: OtlpReceiver;
  const managed = (lock: boolean) => ({
    ...(lock ? { lock: ['auditDestinations'] } : {}),
    auditDestinations: { org: { type: 'otlp', endpoint: it.url } },
  });
  const userConfig = (orgEntry: Record<string, unknown>) =>
    withServerAllowRules({
      audit: {
        destinations: {
          org: orgEntry,
          mine: { type: 'otlp', endpoint: mine.url },
        },
      },
      policy: { rules: [{ tool: 'echo', action: 'allow' }] },
      mcpServers: { everything: everythingServer() },
    });
  const fx = useDaemonFixture({
    prepare: async (w, defer) => {
      it = await startOtlpReceiver();
      mine = await startOtlpReceiver();
      defer(() => it.close());
      defer(() => mine.close());
      managedFile = path.join(w.home, 'managed-policy.json');
      fs.writeFileSync(managedFile, JSON.stringify(managed(true)), { mode: 0o644 });
      w.env.MCP_WARDEN_MANAGED_POLICY = managedFile;
      // The user tries to send IT's destination to their own receiver.
      w.writeConfig(userConfig({ type: 'otlp', endpoint: mine.url }), { allowServers: false });
    },
  });

  const uids = (receiver: OtlpReceiver) =>
    receiver.records.map((r) => String(r.attributes['log.record.uid']));
  const call = async (message: string): Promise<void> => {
    const client = await httpClient(fx.url, fx.token, 'everything');
    try {
      await callTool(client, 'echo', { message });
    } finally {
      await client.close();
    }
  };

  test('locked: the user can add a destination but not redirect or disable the managed one', async () => {
    await call('one');
    await waitFor(
      () => uids(it).length === 1 && uids(mine).length === 1,
      15_000,
      'one record at each receiver',
    );
    assert.deepEqual(uids(it), uids(mine), 'the same record reached IT (org) and the user (mine)');

    const status = await runProcess(CLI, ['audit', 'status', '--json'], { env: fx.w.env });
    assert.equal(status.code, 0, status.stderr);
    const destinations = (
      JSON.parse(status.stdout) as {
        destinations: { destination: string; source: string; locked: boolean; target: string }[];
      }
    ).destinations;
    assert.deepEqual(
      destinations.map((d) => [d.destination, d.source, d.locked, d.target]),
      [
        ['mine', 'user', false, mine.url],
        ['org', 'managed', true, it.url],
      ],
    );
    assert.match(
      fx.daemon.output(),
      /audit.destinations entry \\"org\\" is ignored: the managed policy sets and locks this destination/,
    );

    // Disabling it in the user's config changes nothing while it is locked.
    fx.w.writeConfig(userConfig({ type: 'otlp', endpoint: it.url, disabled: true }), { allowServers: false });
    await waitFor(() => /config reloaded/.test(fx.daemon.output()), 15_000, 'the config reload');
    await call('two');
    await waitFor(
      () => uids(it).length === 2 && uids(mine).length === 2,
      15_000,
      'the second record at each receiver',
    );
  });

  test('unlocked: the user entry of the same name replaces the managed destination', async () => {
    fx.w.writeConfig(userConfig({ type: 'otlp', endpoint: mine.url }), { allowServers: false });
    fs.writeFileSync(managedFile, JSON.stringify(managed(false)), { mode: 0o644 });
    await waitFor(
      () =>
        /"destination":"org","type":"otlp","source":"user"[^\n]*forwarding audit records/.test(
          fx.daemon.output(),
        ),
      15_000,
      'the user entry "org" in force',
    );
    const before = { it: uids(it).length, mine: uids(mine).length };
    await call('three');
    await waitFor(
      () => uids(mine).length === before.mine + 2,
      15_000,
      'two records at the user receiver (org and mine)',
    );
    assert.equal(uids(it).length, before.it, 'nothing more at the managed receiver');
    const last = uids(mine).slice(-2);
    assert.equal(last[0], last[1], 'the same record, once per destination');
  });
});
