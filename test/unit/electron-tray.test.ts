/**
 * The tray (main/app): its status lines and menu, and the controller that rebuilds it from the
 * daemon's events. Everything runs against a fake of the Electron main-process modules
 * (test/helpers/fake-electron.ts) handed to the same code main.ts wires with the real ones.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TrayController } from '../../main/app/tray-controller.ts';
import { trayMenuTemplate, trayStatusLines, trayTooltip, type TrayState } from '../../main/app/tray-menu.ts';
import { FakeTray, fakeElectron } from '../helpers/fake-electron.ts';
import { approval, FakeApi, server, settle, status } from '../helpers/fake-warden-api.ts';
import { labels, noActions } from '../helpers/fake-app.ts';

test('tray menu: status lines for servers, pending approvals, org policy and pause', () => {
  const state: TrayState = { status: status(), policySync: null, launchAtLogin: false };
  assert.deepEqual(trayStatusLines(state), [
    'Servers: 1 in use, 2 of 3 allowed',
    'No pending approvals',
    'No org policy',
  ]);

  const busy: TrayState = {
    status: status({
      pendingApprovals: 3,
      paused: true,
      policyVersion: 'org acme v6',
      servers: [server('a', { breaker: 'open' })],
    }),
    policySync: {
      url: 'https://it.example/p.jws',
      version: 6,
      org: 'acme',
      expires: null,
      inGrace: false,
      lastSuccess: null,
      lastAttempt: null,
      lastError: 'HTTP 503',
    },
    launchAtLogin: true,
  };
  assert.deepEqual(trayStatusLines(busy), [
    'Servers: 0 in use, 1 of 1 allowed, 1 failing',
    '3 pending approvals',
    'Org policy: org acme v6 (last sync failed)',
    'Paused: no server runs',
  ]);
  assert.equal(
    trayStatusLines({ ...state, status: status({ pendingApprovals: 1 }) })[1],
    '1 pending approval',
  );
  assert.equal(trayTooltip(busy), 'MCP Warden — paused — 3 pending approvals');
  assert.equal(trayTooltip(state), 'MCP Warden');
  assert.deepEqual(
    trayStatusLines({ status: null, error: 'ECONNREFUSED', policySync: null, launchAtLogin: null }),
    ['Warden daemon not reachable'],
  );
});

test('tray menu: Pause or Resume by state, dashboard, launch at login, quit; clicks call the actions', () => {
  const actions = noActions();
  const running = trayMenuTemplate({ status: status(), policySync: null, launchAtLogin: false }, actions);
  assert.deepEqual(labels(running), [
    'Servers: 1 in use, 2 of 3 allowed',
    'No pending approvals',
    'No org policy',
    '—',
    'Pause all servers',
    'Open dashboard',
    '—',
    'Launch at login',
    '—',
    'Quit MCP Warden',
  ]);
  assert.ok(
    running.slice(0, 3).every((item) => item.enabled === false),
    'status lines are not clickable',
  );
  const login = running.find((i) => i.id === 'launch-at-login')!;
  assert.equal(login.type, 'checkbox');
  assert.equal(login.checked, false);

  const paused = trayMenuTemplate(
    { status: status({ paused: true }), policySync: null, launchAtLogin: true },
    actions,
  );
  assert.ok(labels(paused).includes('Resume all servers'));
  assert.ok(!labels(paused).includes('Pause all servers'));
  assert.equal(paused.find((i) => i.id === 'launch-at-login')!.checked, true);

  const click = (template: typeof running, id: string, item: object = {}): void =>
    (template.find((i) => i.id === id)!.click as (menuItem: object) => void)(item);
  click(running, 'pause');
  click(paused, 'resume');
  click(running, 'dashboard');
  click(running, 'launch-at-login', { checked: true });
  click(running, 'quit');
  assert.deepEqual(actions.log, ['pause', 'resume', 'dashboard', 'login:true', 'quit']);

  const unknown = trayMenuTemplate({ status: null, policySync: null, launchAtLogin: null }, actions);
  assert.ok(!labels(unknown).some((l) => /Pause|Resume/.test(l)), 'no pause toggle without a status');
  const linux = unknown.find((i) => i.id === 'launch-at-login')!;
  assert.equal(linux.enabled, false);
});

test('tray controller: rebuilds the menu from the daemon on status and approval events, not on audit rows', async () => {
  const { electron } = fakeElectron();
  const api = new FakeApi();
  const tray = new FakeTray(null);
  const controller = new TrayController({
    tray: tray as never,
    buildMenu: electron.Menu.buildFromTemplate,
    api,
    actions: noActions(),
    launchAtLogin: () => false,
  });
  assert.equal(labels(tray.menu)[0], 'Starting…');
  await controller.refresh();
  assert.equal(labels(tray.menu)[0], 'Servers: 1 in use, 2 of 3 allowed');

  api.state.status = status({ pendingApprovals: 2 });
  controller.handle({ type: 'approval.requested', request: approval('x') });
  await settle();
  assert.ok(labels(tray.menu).includes('2 pending approvals'));
  assert.equal(tray.tooltip, 'MCP Warden — 2 pending approvals');

  const reads = api.called('status').length;
  controller.handle({ type: 'audit.recorded', id: 7 });
  await settle();
  assert.equal(api.called('status').length, reads, 'an audit row does not change the menu');

  api.state.fail = true;
  await controller.refresh();
  assert.equal(labels(tray.menu)[0], 'Warden daemon not reachable');
});
