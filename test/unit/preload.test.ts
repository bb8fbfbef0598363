/**
 * The preload bridge (preload/): `window.warden` is exactly the WardenApi over IPC, nothing
 * more. Electron cannot run here (its binary is not downloaded), so ipcRenderer and
 * contextBridge are fakes; the entry file is loaded with `electron` resolved to a fake module,
 * and the Vite bundle is built and evaluated with a `require` that knows only `electron`.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { registerHooks } from 'node:module';
import vm from 'node:vm';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { build } from 'vite';
import { buildApi, remoteErrorMessage, type IpcRendererLike } from '../../preload/api.ts';
import type { ControlEvent } from '../../main/core/control/contract.ts';
import { WARDEN_API_METHODS, type WardenApi } from '../../main/core/control/warden-api.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

type Listener = (event: unknown, ...args: unknown[]) => void;

/** A fake ipcRenderer: records invokes, answers from `answers`, keeps listeners per channel. */
function fakeIpcRenderer(answers: Record<string, unknown> = {}) {
  const invokes: { channel: string; args: unknown[] }[] = [];
  const listeners = new Map<string, Set<Listener>>();
  const ipc = {
    invokes,
    listeners,
    invoke(channel: string, ...args: unknown[]): Promise<unknown> {
      invokes.push({ channel, args });
      const answer = answers[channel];
      return answer instanceof Error ? Promise.reject(answer) : Promise.resolve(answer);
    },
    on(channel: string, listener: Listener) {
      if (!listeners.has(channel)) listeners.set(channel, new Set());
      listeners.get(channel)!.add(listener);
      return ipc;
    },
    removeListener(channel: string, listener: Listener) {
      listeners.get(channel)?.delete(listener);
      return ipc;
    },
    /** Delivers a message as the main process's webContents.send would. */
    emit(channel: string, payload: unknown) {
      const event = { sender: ipc, senderId: 0 };
      for (const listener of listeners.get(channel) ?? []) listener(event, payload);
    },
  };
  return ipc;
}

const asIpc = (ipc: ReturnType<typeof fakeIpcRenderer>): IpcRendererLike => ipc as unknown as IpcRendererLike;

test('buildApi exposes exactly the WardenApi methods and subscribe, frozen, with no IPC escape hatch', () => {
  const api = buildApi(asIpc(fakeIpcRenderer()));
  assert.deepEqual(Object.keys(api).sort(), [...WARDEN_API_METHODS, 'subscribe'].sort());
  for (const name of ['invoke', 'send', 'sendSync', 'on', 'ipcRenderer', 'postMessage'])
    assert.equal(name in api, false, name);
  assert.ok(Object.isFrozen(api));
  for (const key of Object.keys(api))
    assert.equal(typeof (api as unknown as Record<string, unknown>)[key], 'function');
});

test('each method invokes warden:<method> with its arguments and resolves with the answer', async () => {
  const ipc = fakeIpcRenderer({ 'warden:status': { paused: false }, 'warden:exportAudit': 'id,ts\n' });
  const api = buildApi(asIpc(ipc));
  assert.deepEqual(await api.status(), { paused: false });
  await api.approveServer('github', 'a'.repeat(64));
  await api.answer('req-1', { choice: 'deny', argumentsHash: 'b'.repeat(64), reason: 'no' });
  await api.protect('cursor', 'c'.repeat(64), ['github']);
  assert.equal(await api.exportAudit({ server: 'github' }, 'csv'), 'id,ts\n');
  assert.deepEqual(ipc.invokes, [
    { channel: 'warden:status', args: [] },
    { channel: 'warden:approveServer', args: ['github', 'a'.repeat(64)] },
    {
      channel: 'warden:answer',
      args: ['req-1', { choice: 'deny', argumentsHash: 'b'.repeat(64), reason: 'no' }],
    },
    { channel: 'warden:protect', args: ['cursor', 'c'.repeat(64), ['github']] },
    { channel: 'warden:exportAudit', args: [{ server: 'github' }, 'csv'] },
  ]);

  // Every method, by name.
  const every = fakeIpcRenderer();
  const all = buildApi(asIpc(every)) as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
  for (const method of WARDEN_API_METHODS) await all[method]!('x', 1);
  assert.deepEqual(
    every.invokes.map((i) => i.channel),
    WARDEN_API_METHODS.map((m) => `warden:${m}`),
  );
  assert.ok(every.invokes.every((i) => JSON.stringify(i.args) === '["x",1]'));
});

test("errors from the main process reach the renderer without Electron's prefix", async () => {
  const ipc = fakeIpcRenderer({
    'warden:pause': new Error(
      "Error invoking remote method 'warden:pause': WardenError: the daemon did not answer",
    ),
    'warden:status': new Error(
      "Error invoking remote method 'warden:status': Error: refused: IPC from an untrusted frame",
    ),
  });
  const api = buildApi(asIpc(ipc));
  await assert.rejects(api.pause(), { message: 'the daemon did not answer' });
  await assert.rejects(api.status(), { message: 'refused: IPC from an untrusted frame' });
  assert.equal(remoteErrorMessage('plain'), 'plain');
});

