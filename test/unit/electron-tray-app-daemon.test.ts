/**
 * The tray app with the real daemon in-process behind the fake Electron shell (test/helpers/fake-
 * electron.ts; Electron cannot be launched on these machines): IPC reaches the daemon, quitting
 * stops it, a pause from the tray is kept across starts.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { UNTRUSTED_FRAME_MESSAGE } from '../../main/app/ipc.ts';
import { main, type RunningApp } from '../../main/app/start.ts';
import { APP_PAGE_URL } from '../../main/app/window-options.ts';
import type { StatusResponse } from '../../main/core/control/contract.ts';
import { ControlClient } from '../../main/core/control/control-client.ts';
import { startDaemon } from '../../main/core/daemon/daemon.ts';
import { loadConfig } from '../../main/core/config/load.ts';
import { silentLogger } from '../../main/core/log.ts';
import {
  FakeBrowserWindow,
  FakeTray,
  fakeElectron,
  invokeEvent,
  type FakeElectron,
} from '../helpers/fake-electron.ts';
import { everythingServer, makeWardenEnv } from '../helpers/warden-env.ts';
import { fakeDeps, labels } from '../helpers/fake-app.ts';

test('tray app with the real daemon in-process: IPC reaches it, quitting stops it', async () => {
  const env = makeWardenEnv();
  env.writeConfig({ mcpServers: { everything: everythingServer() } });
  const managedPolicyFile = path.join(env.home, 'no-managed-policy.json');
  const fake = fakeElectron();
  const deps = fakeDeps({
    env: { MCP_WARDEN_PORT: '0' },
    resolvePaths: () => env.paths,
    loadConfig,
    startDaemon: (options) => startDaemon({ ...options, managedPolicyFile }),
    createClient: (base, token) => new ControlClient(base, token),
    createLogger: () => silentLogger(),
  });
  let app: RunningApp | null = null;
  try {
    app = await main(fake.electron, deps).done;
    assert.ok(app?.daemon, 'the daemon runs in this process');
    assert.equal(env.state()?.pid, process.pid);
    const dashboard = FakeBrowserWindow.instances[0]!;
    const from = invokeEvent(dashboard.webContents, `${APP_PAGE_URL}#/servers`);
    const status = (await fake.handlers.get('warden:status')!(from)) as StatusResponse;
    assert.deepEqual(
      status.servers.map((s) => s.name),
      ['everything'],
    );
    assert.equal(status.config, env.paths.configFile);
    assert.deepEqual(await fake.handlers.get('warden:approvals')!(from), []);
    assert.throws(
      () => fake.handlers.get('warden:rules')!(invokeEvent(dashboard.webContents, 'https://evil.example/')),
      {
        message: UNTRUSTED_FRAME_MESSAGE,
      },
    );
    await app.tray.refresh();
    assert.deepEqual(labels(FakeTray.instances[0]!.menu).slice(0, 3), [
      'Servers: 0 in use, 1 of 1 allowed',
      'No pending approvals',
      'No org policy',
    ]);

    fake.app.quit();
    for (let i = 0; i < 100 && fake.app.quits < 2; i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(fake.app.quits, 2, 'quit completes once the daemon stopped');
    assert.equal(env.state()?.pid, undefined, 'the state file no longer names a running daemon');
  } finally {
    // Quitting also stops the event stream's reconnect loop (a failed assertion must not hang the run).
    fake.app.quit();
    await app?.daemon?.close();
    env.cleanup();
  }
});

test('tray app with the real daemon in-process: a pause from the tray is kept when the app starts again', async () => {
  const env = makeWardenEnv();
  env.writeConfig({ mcpServers: { everything: everythingServer() } });
  const managedPolicyFile = path.join(env.home, 'no-managed-policy.json');
  const start = async (): Promise<{ fake: FakeElectron; app: RunningApp }> => {
    const fake = fakeElectron();
    const deps = fakeDeps({
      env: { MCP_WARDEN_PORT: '0' },
      resolvePaths: () => env.paths,
      loadConfig,
      startDaemon: (options) => startDaemon({ ...options, managedPolicyFile }),
      createClient: (base, token) => new ControlClient(base, token),
      createLogger: () => silentLogger(),
    });
    const app = await main(fake.electron, deps).done;
    assert.ok(app?.daemon, 'the daemon runs in this process');
    return { fake, app };
  };
  const quit = async (fake: FakeElectron): Promise<void> => {
    fake.app.quit();
    for (let i = 0; i < 200 && fake.app.quits < 2; i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(fake.app.quits, 2, 'quit completes once the daemon stopped');
  };
  let running: { fake: FakeElectron; app: RunningApp } | undefined;
  try {
    running = await start();
    await running.app.tray.refresh();
    const tray = FakeTray.instances[0]!;
    tray.click('pause');
    for (let i = 0; i < 200 && !tray.menu.some((item) => item.id === 'resume'); i++)
      await new Promise((r) => setTimeout(r, 20));
    assert.ok(labels(tray.menu).includes('Resume all servers'), 'paused');
    await quit(running.fake);

    running = await start();
    await running.app.tray.refresh();
    const again = FakeTray.instances[0]!;
    assert.ok(labels(again.menu).includes('Paused: no server runs'), labels(again.menu).join(' | '));
    assert.ok(labels(again.menu).includes('Resume all servers'));
    assert.match(again.tooltip, /paused/);
    assert.equal((await running.app.api.status()).paused, true);
    await quit(running.fake);
  } finally {
    running?.fake.app.quit();
    await running?.app.daemon?.close();
    env.cleanup();
  }
});
