import { connectControlClient } from '../core/control/connect.ts';
import { localControl, type LocalControl } from '../core/control/local-api.ts';
import { isWardenError } from '../core/errors.ts';
import type { WardenPaths } from '../core/paths.ts';

/**
 * The control operations a CLI command calls: the running daemon's when one runs (so the
 * dashboard and the tray hear of every change, and the daemon's own keychain access and
 * state.db make it), else the same handlers in this process (core/control/local-api.ts).
 * @param options.local run in this process even when a daemon runs (a client config file given
 *   with `--file`, which the daemon does not take from a caller).
 * @returns the caller, whether it is the daemon, and `close` (releases what the local one opened).
 */
export async function openControl(
  paths: WardenPaths,
  options: { local?: boolean; client?: string; file?: string } = {},
): Promise<{ api: Omit<LocalControl, 'close'>; daemon: boolean; close: () => void }> {
  if (!options.local) {
    try {
      return { api: await connectControlClient(paths), daemon: true, close: () => undefined };
    } catch (error) {
      if (!isWardenError(error, 'DAEMON_UNREACHABLE')) throw error;
    }
  }
  const api = localControl(paths, options);
  return { api, daemon: false, close: () => api.close() };
}

/** Runs `fn` with openControl's caller and closes it after. */
export async function withControl<T>(
  paths: WardenPaths,
  fn: (api: Omit<LocalControl, 'close'>) => Promise<T>,
  options: { local?: boolean; client?: string; file?: string } = {},
): Promise<T> {
  const control = await openControl(paths, options);
  try {
    return await fn(control.api);
  } finally {
    control.close();
  }
}
