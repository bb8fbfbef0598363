/**
 * The CLI calls the same control operations as the dashboard: with a daemon running, `secrets
 * set|bind|delete` go through it (the dashboard's event stream hears each change, and the
 * dashboard's list shows it); without one, the same handlers run in the CLI process, with the
 * same errors. Real daemon process, real keychain (gnome-keyring on a private D-Bus).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { ControlEvent } from '../../main/core/control/contract.ts';
import { ControlClient } from '../../main/core/control/control-client.ts';
import { startKeyring, type TestKeyring } from '../helpers/keyring.ts';
import { keyringMissing } from '../helpers/requirements.ts';
import { runProcess } from '../helpers/run.ts';
import {
  CLI,
  everythingServer,
  makeWardenEnv,
  startDaemonProcess,
  waitFor,
  type DaemonProcess,
  type WardenEnv,
} from '../helpers/warden-env.ts';

const skip = keyringMissing();

describe('the CLI through the daemon, and without it', { skip }, () => {
  let w: WardenEnv;
  let keyring: TestKeyring;
  let daemon: DaemonProcess | undefined;
  const cli = (args: string[], input?: string) =>
    runProcess(CLI, args, { env: w.env, ...(input === undefined ? {} : { input }) });

  before(() => {
    w = makeWardenEnv();
    keyring = startKeyring(w.home, w.env);
    Object.assign(w.env, keyring.env);
    w.writeConfig({ mcpServers: { everything: everythingServer() } });
  });

  after(async () => {
    await daemon?.stop();
    keyring?.stop();
    w?.cleanup();
  });

  test('with a daemon: each secrets change reaches the dashboard’s event stream and list', async () => {
    daemon = await startDaemonProcess(w);
    const dashboard = new ControlClient(`${daemon.url}/api/v1`, daemon.token);
    const events: ControlEvent[] = [];
    const abort = new AbortController();
    let opened!: () => void;
    const open = new Promise<void>((resolve) => (opened = resolve));
    const following = dashboard.events(
      (e) => events.push(e),
      abort.signal,
      () => opened(),
    );
    await open;
    const changes = () => events.filter((e) => e.type === 'status.changed').length;
    try {
      const set = await cli(['secrets', 'set', 'api-token'], 'value-1');
      assert.equal(set.stdout, 'stored secret "api-token" in the OS keychain\n', set.stderr);
      await waitFor(() => changes() >= 1, 10_000, 'status.changed after secrets set');
      assert.deepEqual(
        (await dashboard.secrets()).map((s) => [s.name, s.boundServer]),
        [['api-token', null]],
      );

      const bind = await cli(['secrets', 'bind', 'api-token', 'everything']);
      assert.equal(bind.code, 0, bind.stderr);
      assert.match(bind.stdout, /^secret "api-token" is bound to server "everything": /);
      await waitFor(() => changes() >= 2, 10_000, 'status.changed after secrets bind');
      assert.equal((await dashboard.secrets())[0]?.boundServer, 'everything');
      assert.equal((await cli(['secrets', 'list'])).stdout, 'api-token  (bound to server "everything")\n');

      const deleted = await cli(['secrets', 'delete', 'api-token']);
      assert.equal(deleted.stdout, 'deleted secret "api-token"\n', deleted.stderr);
      await waitFor(() => changes() >= 3, 10_000, 'status.changed after secrets delete');
      assert.deepEqual(await dashboard.secrets(), []);
    } finally {
      abort.abort();
      await following.catch(() => undefined);
    }
  });

  test('a handler’s NOT_FOUND reads the same through the daemon and in the CLI process', async () => {
    const expected = 'mcp-warden: no secret "nope" in the keychain\n';
    const through = await cli(['secrets', 'delete', 'nope']);
    assert.equal(through.stderr, expected);
    assert.equal(through.code, 1);
    await daemon!.stop();
    daemon = undefined;
    const local = await cli(['secrets', 'delete', 'nope']);
    assert.equal(local.stderr, expected);
    assert.equal(local.code, 1);
    // And the in-process path makes changes too.
    assert.equal((await cli(['secrets', 'set', 'offline', '--server', 'everything'], 'v')).code, 0);
    assert.equal((await cli(['secrets', 'list'])).stdout, 'offline  (bound to server "everything")\n');
  });
});
