/**
 * The Electron shell (main/app): tray menu, approval popups, IPC bridge, window hardening, the
 * app:// protocol and the launch dispatch. Electron cannot be launched on these machines (its
 * binary is not downloaded, and cannot be), so everything runs against a fake of the Electron
 * main-process modules (test/helpers/fake-electron.ts) handed to the same code main.ts wires
 * with the real ones. The last test runs the real daemon in-process behind the fake shell.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { appPaths } from '../../main/app/app-paths.ts';
import {
  APP_RESPONSE_HEADERS,
  APP_SCHEME_PRIVILEGES,
  createAppProtocolHandler,
} from '../../main/app/app-protocol.ts';
import {
  ApprovalPopups,
  EXPIRY_GRACE_MS,
  FOCUS_CHECK_MS,
  type ApprovalPopupDeps,
} from '../../main/app/approval-popups.ts';
import { IPC_EVENT_CHANNEL } from '../../main/app/channels.ts';
import { denyAllPermissions, hardenWebContents } from '../../main/app/harden.ts';
import { isTrustedSender, registerIpcHandlers, UNTRUSTED_FRAME_MESSAGE } from '../../main/app/ipc.ts';
import { daemonEntryArg, HIDDEN_SWITCH, parseLaunch, portFromEnv } from '../../main/app/launch-args.ts';
import { main, startOrAttach, type MainDeps, type RunningApp } from '../../main/app/start.ts';
import { TrayController } from '../../main/app/tray-controller.ts';
import {
  trayMenuTemplate,
  trayStatusLines,
  trayTooltip,
  type TrayActions,
  type TrayState,
} from '../../main/app/tray-menu.ts';
import {
  APP_PAGE_URL,
  CONTENT_SECURITY_POLICY,
  appUrl,
  hardenedWebPreferences,
  isAppPageUrl,
} from '../../main/app/window-options.ts';
import { WindowRegistry } from '../../main/app/window-registry.ts';
import type {
  ApprovalRequest,
  ControlEvent,
  ServerEntry,
  StatusResponse,
} from '../../main/core/control/contract.ts';
import { ControlClient } from '../../main/core/control/control-client.ts';
import { WARDEN_API_METHODS, type WardenApi } from '../../main/core/control/warden-api.ts';
import { startDaemon, type RunningDaemon } from '../../main/core/daemon/daemon.ts';
import { WardenError } from '../../main/core/errors.ts';
import { loadConfig } from '../../main/core/config/load.ts';
import { silentLogger } from '../../main/core/log.ts';
import type { WardenPaths } from '../../main/core/paths.ts';
import {
  FakeBrowserWindow,
  FakeNotification,
  FakeTray,
  FakeWebContents,
  fakeElectron,
  invokeEvent,
  type FakeElectron,
} from '../helpers/fake-electron.ts';
import { everythingServer, makeWardenEnv } from '../helpers/warden-env.ts';

// ---- fixtures ----

function server(name: string, extra: Partial<ServerEntry> = {}): ServerEntry {
  return {
    name,
    kind: 'stdio',
    target: `node ${name}.js`,
    envKeys: [],
    identityHash: 'a'.repeat(64),
    allowed: true,
    trusted: false,
    sessions: 0,
    breaker: 'closed',
    ...extra,
  };
}

function status(extra: Partial<StatusResponse> = {}): StatusResponse {
  return {
    version: '0.1.0',
    pid: 1,
    config: '/c.json',
    servers: [
      server('everything', { sessions: 2 }),
      server('filesystem'),
      server('github', { allowed: false }),
    ],
    pendingApprovals: 0,
    paused: false,
    policyVersion: null,
    ...extra,
  };
}

function approval(id: string, extra: Partial<ApprovalRequest> = {}): ApprovalRequest {
  return {
    id,
    createdAt: new Date(0).toISOString(),
    expiresAt: new Date(Date.now() + 60_000).toISOString(),
    sessionId: 's1',
    client: { name: 'claude-ai', version: '1.0' },
    server: 'filesystem',
    tool: 'write_file',
    arguments: { path: '/tmp/x' },
    rule: { source: 'user', text: 'ask write_file' },
    choices: ['deny', 'allow-once'],
    argumentsHash: 'b'.repeat(64),
    ...extra,
  };
}

/** A WardenApi that records every call and answers from `state`. */
class FakeApi implements WardenApi {
  calls: { method: string; args: unknown[] }[] = [];
  state = { status: status(), pending: [] as ApprovalRequest[], fail: false };
  onEvent: ((event: ControlEvent) => void) | null = null;
  onOpen: (() => void) | null = null;
  unsubscribed = false;

