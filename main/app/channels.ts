import type { WardenApiMethod } from '../core/control/warden-api.ts';

/**
 * IPC channel names shared by the main process (ipc.ts) and the preload bridge. Kept in a
 * module without runtime imports so the preload bundle stays one small file.
 */

/** Prefix of every request channel: `warden:<WardenApi method>`. */
export const IPC_CHANNEL_PREFIX = 'warden:';

/** Channel on which the main process pushes daemon events (ControlEvent) to our windows. */
export const IPC_EVENT_CHANNEL = 'warden:event';

/** The request channel of one WardenApi method, e.g. `warden:status`. */
export function ipcChannel<M extends WardenApiMethod>(method: M): `warden:${M}` {
  return `${IPC_CHANNEL_PREFIX}${method}`;
}
