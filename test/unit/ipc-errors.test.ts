/**
 * Errors over IPC: a WardenError from the WardenApi behind main/app/ipc.ts reaches the renderer
 * through the preload bridge (preload/api.ts) as the same WardenError, code and message.
 * Electron cannot run here: ipcMain is the fake of test/helpers/fake-electron.ts, and the
 * renderer side passes a handler's failure on as Electron does (only `String(error)` crosses,
 * as "Error invoking remote method '<channel>': <String(error)>").
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { registerIpcHandlers, UNTRUSTED_FRAME_MESSAGE } from '../../main/app/ipc.ts';
import type { WardenApi } from '../../main/core/control/warden-api.ts';
import { isWardenError, WardenError } from '../../main/core/errors.ts';
import { buildApi, type IpcRendererLike } from '../../preload/api.ts';
import { fakeElectron, invokeEvent } from '../helpers/fake-electron.ts';

const PAGE = 'app://warden/index.html';

/** The renderer's ipcRenderer.invoke as Electron implements it, over the fake's handlers. */
function rendererOf(fake: ReturnType<typeof fakeElectron>, url: string): IpcRendererLike {
  const sender = { id: 1 };
  return {
    async invoke(channel: string, ...args: unknown[]): Promise<unknown> {
      const handler = fake.handlers.get(channel);
      assert.ok(handler, `a handler for ${channel}`);
      try {
        return await handler(invokeEvent(sender, url), ...args);
      } catch (error) {
        throw new Error(`Error invoking remote method '${channel}': ${String(error)}`, { cause: error });
      }
    },
    on: () => undefined as never,
    removeListener: () => undefined as never,
  };
}

function bridge(api: Partial<WardenApi>, url = PAGE): WardenApi {
  const fake = fakeElectron();
  registerIpcHandlers(fake.electron.ipcMain, api as WardenApi, () => true);
  return buildApi(rendererOf(fake, url));
}

const rejectsWith = async (promise: Promise<unknown>, code: string, message: string | RegExp) => {
  const error: unknown = await promise.then(
    () => assert.fail('expected a rejection'),
    (e: unknown) => e,
  );
  assert.ok(isWardenError(error), `a WardenError, got ${String(error)}`);
  assert.equal(error.code, code);
  if (typeof message === 'string') assert.equal(error.message, message);
  else assert.match(error.message, message);
  return error;
};

test("a control handler's WardenError reaches the renderer with its code and message", async () => {
  const message = 'no remembered rule #42 (see `mcp-warden rules list`)';
  const api = bridge({ revokeRule: () => Promise.reject(new WardenError('NOT_FOUND', message)) });
  await rejectsWith(api.revokeRule(42), 'NOT_FOUND', message);
});

test('a message with quotes, newlines and JSON in it survives the string Electron carries', async () => {
  const message = 'a "quoted" name\nand {"code":"USAGE","message":"not this"} inside';
  const api = bridge({ pause: () => Promise.reject(new WardenError('CONFLICT', message)) });
  await rejectsWith(api.pause(), 'CONFLICT', message);
});

test('a code from a newer daemon stays distinguishable: UNRECOGNIZED with the code received', async () => {
  const api = bridge({
    status: () =>
      Promise.reject(new WardenError('UNRECOGNIZED', 'from the future', { received: 'NEW_CODE' })),
  });
  const error = await rejectsWith(api.status(), 'UNRECOGNIZED', 'from the future');
  assert.equal(error.received, 'NEW_CODE');
});

test('refusals of the IPC edge itself carry codes: FORBIDDEN for a foreign frame, INVALID_REQUEST for bad arguments', async () => {
  const status = () => Promise.reject(new Error('not reached'));
  await rejectsWith(
    bridge({ status }, 'https://evil.example/').status(),
    'FORBIDDEN',
    UNTRUSTED_FRAME_MESSAGE,
  );
  const revoke = bridge({ revokeRule: () => Promise.resolve({ ok: true as const }) }).revokeRule(-1);
  await rejectsWith(revoke, 'INVALID_REQUEST', /^refused: bad arguments for revokeRule/);
});

test('a failure that is not a WardenError arrives as INTERNAL with its message', async () => {
  const api = bridge({ servers: () => Promise.reject(new TypeError('boom')) });
  await rejectsWith(api.servers(), 'INTERNAL', 'boom');
});
