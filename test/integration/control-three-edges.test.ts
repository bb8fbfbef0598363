/**
 * One control operation table, three edges, one daemon (a real `mcp-warden serve` process):
 * - `version`: HTTP GET /api/v1/version, ControlClient.version(), `mcp-warden version`, and over
 *   IPC (the fake ipcMain of test/helpers/fake-electron.ts in front of a ControlClient, as the
 *   tray app has it);
 * - a WardenError thrown in a real handler (DELETE /rules/<id> of a rule that does not exist:
 *   NOT_FOUND) arrives as the same code and message at the CLI, at the dashboard's ControlClient
 *   and through IPC into the renderer's `window.warden`.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { registerIpcHandlers } from '../../main/app/ipc.ts';
import { ControlClient } from '../../main/core/control/control-client.ts';
import type { WardenApi } from '../../main/core/control/warden-api.ts';
import { isWardenError } from '../../main/core/errors.ts';
import { WARDEN_VERSION } from '../../main/core/version.ts';
import { buildApi, type IpcRendererLike } from '../../preload/api.ts';
import { fakeElectron, invokeEvent } from '../helpers/fake-electron.ts';
import { runProcess } from '../helpers/run.ts';
import {
  CLI,
  makeWardenEnv,
  startDaemonProcess,
  type DaemonProcess,
  type WardenEnv,
} from '../helpers/warden-env.ts';

const MESSAGE = 'no remembered rule #4242 (see `mcp-warden rules list`)';

/** The renderer's window.warden in the tray app: preload -> ipcMain (fake) -> ControlClient. */
function windowWarden(api: WardenApi): WardenApi {
  const fake = fakeElectron();
  registerIpcHandlers(fake.electron.ipcMain, api, () => true);
  const ipc: IpcRendererLike = {
    async invoke(channel: string, ...args: unknown[]): Promise<unknown> {
      try {
        return await fake.handlers.get(channel)!(invokeEvent({ id: 1 }, 'app://warden/index.html'), ...args);
      } catch (error) {
        // What Electron carries across: String(error) behind its prefix.
        throw new Error(`Error invoking remote method '${channel}': ${String(error)}`, { cause: error });
      }
    },
    on: () => undefined as never,
    removeListener: () => undefined as never,
  };
  return buildApi(ipc);
}

/** The daemon's own report of its pid (GET /healthz). */
async function healthz(daemon: DaemonProcess): Promise<{ pid: number }> {
  const response = await fetch(`${daemon.url}/healthz`, {
    headers: { authorization: `Bearer ${daemon.token}` },
  });
  const health = (await response.json()) as { pid: number };
  assert.equal(typeof health.pid, 'number');
  return health;
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => assert.fail('expected a rejection'),
    (error: unknown) => error,
  );
}

describe('control operations at the HTTP, CLI and IPC edges', () => {
  let w: WardenEnv;
  let daemon: DaemonProcess;
  let control: ControlClient;

  before(async () => {
    w = makeWardenEnv();
    daemon = await startDaemonProcess(w);
    control = new ControlClient(`${daemon.url}/api/v1`, daemon.token);
  });

  after(async () => {
    await daemon?.stop();
    w?.cleanup();
  });

  test('version over HTTP and through ControlClient: the daemon process answers', async () => {
    const health = await healthz(daemon);
    const response = await fetch(`${daemon.url}/api/v1/version`, {
      headers: { authorization: `Bearer ${daemon.token}` },
    });
    assert.equal(response.status, 200);
    const expected = { version: WARDEN_VERSION, pid: health.pid, api: 'v1' };
    assert.deepEqual(await response.json(), expected);
    assert.deepEqual(await control.version(), expected);
    const post = await fetch(`${daemon.url}/api/v1/version`, {
      method: 'POST',
      headers: { authorization: `Bearer ${daemon.token}` },
    });
    assert.equal(post.status, 405);
  });

  test('`mcp-warden version` prints the running daemon’s answer; --json as JSON', async () => {
    const health = await healthz(daemon);
    const text = await runProcess(CLI, ['version'], { env: w.env });
    assert.equal(text.stderr, '');
    assert.equal(text.stdout, `version: ${WARDEN_VERSION}\npid: ${health.pid}\napi: v1\n`);
    assert.equal(text.code, 0);
    const json = await runProcess(CLI, ['version', '--json'], { env: w.env });
    assert.deepEqual(JSON.parse(json.stdout), { version: WARDEN_VERSION, pid: health.pid, api: 'v1' });
  });

  test('version over IPC reaches the daemon', async () => {
    const health = await healthz(daemon);
    assert.deepEqual(await windowWarden(control).version(), {
      version: WARDEN_VERSION,
      pid: health.pid,
      api: 'v1',
    });
  });

  test('a handler’s NOT_FOUND: the CLI prints its message and exits 1', async () => {
    const result = await runProcess(CLI, ['rules', 'revoke', '4242'], { env: w.env });
    assert.equal(result.stderr, `mcp-warden: ${MESSAGE}\n`);
    assert.equal(result.code, 1);
  });

  test('a handler’s NOT_FOUND: ControlClient rebuilds it', async () => {
    const error = await rejection(control.revokeRule(4242));
    assert.ok(isWardenError(error, 'NOT_FOUND'), String(error));
    assert.equal(error.message, MESSAGE);
  });

  test('a handler’s NOT_FOUND: the renderer gets it through IPC, code and message', async () => {
    const error = await rejection(windowWarden(control).revokeRule(4242));
    assert.ok(isWardenError(error, 'NOT_FOUND'), String(error));
    assert.equal(error.message, MESSAGE);
  });
});

describe('`mcp-warden version` without a daemon', () => {
  test('says the daemon is not running and exits 1', async () => {
    const w = makeWardenEnv();
    try {
      const result = await runProcess(CLI, ['version'], { env: w.env });
      assert.equal(result.stdout, '');
      assert.equal(
        result.stderr,
        'mcp-warden: the Warden daemon is not running: start it with `mcp-warden serve`\n',
      );
      assert.equal(result.code, 1);
    } finally {
      w.cleanup();
    }
  });
});