test('subscribe delivers each event alone, calls onOpen once, and unsubscribing removes the listener', async () => {
  const ipc = fakeIpcRenderer();
  const api = buildApi(asIpc(ipc));
  const received: unknown[][] = [];
  let opened = 0;
  const stop = api.subscribe(
    (...args: unknown[]) => void received.push(args),
    () => void opened++,
  );
  assert.equal(ipc.listeners.get('warden:event')?.size, 1);
  await Promise.resolve();
  assert.equal(opened, 1);
  const event: ControlEvent = { type: 'approval.resolved', id: 'a1', outcome: { choice: 'deny' } };
  ipc.emit('warden:event', event);
  ipc.emit('warden:other', { type: 'status.changed' });
  assert.deepEqual(
    received,
    [[event]],
    'the event only, never the IpcRendererEvent (its sender is ipcRenderer)',
  );

  stop();
  assert.equal(ipc.listeners.get('warden:event')?.size, 0);
  ipc.emit('warden:event', { type: 'status.changed' });
  assert.equal(received.length, 1);
  await Promise.resolve();
  assert.equal(opened, 1, 'onOpen ran once');

  // Stopped before onOpen had its turn: it never runs.
  let late = 0;
  api.subscribe(
    () => {},
    () => void late++,
  )();
  await Promise.resolve();
  assert.equal(late, 0);
});

/** A fake contextBridge recording what was exposed. */
function fakeContextBridge() {
  const exposed: { key: string; api: unknown }[] = [];
  return { exposed, exposeInMainWorld: (key: string, api: unknown) => void exposed.push({ key, api }) };
}

test('the preload entry exposes buildApi(ipcRenderer) as window.warden and nothing else', async () => {
  const bridge = fakeContextBridge();
  const ipc = fakeIpcRenderer({ 'warden:status': 'from-main' });
  (globalThis as Record<string, unknown>).__wardenFakeElectron = { contextBridge: bridge, ipcRenderer: ipc };
  const fakeModule =
    'const f = globalThis.__wardenFakeElectron; export const contextBridge = f.contextBridge; export const ipcRenderer = f.ipcRenderer;';
  const hooks = registerHooks({
    resolve(specifier, context, next) {
      if (specifier === 'electron')
        return { url: `data:text/javascript,${encodeURIComponent(fakeModule)}`, shortCircuit: true };
      return next(specifier, context);
    },
  });
  try {
    await import('../../preload/preload.ts');
  } finally {
    hooks.deregister();
  }
  assert.equal(bridge.exposed.length, 1);
  assert.equal(bridge.exposed[0]!.key, 'warden');
  const api = bridge.exposed[0]!.api as WardenApi;
  assert.deepEqual(Object.keys(api).sort(), [...WARDEN_API_METHODS, 'subscribe'].sort());
  assert.equal(await api.status(), 'from-main');
  assert.deepEqual(ipc.invokes, [{ channel: 'warden:status', args: [] }]);
});

test('the bundled preload is one CommonJS file that requires only electron', async () => {
  const outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'warden-preload-'));
  try {
    await build({
      configFile: path.join(ROOT, 'vite.preload.config.ts'),
      logLevel: 'silent',
      build: { outDir },
    });
    assert.deepEqual(fs.readdirSync(outDir), ['preload.cjs']);
    const code = fs.readFileSync(path.join(outDir, 'preload.cjs'), 'utf8');
    assert.doesNotMatch(code, /^\s*(import|export)\s/m, 'no ES module syntax');

    const required: string[] = [];
    const bridge = fakeContextBridge();
    const ipc = fakeIpcRenderer({ 'warden:pins': { pins: [] } });
    const fakeRequire = (id: string): unknown => {
      required.push(id);
      if (id === 'electron') return { contextBridge: bridge, ipcRenderer: ipc };
      throw new Error(`a sandboxed preload cannot require ${id}`);
    };
    const module = { exports: {} };
    // What Electron's sandboxed preload loader does: run the file with a require limited to electron.
    const run = vm.compileFunction(code, ['require', 'module', 'exports']) as (...args: unknown[]) => void;
    run(fakeRequire, module, module.exports);
    assert.deepEqual(required, ['electron']);
    assert.equal(bridge.exposed[0]!.key, 'warden');
    const api = bridge.exposed[0]!.api as WardenApi;
    assert.deepEqual(Object.keys(api).sort(), [...WARDEN_API_METHODS, 'subscribe'].sort());
    assert.deepEqual(await api.pins(), { pins: [] });
  } finally {
    fs.rmSync(outDir, { recursive: true, force: true });
  }
});