  #record(method: string, args: unknown[], value: unknown): Promise<never> {
    this.calls.push({ method, args });
    if (this.state.fail)
      return Promise.reject(new WardenError('DAEMON_UNREACHABLE', 'the daemon did not answer'));
    return Promise.resolve(value as never);
  }
  called(method: string): unknown[][] {
    return this.calls.filter((c) => c.method === method).map((c) => c.args);
  }
  status() {
    return this.#record('status', [], this.state.status);
  }
  version() {
    return this.#record('version', [], { version: '0.1.0', pid: 1, api: 'v1' });
  }
  servers() {
    return this.#record('servers', [], this.state.status.servers);
  }
  approveServer(...args: unknown[]) {
    return this.#record('approveServer', args, { ok: true });
  }
  restartServer(...args: unknown[]) {
    return this.#record('restartServer', args, { ok: true });
  }
  pause() {
    this.state.status = { ...this.state.status, paused: true };
    return this.#record('pause', [], { ok: true });
  }
  resume() {
    this.state.status = { ...this.state.status, paused: false };
    return this.#record('resume', [], { ok: true });
  }
  approvals() {
    return this.#record('approvals', [], this.state.pending);
  }
  answer(...args: unknown[]) {
    return this.#record('answer', args, { ok: true });
  }
  rules() {
    return this.#record('rules', [], []);
  }
  revokeRule(...args: unknown[]) {
    return this.#record('revokeRule', args, { ok: true });
  }
  pins() {
    return this.#record('pins', [], { pins: [], reviews: [], shadows: [] });
  }
  approvePin(...args: unknown[]) {
    return this.#record('approvePin', args, { ok: true });
  }
  policyStatus() {
    return this.#record('policyStatus', [], { sources: [], org: null });
  }
  effectivePolicy() {
    return this.#record('effectivePolicy', [], { rules: [], locked: [] });
  }
  syncPolicy() {
    return this.#record('syncPolicy', [], {});
  }
  explain(...args: unknown[]) {
    return this.#record('explain', args, {});
  }
  audit(...args: unknown[]) {
    return this.#record('audit', args, { records: [], total: 0 });
  }
  exportAudit(...args: unknown[]) {
    return this.#record('exportAudit', args, '');
  }
  clients() {
    return this.#record('clients', [], []);
  }
  previewProtect(...args: unknown[]) {
    return this.#record('previewProtect', args, {});
  }
  protect(...args: unknown[]) {
    return this.#record('protect', args, {});
  }
  restore(...args: unknown[]) {
    return this.#record('restore', args, {});
  }
  secrets() {
    return this.#record('secrets', [], []);
  }
  setSecret(...args: unknown[]) {
    return this.#record('setSecret', args, { ok: true });
  }
  deleteSecret(...args: unknown[]) {
    return this.#record('deleteSecret', args, { ok: true });
  }
  subscribe(onEvent: (event: ControlEvent) => void, onOpen?: () => void): () => void {
    this.onEvent = onEvent;
    this.onOpen = onOpen ?? null;
    return () => {
      this.unsubscribed = true;
    };
  }
}

/** Lets queued promise callbacks run. */
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

const noActions = (): TrayActions & { log: string[] } => {
  const log: string[] = [];
  return {
    log,
    pause: () => void log.push('pause'),
    resume: () => void log.push('resume'),
    openDashboard: () => void log.push('dashboard'),
    setLaunchAtLogin: (enabled) => void log.push(`login:${enabled}`),
    quit: () => void log.push('quit'),
  };
};

const labels = (template: { label?: string }[]): string[] => template.map((i) => i.label ?? '—');

// ---- tray menu ----

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

// ---- approval popups ----

