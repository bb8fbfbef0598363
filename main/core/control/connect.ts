import { WardenError } from '../errors.ts';
import type { WardenPaths } from '../paths.ts';
import { probeDaemon, readDaemonState } from '../state-file.ts';
import { ControlClient } from './control-client.ts';

/**
 * Finds the running daemon through its state file (daemon.json) and returns a client with its
 * token.
 * @throws WardenError DAEMON_UNREACHABLE when no daemon answers.
 */
export async function connectControlClient(paths: WardenPaths): Promise<ControlClient> {
  const state = readDaemonState(paths.daemonStateFile);
  const health = await probeDaemon(state);
  if (!health || !state?.port) {
    throw new WardenError(
      'DAEMON_UNREACHABLE',
      'the Warden daemon is not running: start it with `mcp-warden serve`',
    );
  }
  return new ControlClient(`http://127.0.0.1:${state.port}/api/v1`, state.token);
}
