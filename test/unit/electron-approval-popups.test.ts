/**
 * Approval popups (main/app): one hardened window per held call, a notification when it did not
 * get the focus, closed when the call is resolved or expired. Everything runs against a fake of
 * the Electron main-process modules (test/helpers/fake-electron.ts) handed to the same code
 * main.ts wires with the real ones.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  ApprovalPopups,
  EXPIRY_GRACE_MS,
  FOCUS_CHECK_MS,
  type ApprovalPopupDeps,
} from '../../main/app/approval-popups.ts';
import { APP_PAGE_URL, hardenedWebPreferences } from '../../main/app/window-options.ts';
import { FakeBrowserWindow, fakeElectron } from '../helpers/fake-electron.ts';
import { approval } from '../helpers/fake-warden-api.ts';

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