function popupHarness(now = 0): {
  popups: ApprovalPopups;
  windows: FakeBrowserWindow[];
  timers: { fn: () => void; ms: number; cancelled: boolean }[];
  notes: { title: string; body: string; onClick: () => void; closed: boolean }[];
  runTimers: (ms: number) => void;
} {
  const windows: FakeBrowserWindow[] = [];
  const timers: { fn: () => void; ms: number; cancelled: boolean }[] = [];
  const notes: { title: string; body: string; onClick: () => void; closed: boolean }[] = [];
  const deps: ApprovalPopupDeps = {
    createWindow: (options) => {
      const window = new FakeBrowserWindow(options);
      windows.push(window);
      return window as never;
    },
    notify: (title, body, onClick) => {
      const note = { title, body, onClick, closed: false };
      notes.push(note);
      return { close: () => void (note.closed = true) };
    },
    preload: '/app/dist/preload/preload.cjs',
    devTools: false,
    setTimer: (fn, ms) => {
      const timer = { fn, ms, cancelled: false };
      timers.push(timer);
      return () => void (timer.cancelled = true);
    },
    now: () => now,
  };
  const runTimers = (ms: number): void => {
    for (const timer of [...timers]) {
      if (!timer.cancelled && timer.ms <= ms) {
        timer.cancelled = true;
        timer.fn();
      }
    }
  };
  return { popups: new ApprovalPopups(deps), windows, timers, notes, runTimers };
}

test('approval popups: one hardened window per approval showing #/approval/<id>, closed when resolved', () => {
  fakeElectron();
  const { popups, windows } = popupHarness();
  popups.handle({ type: 'approval.requested', request: approval('a/1') });
  popups.handle({ type: 'approval.requested', request: approval('a/1') });
  popups.handle({ type: 'approval.requested', request: approval('b2') });
  assert.equal(windows.length, 2, 'one window per approval, not per event');
  const [first, second] = windows as [FakeBrowserWindow, FakeBrowserWindow];
  assert.deepEqual(first.urls, [`${APP_PAGE_URL}#/approval/a%2F1`]);
  assert.deepEqual(second.urls, ['app://warden/index.html#/approval/b2']);

  const options = first.options;
  assert.equal(options.width, 480);
  assert.equal(options.height, 560);
  assert.ok(
    (options.minWidth ?? 0) >= 300 && (options.minHeight ?? 0) >= 300,
    'cannot be resized to nothing',
  );
  assert.equal(options.alwaysOnTop, true);
  assert.equal(options.show, false, 'shown once its page is ready');
  assert.deepEqual(options.webPreferences, hardenedWebPreferences('/app/dist/preload/preload.cjs', false));
  const prefs = options.webPreferences;
  assert.equal(prefs.contextIsolation, true);
  assert.equal(prefs.sandbox, true);
  assert.equal(prefs.nodeIntegration, false);
  assert.equal(prefs.webSecurity, true);
  assert.equal(prefs.allowRunningInsecureContent, false);
  assert.equal(prefs.preload, '/app/dist/preload/preload.cjs');

  first.ready();
  assert.ok(first.shown && first.focused, 'shown and focused when ready');

  popups.handle({ type: 'approval.resolved', id: 'a/1', outcome: { choice: 'allow-once' } });
  assert.equal(first.destroyed, true);
  assert.equal(second.destroyed, false);
  assert.deepEqual(popups.ids(), ['b2']);
  popups.handle({ type: 'approval.resolved', id: 'unknown', outcome: {} });
  assert.deepEqual(popups.ids(), ['b2']);
});

test('approval popups: a notification when the popup did not get the focus; its click brings the popup forward', () => {
  fakeElectron();
  const { popups, windows, notes, runTimers } = popupHarness();
  FakeBrowserWindow.takesFocus = false;
  popups.open(approval('p1', { client: { name: 'Cursor' }, server: 'github', tool: 'create_issue' }));
  const window = windows[0]!;
  window.ready();
  assert.equal(notes.length, 0, 'focus is checked a moment after showing');
  runTimers(FOCUS_CHECK_MS);
  assert.equal(notes.length, 1);
  assert.equal(notes[0]!.body, 'Approval needed: github/create_issue from Cursor');

  window.minimized = true;
  FakeBrowserWindow.takesFocus = true;
  notes[0]!.onClick();
  assert.equal(window.restored, 1);
  assert.equal(window.focused, true);

  popups.close('p1');
  assert.equal(notes[0]!.closed, true, 'the notification goes with its popup');

  // A popup that got the focus gets no notification.
  popups.open(approval('p2'));
  windows[1]!.ready();
  runTimers(FOCUS_CHECK_MS);
  assert.equal(notes.length, 1);

  // A client without a name.
  FakeBrowserWindow.takesFocus = false;
  popups.open(approval('p3', { client: {} }));
  windows[2]!.ready();
  runTimers(FOCUS_CHECK_MS);
  assert.equal(notes[1]!.body, 'Approval needed: filesystem/write_file from an unknown client');
});

