/**
 * The IPC bridge (main/app): every WardenApi method registered, calls only from our own page's
 * main frame and with arguments of the right shape; events only to live windows. Everything runs
 * against a fake of the Electron main-process modules (test/helpers/fake-electron.ts) handed to
 * the same code main.ts wires with the real ones.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { IPC_EVENT_CHANNEL } from '../../main/app/channels.ts';
import { isTrustedSender, registerIpcHandlers, UNTRUSTED_FRAME_MESSAGE } from '../../main/app/ipc.ts';
import { APP_PAGE_URL } from '../../main/app/window-options.ts';
import { WindowRegistry } from '../../main/app/window-registry.ts';
import { WARDEN_API_METHODS } from '../../main/core/control/warden-api.ts';
import { FakeBrowserWindow, fakeElectron, invokeEvent } from '../helpers/fake-electron.ts';
import { FakeApi } from '../helpers/fake-warden-api.ts';

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
