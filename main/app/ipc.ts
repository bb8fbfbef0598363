import type { IpcMain, IpcMainInvokeEvent, WebContents } from 'electron';
import { z } from 'zod';
import { operation } from '../core/control/operations.ts';
import { toIpcError, WardenError } from '../core/errors.ts';
import { WARDEN_API_METHODS, type WardenApi, type WardenApiMethod } from '../core/control/warden-api.ts';
import { ipcChannel } from './channels.ts';
import { isAppPageUrl } from './window-options.ts';

/** The message of every refusal of an IPC call from a frame that is not ours. */
export const UNTRUSTED_FRAME_MESSAGE = 'refused: IPC from an untrusted frame';

/** What the sender check reads of an invoke event. */
export type IpcSenderEvent = Pick<IpcMainInvokeEvent, 'sender' | 'senderFrame'>;

/**
 * True when an IPC call comes from our renderer: the sending frame still exists, is a top-level
 * frame, shows the renderer's own page (app://warden/index.html), and belongs to one of our
 * windows.
 * @param ownsWebContents whether a WebContents is one of our windows' (window-registry.ts).
 */
export function isTrustedSender(
  event: IpcSenderEvent,
  ownsWebContents: (contents: WebContents) => boolean,
): boolean {
  const frame = event.senderFrame;
  if (!frame) return false;
  if (frame.parent !== null) return false;
  if (!isAppPageUrl(frame.url)) return false;
  return ownsWebContents(event.sender);
}

/**
 * The arguments of a WardenApi method as ipcMain receives them, checked with the operation's
 * own `args` tuple (operations.ts: extra or missing arguments are refused) and padded to its
 * length, so the API is called with exactly the method's positional arguments. The daemon
 * validates every request again; this is the first gate, at the process boundary.
 */
function parseArgs(method: WardenApiMethod, values: unknown[]): unknown[] {
  const args = operation(method).args;
  const parsed = args.safeParse(values);
  if (!parsed.success) {
    throw new WardenError(
      'INVALID_REQUEST',
      `refused: bad arguments for ${method}: ${z.prettifyError(parsed.error)}`,
    );
  }
  return Array.from({ length: args.def.items.length }, (_, i) => parsed.data[i]);
}

/**
 * Registers `warden:<method>` with ipcMain.handle for every name in WARDEN_API_METHODS (the
 * UI's operations of operations.ts). Each handler first checks the sender (isTrustedSender; else it throws FORBIDDEN
 * UNTRUSTED_FRAME_MESSAGE), then the arguments (else INVALID_REQUEST "refused: bad arguments for
 * <method>: …"), then forwards them to `api` and returns its result. Every error leaves as
 * toIpcError (errors.ts) of it, so the preload bridge rebuilds the same WardenError (code and
 * message) in the renderer.
 */
export function registerIpcHandlers(
  ipcMain: Pick<IpcMain, 'handle'>,
  api: WardenApi,
  ownsWebContents: (contents: WebContents) => boolean,
): void {
  for (const method of WARDEN_API_METHODS) {
    ipcMain.handle(ipcChannel(method), (event, ...values: unknown[]) => {
      if (!isTrustedSender(event, ownsWebContents))
        throw toIpcError(new WardenError('FORBIDDEN', UNTRUSTED_FRAME_MESSAGE));
      let args: unknown[];
      try {
        args = parseArgs(method, values);
      } catch (error) {
        throw toIpcError(error);
      }
      const call = api[method] as (...args: unknown[]) => Promise<unknown>;
      return Promise.resolve()
        .then(() => call.apply(api, args))
        .catch((error: unknown) => {
          throw toIpcError(error);
        });
    });
  }
}