test('approval popups: closed after expiry should the resolved event be lost; sync opens and closes', () => {
  fakeElectron();
  const { popups, windows, timers, runTimers } = popupHarness(10_000);
  popups.open(approval('e1', { expiresAt: new Date(40_000).toISOString() }));
  const expiry = timers[0]!;
  assert.equal(expiry.ms, 30_000 + EXPIRY_GRACE_MS, 'from the request expiry, plus grace');
  runTimers(expiry.ms);
  assert.equal(windows[0]!.destroyed, true);
  assert.deepEqual(popups.ids(), []);

  popups.sync([approval('s1'), approval('s2')]);
  assert.deepEqual(popups.ids(), ['s1', 's2']);
  popups.sync([approval('s2'), approval('s3')]);
  assert.deepEqual(popups.ids().sort(), ['s2', 's3']);
  assert.equal(windows.filter((w) => !w.destroyed).length, 2);

  // The user closes a popup: it is forgotten, its timers cancelled.
  const s2 = windows.find((w) => w.urls[0]!.endsWith('/s2'))!;
  s2.close();
  assert.deepEqual(popups.ids(), ['s3']);
  popups.closeAll();
  assert.deepEqual(popups.ids(), []);
  assert.ok(windows.every((w) => w.destroyed));
});

// ---- IPC ----

test('IPC: every WardenApi method is registered, and a call from our window reaches the API with its arguments', async () => {
  const fake = fakeElectron();
  const api = new FakeApi();
  const registry = new WindowRegistry();
  const ours = new FakeBrowserWindow({});
  registry.add(ours as never);
  registerIpcHandlers(fake.electron.ipcMain, api, (contents) => registry.ownsWebContents(contents));

  assert.deepEqual([...fake.handlers.keys()].sort(), WARDEN_API_METHODS.map((m) => `warden:${m}`).sort());

  const from = invokeEvent(ours.webContents, `${APP_PAGE_URL}#/servers`);
  const invoke = (method: string, ...args: unknown[]): unknown =>
    fake.handlers.get(`warden:${method}`)!(from, ...args);

  assert.deepEqual(await invoke('status'), api.state.status);
  await invoke('approveServer', 'github', 'c'.repeat(64));
  await invoke('approvePin', 'github', 'tool', 'create_issue', 'f'.repeat(64));
  const body = { choice: 'allow-once', argumentsHash: 'd'.repeat(64), channel: 'popup' };
  await invoke('answer', 'req-1', body);
  await invoke('revokeRule', 4);
  await invoke('protect', 'cursor', 'e'.repeat(64), ['github']);
  await invoke('protect', 'cursor', 'e'.repeat(64));
  await invoke('setSecret', 'gh-token', 's3cret');
  await invoke('exportAudit', { server: 'github', limit: 10 }, 'csv');
  assert.deepEqual(api.called('approveServer'), [['github', 'c'.repeat(64)]]);
  assert.deepEqual(api.called('approvePin'), [['github', 'tool', 'create_issue', 'f'.repeat(64)]]);
  assert.deepEqual(api.called('answer'), [['req-1', body]]);
  assert.deepEqual(api.called('revokeRule'), [[4]]);
  assert.deepEqual(api.called('protect'), [
    ['cursor', 'e'.repeat(64), ['github']],
    ['cursor', 'e'.repeat(64), undefined],
  ]);
  assert.deepEqual(api.called('setSecret'), [['gh-token', 's3cret']]);
  assert.deepEqual(api.called('exportAudit'), [[{ server: 'github', limit: 10 }, 'csv']]);

  // The daemon's error reaches the renderer as the handler's rejection.
  api.state.fail = true;
  await assert.rejects(Promise.resolve(invoke('status')), /the daemon did not answer/);
});

