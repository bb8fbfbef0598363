/**
 * The tray app started by main() with a fake daemon: the daemon in-process, app://, IPC, the
 * dashboard, the tray, approval popups, launch at login and quitting. Everything runs against a
 * fake of the Electron main-process modules (test/helpers/fake-electron.ts) handed to the same
 * code main.ts wires with the real ones.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { APP_SCHEME_PRIVILEGES } from '../../main/app/app-protocol.ts';
import { HIDDEN_SWITCH } from '../../main/app/launch-args.ts';
import { main, type MainDeps, type RunningApp } from '../../main/app/start.ts';
import { APP_PAGE_URL } from '../../main/app/window-options.ts';
import type { ApprovalRequest } from '../../main/core/control/contract.ts';
import { WARDEN_API_METHODS } from '../../main/core/control/warden-api.ts';
import type { RunningDaemon } from '../../main/core/daemon/daemon.ts';
import { WardenError } from '../../main/core/errors.ts';
import {
  FakeBrowserWindow,
  FakeNotification,
  FakeTray,
  fakeElectron,
  invokeEvent,
  type FakeElectron,
} from '../helpers/fake-electron.ts';
import { approval, FakeApi, settle } from '../helpers/fake-warden-api.ts';
import { fakeDeps, labels } from '../helpers/fake-app.ts';

/** Starts the tray app on the fake shell with a fake daemon. */
async function startFakeApp(
  options: { argv?: string[]; platform?: NodeJS.Platform; pending?: ApprovalRequest[] } = {},
): Promise<{
  fake: FakeElectron;
  api: FakeApi;
  app: RunningApp;
  closed: string[];
  deps: MainDeps & { log: string[] };
}> {
  const fake = fakeElectron();
  const api = new FakeApi();
  api.state.pending = options.pending ?? [];
  const closed: string[] = [];
  const daemon = {
    url: 'http://127.0.0.1:47113',
    token: 't0ken',
    close: () => {
      closed.push('daemon');
      return Promise.resolve();
    },
  } as RunningDaemon;
  const deps = fakeDeps({
    argv: options.argv ?? ['/opt/MCP Warden/mcp-warden'],
    platform: options.platform ?? 'linux',
    env: { MCP_WARDEN_PORT: '0' },
    startDaemon: (daemonOptions) => {
      deps.log.push(`startDaemon:${daemonOptions.port}:${daemonOptions.config.file}`);
      return Promise.resolve(daemon);
    },
    createClient: (base, token) => {
      deps.log.push(`client:${base}:${token}`);
      return api;
    },
  });
  const app = await main(fake.electron, deps).done;
  assert.ok(app, 'the tray app started');
  return { fake, api, app, closed, deps };
}

test('tray app: starts the daemon in-process, serves app://, registers IPC, opens the dashboard on #/servers', async () => {
  const { fake, api, app, deps } = await startFakeApp();
  assert.deepEqual(deps.log.slice(0, 4), [
    'paths:',
    'loadConfig',
    'startDaemon:0:/cfg/config.json',
    'client:http://127.0.0.1:47113/api/v1:t0ken',
  ]);
  assert.equal(fake.app.lockRequests, 1);
  assert.deepEqual(fake.schemes, [APP_SCHEME_PRIVILEGES]);
  assert.ok(fake.protocolHandlers.has('app'));
  assert.equal(fake.handlers.size, WARDEN_API_METHODS.length);
  assert.ok(fake.permissionRequest && fake.permissionCheck, 'permission handlers installed');

  const dashboard = FakeBrowserWindow.instances[0]!;
  assert.deepEqual(dashboard.urls, ['app://warden/index.html#/servers']);
  assert.equal(dashboard.options.webPreferences?.sandbox, true);
  assert.equal(dashboard.options.webPreferences?.preload, '/opt/app.asar/dist/preload/preload.cjs');
  assert.equal(fake.contents.length, 1, 'every WebContents went through web-contents-created');
  assert.ok(fake.contents[0]!.windowOpenHandler, 'and was hardened there');

  // The dashboard's frame may call the daemon; its events reach it.
  const result = await fake.handlers.get('warden:status')!(
    invokeEvent(dashboard.webContents, `${APP_PAGE_URL}#/servers`),
  );
  assert.deepEqual(result, api.state.status);
  api.onEvent!({ type: 'status.changed' });
  assert.deepEqual(dashboard.webContents.sent, [
    { channel: 'warden:event', payload: { type: 'status.changed' } },
  ]);

  // Re-used, not duplicated.
  app.dashboard.show('/activity');
  assert.equal(FakeBrowserWindow.instances.length, 1);
  assert.deepEqual(dashboard.urls.at(-1), 'app://warden/index.html#/activity');

  // The tray: icon for this OS, menu from the status.
  const tray = FakeTray.instances[0]!;
  assert.deepEqual(tray.image, { file: '/opt/app.asar/resources/tray/tray.png' });
  api.onOpen!();
  await settle();
  assert.equal(labels(tray.menu)[0], 'Servers: 1 in use, 2 of 3 allowed');
  tray.click('pause');
  await settle();
  assert.equal(api.called('pause').length, 1);
  assert.ok(labels(tray.menu).includes('Resume all servers'), 'the menu follows the new state');
  tray.click('resume');
  await settle();
  assert.equal(api.called('resume').length, 1);

  // A failed action is told in a notification, not swallowed.
  api.state.fail = true;
  tray.click('pause');
  await settle();
  assert.deepEqual(
    FakeNotification.instances.map((n) => [n.options.body, n.shown]),
    [['Could not pause the servers: the daemon did not answer', true]],
  );
});

