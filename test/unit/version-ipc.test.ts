/**
 * The `version` operation over IPC: the handler the daemon runs (control/handlers/status.ts),
 * called in process with the table's validation (invoke.ts), behind the IPC registration of
 * main/app/ipc.ts with the fake ipcMain, reached through the preload bridge as the renderer
 * does. Nothing in ipc.ts or the preload names the operation: both are derived from the table.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { registerIpcHandlers } from '../../main/app/ipc.ts';
import { statusHandlers } from '../../main/core/control/handlers/status.ts';
import { invokeOperation } from '../../main/core/control/invoke.ts';
import { operationMethods, WARDEN_API_METHODS, type WardenApi } from '../../main/core/control/warden-api.ts';
import { isWardenError } from '../../main/core/errors.ts';
import { WARDEN_VERSION } from '../../main/core/version.ts';
import { buildApi, type IpcRendererLike } from '../../preload/api.ts';
import { fakeElectron, invokeEvent } from '../helpers/fake-electron.ts';

const PAGE = 'app://warden/index.html';

function renderer(fake: ReturnType<typeof fakeElectron>): IpcRendererLike {
  return {
    async invoke(channel: string, ...args: unknown[]): Promise<unknown> {
      const handler = fake.handlers.get(channel);
      assert.ok(handler, `a handler for ${channel}`);
      try {
        return await handler(invokeEvent({ id: 1 }, PAGE), ...args);
      } catch (error) {
        throw new Error(`Error invoking remote method '${channel}': ${String(error)}`, { cause: error });
      }
    },
    on: () => undefined as never,
    removeListener: () => undefined as never,
  };
}

function bridged(): { api: WardenApi; fake: ReturnType<typeof fakeElectron> } {
  // The version handler reads neither the core nor the gateway's sessions.
  const handlers = statusHandlers({ core: undefined as never, runtime: undefined as never });
  const inProcess = operationMethods(
    { request: (name, parts) => invokeOperation(handlers, name, parts) as never },
    WARDEN_API_METHODS,
  ) as unknown as WardenApi;
  const fake = fakeElectron();
  registerIpcHandlers(fake.electron.ipcMain, inProcess, () => true);
  return { api: buildApi(renderer(fake)), fake };
}

test('version is registered on warden:version and answers with the version, pid and API version', async () => {
  const { api, fake } = bridged();
  assert.ok(fake.handlers.has('warden:version'));
  assert.deepEqual(await api.version(), { version: WARDEN_VERSION, pid: process.pid, api: 'v1' });
});

test('version takes no arguments: an extra one is refused at the IPC edge as INVALID_REQUEST', async () => {
  const { api } = bridged();
  const error: unknown = await (api.version as (...a: unknown[]) => Promise<unknown>)('extra').then(
    () => assert.fail('expected a rejection'),
    (e: unknown) => e,
  );
  assert.ok(isWardenError(error, 'INVALID_REQUEST'), String(error));
  assert.match(error.message, /^refused: bad arguments for version/);
});