test('IPC: calls from a foreign page, a subframe, a gone frame or another window are refused', () => {
  const fake = fakeElectron();
  const api = new FakeApi();
  const registry = new WindowRegistry();
  const ours = new FakeBrowserWindow({});
  const stranger = new FakeBrowserWindow({});
  registry.add(ours as never);
  registerIpcHandlers(fake.electron.ipcMain, api, (contents) => registry.ownsWebContents(contents));
  const pause = fake.handlers.get('warden:pause')!;

  const refused = [
    invokeEvent(ours.webContents, 'https://evil.example/'),
    invokeEvent(ours.webContents, 'file:///home/me/index.html'),
    invokeEvent(ours.webContents, 'app://warden/other.html'),
    invokeEvent(ours.webContents, 'app://evil/index.html'),
    invokeEvent(ours.webContents, 'app://user:pw@warden/index.html'),
    invokeEvent(ours.webContents, APP_PAGE_URL, { subframe: true }),
    invokeEvent(ours.webContents, null),
    invokeEvent(stranger.webContents, APP_PAGE_URL),
  ];
  for (const event of refused) {
    assert.throws(
      () => pause(event),
      { message: UNTRUSTED_FRAME_MESSAGE },
      JSON.stringify(event.senderFrame),
    );
  }
  // A closed window is no longer ours.
  ours.close();
  assert.throws(() => pause(invokeEvent(ours.webContents, APP_PAGE_URL)), {
    message: UNTRUSTED_FRAME_MESSAGE,
  });
  assert.equal(api.called('pause').length, 0, 'nothing reached the daemon');
  assert.equal(
    isTrustedSender(invokeEvent(ours.webContents, APP_PAGE_URL) as never, () => true),
    true,
  );
});

test('IPC: arguments of the wrong shape are refused before the daemon is called', () => {
  const fake = fakeElectron();
  const api = new FakeApi();
  const ours = new FakeBrowserWindow({});
  registerIpcHandlers(fake.electron.ipcMain, api, (contents) => contents.id === ours.webContents.id);
  const from = invokeEvent(ours.webContents, APP_PAGE_URL);
  const call =
    (method: string, ...args: unknown[]) =>
    () =>
      fake.handlers.get(`warden:${method}`)!(from, ...args);

  assert.throws(call('revokeRule', '1/../../secrets/x'), /refused: bad arguments for revokeRule/);
  assert.throws(
    call('approvePin', '..', 'tool', 'x', 'f'.repeat(64)),
    /refused: bad arguments for approvePin/,
  );
  // A pin is approved only by the hash the person saw.
  assert.throws(call('approvePin', 'github', 'tool', 'x'), /refused: bad arguments for approvePin/);
  assert.throws(
    call('approvePin', 'github', 'tool', 'x', 'not-a-hash'),
    /refused: bad arguments for approvePin/,
  );
  assert.throws(call('deleteSecret', ''), /refused: bad arguments for deleteSecret/);
  assert.throws(call('status', 'extra'), /refused: bad arguments for status/);
  assert.throws(
    call('answer', 'id', { choice: 'allow-forever', argumentsHash: 'd'.repeat(64) }),
    /bad arguments/,
  );
  assert.throws(call('approveServer', 'github'), /bad arguments/);
  assert.equal(api.calls.length, 0);
});

test('window registry: events reach live windows only', () => {
  fakeElectron();
  const registry = new WindowRegistry();
  const a = new FakeBrowserWindow({});
  const b = new FakeBrowserWindow({});
  registry.add(a as never);
  registry.add(b as never);
  b.close();
  registry.send(IPC_EVENT_CHANNEL, { type: 'status.changed' });
  assert.deepEqual(a.webContents.sent, [{ channel: 'warden:event', payload: { type: 'status.changed' } }]);
  assert.deepEqual(b.webContents.sent, []);
  assert.equal(registry.size, 1);
});

// ---- hardening ----

