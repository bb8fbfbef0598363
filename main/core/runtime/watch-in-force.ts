import fs from 'node:fs';
import { parseConfig } from '../config/load.ts';
import type { WardenConfig } from '../config/schema.ts';
import { describeError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { readPlatformManagedPolicy } from '../policy/platform-managed.ts';
import { managedPolicyPath } from '../policy/sources.ts';
import { watchFileChanges } from '../watch-file.ts';
import type { StateInForce } from './state-in-force.ts';

/** How often the config file is checked for changes, ms. */
export const CONFIG_POLL_MS = 2000;
/** How often the managed policy file is checked for changes, ms. */
export const MANAGED_POLICY_POLL_MS = 2000;
/** How often macOS managed preferences / Windows Group Policy are read again, ms. */
export const PLATFORM_POLICY_POLL_MS = 60_000;

/**
 * Watches everything the state in force is read from while the daemon runs, and reloads it on a
 * change: the config file, the managed policy file (stat polled, so a file replaced, created or
 * deleted is seen too) and, on macOS and Windows, the platform's managed settings. The org
 * policy sync follows its URL itself (StateInForce).
 * @returns a function that stops watching.
 */
export function watchInForce(
  state: StateInForce,
  logger: Logger,
  intervals: { configMs?: number; managedMs?: number } = {},
): () => void {
  const stops = [
    watchConfigFile(state, logger, intervals.configMs ?? CONFIG_POLL_MS),
    watchManagedPolicy(state, logger, intervals.managedMs ?? MANAGED_POLICY_POLL_MS),
  ];
  return () => {
    for (const stop of stops) stop();
  };
}

/**
 * Reloads the config when its file changes. An edit that is not valid changes nothing: the
 * previous config stays in force and the log says why.
 */
function watchConfigFile(state: StateInForce, logger: Logger, intervalMs: number): () => void {
  const file = state.current.config.file;
  return watchFileChanges(file, intervalMs, async () => {
    let next: WardenConfig;
    try {
      next = parseConfig(fs.readFileSync(file, 'utf8'), file);
    } catch (error) {
      logger.error(
        { err: describeError(error) },
        'the edited config is not valid; the previous one stays in force',
      );
      return;
    }
    try {
      logger.info(await state.applyConfig(next), 'config reloaded');
    } catch (error) {
      logger.error({ err: describeError(error) }, 'config reload failed');
    }
  });
}

/** Reloads the policy when the managed policy file (or the platform's managed settings) change. */
function watchManagedPolicy(state: StateInForce, logger: Logger, intervalMs: number): () => void {
  const file = state.managedPolicyFile ?? managedPolicyPath();
  const reload = (): Promise<void> =>
    state.reloadPolicy('managed policy').catch((error: unknown) => {
      logger.error({ err: describeError(error) }, 'policy reload failed');
    });
  const unwatchFile = watchFileChanges(file, intervalMs, () => {
    logger.info({ file }, 'managed policy changed');
    return reload();
  });
  let platformTimer: NodeJS.Timeout | undefined;
  if (!state.managedPolicyFile && (process.platform === 'darwin' || process.platform === 'win32')) {
    const read = (): string => {
      try {
        return JSON.stringify(readPlatformManagedPolicy() ?? null);
      } catch (error) {
        return `error: ${describeError(error)}`;
      }
    };
    let last = read();
    platformTimer = setInterval(() => {
      const now = read();
      if (now === last) return;
      last = now;
      logger.info('platform managed policy changed');
      void reload();
    }, PLATFORM_POLICY_POLL_MS);
    platformTimer.unref();
  }
  return () => {
    unwatchFile();
    clearInterval(platformTimer);
  };
}