test('tray app: popups for approvals pending at start and requested later, closed when resolved', async () => {
  const { fake, api, app } = await startFakeApp({
    argv: ['/opt/MCP Warden/mcp-warden', '--hidden'],
    pending: [approval('old')],
  });
  assert.equal(FakeBrowserWindow.instances.length, 0, 'started hidden: no dashboard');
  api.onOpen!();
  await settle();
  assert.deepEqual(app.popups.ids(), ['old']);
  const requested = approval('new');
  api.onEvent!({ type: 'approval.requested', request: requested });
  assert.deepEqual(app.popups.ids(), ['old', 'new']);
  const popup = FakeBrowserWindow.instances.find((w) => w.urls[0]!.endsWith('#/approval/new'))!;
  assert.equal(popup.options.alwaysOnTop, true);
  assert.deepEqual(popup.webContents.sent, [
    { channel: 'warden:event', payload: { type: 'approval.requested', request: requested } },
  ]);

  // The popup's own frame may answer.
  const body = { choice: 'deny', argumentsHash: 'b'.repeat(64), channel: 'popup' };
  await fake.handlers.get('warden:answer')!(
    invokeEvent(popup.webContents, `${APP_PAGE_URL}#/approval/new`),
    'new',
    body,
  );
  assert.deepEqual(api.called('answer'), [['new', body]]);

  api.onEvent!({ type: 'approval.resolved', id: 'new', outcome: { choice: 'deny' } });
  assert.equal(popup.destroyed, true);
  assert.deepEqual(app.popups.ids(), ['old']);

  // Without the focus, a native notification.
  FakeBrowserWindow.takesFocus = false;
  api.onEvent!({ type: 'approval.requested', request: approval('bg', { server: 'github', tool: 'push' }) });
  const background = FakeBrowserWindow.instances.at(-1)!;
  background.ready();
  // The real timer of start.ts: the focus is checked FOCUS_CHECK_MS after showing.
  for (let i = 0; i < 200 && FakeNotification.instances.length === 0; i++)
    await new Promise((resolve) => setTimeout(resolve, 10));
  assert.equal(FakeNotification.instances.length, 1);
  assert.equal(FakeNotification.instances[0]!.options.body, 'Approval needed: github/push from claude-ai');
  assert.equal(FakeNotification.instances[0]!.shown, true);
  FakeBrowserWindow.takesFocus = true;
  FakeNotification.instances[0]!.click();
  assert.equal(background.focused, true);
  fake.app.quit();
  await settle();
});

test('tray app: a second launch shows the dashboard; launch at login; quit stops the daemon first', async () => {
  const { fake, api, app, closed } = await startFakeApp({
    argv: ['/opt/MCP Warden/mcp-warden', '--hidden'],
    platform: 'win32',
  });
  assert.equal(app.dashboard.isOpen, false);
  fake.app.emit('second-instance', {}, ['/opt/MCP Warden/mcp-warden', 'serve', '--headless']);
  assert.equal(app.dashboard.isOpen, false, 'a shim-started launch does not open it');
  fake.app.emit('second-instance', {}, ['/opt/MCP Warden/mcp-warden']);
  assert.equal(app.dashboard.isOpen, true);

  const tray = FakeTray.instances[0]!;
  assert.equal(tray.menu.find((i) => i.id === 'launch-at-login')!.checked, false);
  tray.click('launch-at-login');
  assert.deepEqual(fake.app.loginItemSets, [{ openAtLogin: true, args: [HIDDEN_SWITCH] }]);
  assert.equal(tray.menu.find((i) => i.id === 'launch-at-login')!.checked, true);

  tray.click('quit');
  assert.deepEqual(closed, ['daemon']);
  assert.equal(fake.app.quits, 1, 'the first quit waits for the daemon');
  assert.equal(api.unsubscribed, true);
  assert.equal(tray.destroyed, true);
  await settle();
  assert.equal(fake.app.quits, 2, 'quit again once the daemon stopped');
});

test('tray app: a start failure is shown in a dialog and the app exits', async () => {
  const fake = fakeElectron();
  const deps = fakeDeps({
    startDaemon: () =>
      Promise.reject(
        new WardenError('CONFIG_INVALID', '/cfg/config.json: mcpServers.x.command: expected string'),
      ),
  });
  assert.equal(await main(fake.electron, deps).done, null);
  assert.deepEqual(fake.errors, [
    {
      title: 'MCP Warden could not start',
      content: '/cfg/config.json: mcpServers.x.command: expected string',
    },
  ]);
  assert.equal(fake.app.exitCode, 1);
});