test('hardening: navigation away from the app page, window.open and webviews are blocked; permissions denied', () => {
  const contents = new FakeWebContents();
  hardenWebContents(contents as never);
  const navigate = (event: string, url: string): boolean => {
    let prevented = false;
    contents.emit(event, { url, preventDefault: () => void (prevented = true) });
    return prevented;
  };
  assert.equal(navigate('will-navigate', 'https://evil.example/'), true);
  assert.equal(navigate('will-navigate', 'file:///etc/passwd'), true);
  assert.equal(navigate('will-navigate', 'app://warden/other.html'), true);
  assert.equal(navigate('will-navigate', `${APP_PAGE_URL}#/activity`), false, 'the app page itself may load');
  assert.equal(navigate('will-redirect', 'https://evil.example/'), true);
  assert.equal(navigate('will-attach-webview', APP_PAGE_URL), true);
  assert.deepEqual(contents.windowOpenHandler!({ url: 'https://example.com/' }), { action: 'deny' });
  assert.deepEqual(contents.windowOpenHandler!({ url: APP_PAGE_URL }), { action: 'deny' });

  let requested:
    ((contents: unknown, permission: string, callback: (granted: boolean) => void) => void) | null = null;
  let checked: (() => boolean) | null = null;
  denyAllPermissions({
    setPermissionRequestHandler: (handler: never) => void (requested = handler),
    setPermissionCheckHandler: (handler: never) => void (checked = handler),
  });
  const answers: boolean[] = [];
  for (const permission of ['media', 'geolocation', 'notifications', 'clipboard-read'])
    requested!(contents, permission, (granted) => answers.push(granted));
  assert.deepEqual(answers, [false, false, false, false]);
  assert.equal(checked!(), false);
});

test('CSP: strict, no eval, no inline, nothing framed or posted', () => {
  const directives = new Map(
    CONTENT_SECURITY_POLICY.split(';').map((d) => {
      const [name, ...values] = d.trim().split(/\s+/);
      return [name!, values] as const;
    }),
  );
  assert.deepEqual(directives.get('default-src'), ["'self'"]);
  assert.deepEqual(directives.get('script-src'), ["'self'"]);
  assert.deepEqual(directives.get('object-src'), ["'none'"]);
  assert.deepEqual(directives.get('base-uri'), ["'none'"]);
  assert.deepEqual(directives.get('frame-ancestors'), ["'none'"]);
  assert.deepEqual(directives.get('form-action'), ["'none'"]);
  assert.deepEqual(directives.get('img-src'), ["'self'", 'data:']);
  assert.doesNotMatch(CONTENT_SECURITY_POLICY, /unsafe-eval|unsafe-inline|\*/);
});

test('app URLs: only app://warden/index.html is our page', () => {
  assert.equal(appUrl('/servers'), 'app://warden/index.html#/servers');
  assert.equal(isAppPageUrl('app://warden/index.html#/approval/x'), true);
  assert.equal(isAppPageUrl('app://warden/index.html'), true);
  for (const url of [
    'app://warden/',
    'app://warden:80/index.html',
    'http://warden/index.html',
    'not a url',
    '',
  ])
    assert.equal(isAppPageUrl(url), false, url);
});

test('app:// protocol: serves the renderer with the CSP header, nothing outside it', async () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'warden-renderer-'));
  fs.mkdirSync(path.join(root, 'renderer', 'assets'), { recursive: true });
  fs.writeFileSync(path.join(root, 'renderer', 'index.html'), '<!doctype html><title>w</title>');
  fs.writeFileSync(path.join(root, 'renderer', 'assets', 'index-1.js'), 'console.log(1)');
  fs.writeFileSync(path.join(root, 'secret.txt'), 'do not serve');
  const handle = createAppProtocolHandler(path.join(root, 'renderer'));
  const get = (url: string, method = 'GET') => handle(new Request(url, { method }));
  try {
    const page = await get('app://warden/index.html');
    assert.equal(page.status, 200);
    assert.equal(page.headers.get('content-type'), 'text/html; charset=utf-8');
    assert.equal(page.headers.get('content-security-policy'), CONTENT_SECURITY_POLICY);
    assert.equal(page.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(await page.text(), '<!doctype html><title>w</title>');
    assert.equal((await get('app://warden/')).status, 200);
    const script = await get('app://warden/assets/index-1.js');
    assert.equal(script.headers.get('content-type'), 'text/javascript; charset=utf-8');
    assert.equal(await script.text(), 'console.log(1)');

    for (const url of [
      'app://warden/../secret.txt',
      'app://warden/%2e%2e/secret.txt',
      'app://warden/assets/..%2F..%2Fsecret.txt',
      'app://warden/..%5Csecret.txt',
      'app://warden/missing.js',
      'app://other/index.html',
    ]) {
      const response = await get(url);
      assert.equal(response.status, 404, url);
      assert.doesNotMatch(await response.text(), /do not serve/);
      assert.equal(
        response.headers.get('content-security-policy'),
        APP_RESPONSE_HEADERS['content-security-policy'],
      );
    }
    assert.equal((await get('app://warden/index.html', 'POST')).status, 405);
    assert.equal((await get('app://warden/%E0%A4%A.js')).status, 400);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
  assert.deepEqual(APP_SCHEME_PRIVILEGES.privileges, { standard: true, secure: true, supportFetchAPI: true });
});

