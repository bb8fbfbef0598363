import type { IpcRenderer, IpcRendererEvent } from 'electron';
import { IPC_EVENT_CHANNEL, ipcChannel } from '../main/app/channels.ts';
import { fromIpcError } from '../main/core/errors.ts';
import type { ControlEvent } from '../main/core/control/contract.ts';
import { WARDEN_API_METHODS, type WardenApi, type WardenApiMethod } from '../main/core/control/warden-api.ts';

/** What buildApi needs of ipcRenderer. */
export type IpcRendererLike = Pick<IpcRenderer, 'invoke' | 'on' | 'removeListener'>;

/** Electron's prefix on errors thrown by an ipcMain.handle handler, stripped for the renderer. */
const REMOTE_ERROR_PREFIX = /^Error invoking remote method '[^']*': (?:[A-Za-z]*Error: )?/;

/** The message of an error from ipcRenderer.invoke, without Electron's "Error invoking remote method" prefix. */
export function remoteErrorMessage(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.replace(REMOTE_ERROR_PREFIX, '');
}

/**
 * The object exposed to the renderer as `window.warden`: exactly the WardenApi. Each request
 * method invokes `warden:<method>` with its arguments (the main process checks the sender and
 * the arguments, then calls the daemon) and rejects with the same WardenError the main process
 * threw (fromIpcError: code and message), or an Error with the message of any other failure. `subscribe`
 * listens on `warden:event` and hands the renderer the event alone, never Electron's
 * IpcRendererEvent (whose `sender` is ipcRenderer itself); it calls `onOpen` once, right after
 * subscribing, and returns a function that removes the listener. Nothing else is exposed: no
 * generic invoke or send, no ipcRenderer.
 */
export function buildApi(ipc: IpcRendererLike): WardenApi {
  const request =
    (method: WardenApiMethod) =>
    async (...args: unknown[]): Promise<unknown> => {
      try {
        return await ipc.invoke(ipcChannel(method), ...args);
      } catch (error) {
        throw fromIpcError(error) ?? new Error(remoteErrorMessage(error), { cause: error });
      }
    };
  const api: Record<string, unknown> = {};
  for (const method of WARDEN_API_METHODS) api[method] = request(method);
  api.subscribe = (onEvent: (event: ControlEvent) => void, onOpen?: () => void): (() => void) => {
    let active = true;
    const listener = (_event: IpcRendererEvent, payload: ControlEvent): void => {
      if (active) onEvent(payload);
    };
    ipc.on(IPC_EVENT_CHANNEL, listener);
    if (onOpen) {
      queueMicrotask(() => {
        if (active) onOpen();
      });
    }
    return () => {
      active = false;
      ipc.removeListener(IPC_EVENT_CHANNEL, listener);
    };
  };
  return Object.freeze(api) as unknown as WardenApi;
}