// ---- launch dispatch ----

test('launch: `connect <server>` is the shim, anything else the tray app', () => {
  const exe = '/Applications/MCP Warden.app/Contents/MacOS/MCP Warden';
  assert.deepEqual(parseLaunch([exe, 'connect', 'github'], false), { mode: 'connect', server: 'github' });
  assert.deepEqual(parseLaunch([exe, '--config', '/c.json', 'connect', 'github'], false), {
    mode: 'connect',
    server: 'github',
    config: '/c.json',
  });
  assert.deepEqual(parseLaunch(['electron', '/repo', 'connect', 'fs', '--config=/d.json'], true), {
    mode: 'connect',
    server: 'fs',
    config: '/d.json',
  });
  assert.deepEqual(parseLaunch([exe, 'connect'], false).mode, 'usage');
  assert.deepEqual(parseLaunch([exe], false), { mode: 'app', hidden: false });
  assert.deepEqual(parseLaunch([exe, '-psn_0_12345'], false), { mode: 'app', hidden: false });
  assert.deepEqual(parseLaunch([exe, HIDDEN_SWITCH], false), { mode: 'app', hidden: true });
  // What the shim's daemon launcher runs: `<exe> <entry> [--config F] serve --headless`.
  assert.deepEqual(parseLaunch([exe, HIDDEN_SWITCH, '-c', '/c.json', 'serve', '--headless'], false), {
    mode: 'app',
    hidden: true,
    config: '/c.json',
  });
  assert.deepEqual(parseLaunch(['electron', '/repo/dist/main/app/main.js', 'serve', '--headless'], true), {
    mode: 'app',
    hidden: true,
  });
  // In development the app path is argv[1]; packaged, the executable is the app.
  assert.equal(
    daemonEntryArg(['electron', 'dist/main/app/main.js', 'connect', 'x'], true),
    path.resolve('dist/main/app/main.js'),
  );
  assert.equal(daemonEntryArg([exe, 'connect', 'x'], false), HIDDEN_SWITCH);

  assert.equal(portFromEnv({}), undefined);
  assert.equal(portFromEnv({ MCP_WARDEN_PORT: '0' }), 0);
  assert.throws(() => portFromEnv({ MCP_WARDEN_PORT: 'http' }), /MCP_WARDEN_PORT must be a port number/);
});

function fakeDeps(overrides: Partial<MainDeps> = {}): MainDeps & { log: string[] } {
  const log: string[] = [];
  const paths = { configFile: '/cfg/config.json', daemonLogFile: '/state/daemon.log' } as WardenPaths;
  return {
    log,
    argv: ['/opt/MCP Warden/mcp-warden'],
    defaultApp: false,
    platform: 'linux',
    env: {},
    mainDir: '/opt/app.asar/dist/main/app',
    stderr: { write: (text: string) => log.push(`stderr:${text}`) > 0 },
    resolvePaths: (config?: string) => {
      log.push(`paths:${config ?? ''}`);
      return paths;
    },
    runConnect: (options) => {
      log.push(`connect:${options.server}:${options.cliEntry}:${options.configOverride ?? ''}`);
      return Promise.resolve(0);
    },
    loadConfig: () => {
      log.push('loadConfig');
      return { file: '/cfg/config.json', servers: new Map() } as never;
    },
    startDaemon: () => {
      log.push('startDaemon');
      return Promise.reject(new Error('not in this test'));
    },
    connectControlClient: () => Promise.reject(new Error('not in this test')),
    createClient: () => new FakeApi(),
    createLogger: () => silentLogger(),
    ...overrides,
  };
}

test('main: `connect <server>` runs the shim alone: no lock, no window, no tray, exit with its code', async () => {
  const fake = fakeElectron();
  const deps = fakeDeps({
    argv: ['/opt/MCP Warden/mcp-warden', 'connect', 'github'],
    runConnect: (options) => {
      deps.log.push(`connect:${options.server}:${options.cliEntry}`);
      return Promise.resolve(3);
    },
  });
  const started = main(fake.electron, deps);
  assert.equal(started.launch.mode, 'connect');
  await started.done;
  assert.deepEqual(deps.log, ['paths:', `connect:github:${HIDDEN_SWITCH}`]);
  assert.equal(fake.app.exitCode, 3);
  assert.equal(fake.app.lockRequests, 0);
  assert.equal(fake.app.hardwareAcceleration, false);
  assert.equal(fake.app.dock.visible, false);
  assert.equal(FakeBrowserWindow.instances.length, 0);
  assert.equal(FakeTray.instances.length, 0);
  assert.equal(fake.handlers.size, 0);
  assert.deepEqual(fake.schemes, []);

  // A shim that cannot reach or start the daemon says why and exits 1.
  const failing = fakeElectron();
  const failDeps = fakeDeps({
    argv: ['electron', '/repo', '--config', '/c.json', 'connect', 'fs'],
    defaultApp: true,
    runConnect: () => Promise.reject(new WardenError('DAEMON_START_FAILED', 'could not start the daemon')),
  });
  await main(failing.electron, failDeps).done;
  assert.deepEqual(failDeps.log, [
    'paths:/c.json',
    'stderr:mcp-warden connect fs: could not start the daemon\n',
  ]);
  assert.equal(failing.app.exitCode, 1);

  const usage = fakeElectron();
  const usageDeps = fakeDeps({ argv: ['/opt/MCP Warden/mcp-warden', 'connect'] });
  await main(usage.electron, usageDeps).done;
  assert.equal(usage.app.exitCode, 2);
  assert.match(usageDeps.log[0]!, /usage: connect <server>/);
});

test('main: a second instance quits without starting anything (the first one shows its dashboard)', async () => {
  const fake = fakeElectron();
  fake.app.gotLock = false;
  const deps = fakeDeps();
  const started = main(fake.electron, deps);
  assert.equal(await started.done, null);
  assert.equal(fake.app.quits, 1);
  assert.ok(!deps.log.includes('startDaemon'));
  assert.equal(FakeBrowserWindow.instances.length, 0);
});

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

test('startOrAttach: attaches to a daemon already running, rethrows anything else', async () => {
  const attached = new FakeApi();
  const options = {
    config: {} as never,
    paths: { daemonStateFile: '/s' } as WardenPaths,
    logger: silentLogger(),
  };
  const result = await startOrAttach(
    {
      startDaemon: () => Promise.reject(new WardenError('DAEMON_ALREADY_RUNNING', 'already running (pid 9)')),
      connectControlClient: () => Promise.resolve(attached),
      createClient: () => assert.fail('no client of our own'),
    },
    options,
  );
  assert.equal(result.api, attached);
  assert.equal(result.daemon, null);
  await assert.rejects(
    startOrAttach(
      {
        startDaemon: () => Promise.reject(new WardenError('DAEMON_PORT_IN_USE', 'port 47113 is used')),
        connectControlClient: () => assert.fail('not attached'),
        createClient: () => assert.fail('no client'),
      },
      options,
    ),
    /port 47113 is used/,
  );
});

test('app paths: renderer, preload and tray icon under the app root, dev and packaged alike', () => {
  const packaged = appPaths(
    '/Applications/MCP Warden.app/Contents/Resources/app.asar/dist/main/app',
    'darwin',
  );
  assert.equal(packaged.root, '/Applications/MCP Warden.app/Contents/Resources/app.asar');
  assert.equal(packaged.rendererDir, `${packaged.root}/dist/renderer`);
  assert.equal(packaged.preload, `${packaged.root}/dist/preload/preload.cjs`);
  assert.equal(packaged.trayIcon, `${packaged.root}/resources/tray/trayTemplate.png`);
  const dev = appPaths(path.resolve('dist/main/app'), 'linux');
  assert.equal(dev.root, path.resolve('.'));
  assert.equal(dev.trayIcon, path.resolve('resources/tray/tray.png'));
  assert.ok(fs.existsSync(dev.trayIcon), 'the tray icon is in the repo');
  assert.ok(fs.existsSync(path.resolve('resources/tray/trayTemplate.png')));
  assert.ok(fs.existsSync(path.resolve('resources/tray/trayTemplate@2x.png')));
});

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
