import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { WardenError } from '../core/errors.ts';
import type { WardenPaths } from '../core/paths.ts';
import { currentLogFile } from '../core/log-file.ts';
import { probeDaemon, readDaemonState, type DaemonHealth, type DaemonState } from '../core/state-file.ts';

/** How long a shim waits for a daemon it started to answer, ms. */
export const DAEMON_START_TIMEOUT_MS = 20_000;

export interface DaemonEndpoint {
  state: DaemonState & { port: number };
  health: DaemonHealth;
  /** True when this call started the daemon. */
  started: boolean;
}

/**
 * Finds the running daemon, or starts one headless and waits for it. The daemon is detached and
 * writes daemon.log itself (rotated by size); its stderr goes to daemon.stderr.log. Many shims
 * may do this at once: every daemon but one exits at once (the port and the state file decide),
 * and all shims end up with the one that answers.
 * @param cliEntry the script that implements `mcp-warden` (this process's argv[1]).
 * @throws WardenError DAEMON_START_FAILED with the tails of daemon.stderr.log and the daemon log
 *   when no daemon answers within DAEMON_START_TIMEOUT_MS.
 */
export async function ensureDaemon(
  paths: WardenPaths,
  cliEntry: string,
  configOverride?: string,
): Promise<DaemonEndpoint> {
  const found = await findDaemon(paths);
  if (found) return { ...found, started: false };

  fs.mkdirSync(path.dirname(paths.daemonLogFile), { recursive: true, mode: 0o700 });
  // The daemon writes its own (rotating) log; its stderr catches what comes before the log is
  // open and what Node prints on a crash. Kept small: emptied when over its limit.
  const stderrFile = daemonStderrFile(paths);
  truncateIfOver(stderrFile, DAEMON_STDERR_MAX_BYTES);
  const log = fs.openSync(stderrFile, 'a', 0o600);
  const args = [
    ...process.execArgv,
    cliEntry,
    ...(configOverride ? ['--config', configOverride] : []),
    'serve',
    '--headless',
  ];
  const child = spawn(process.execPath, args, {
    detached: true,
    stdio: ['ignore', 'ignore', log],
    env: process.env,
  });
  fs.closeSync(log);
  const exit: { code: number | null } = { code: null };
  child.once('exit', (code) => (exit.code = code ?? 1));
  child.unref();

  const deadline = Date.now() + DAEMON_START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    const up = await findDaemon(paths);
    if (up) return { ...up, started: true };
    // A non-zero exit may just mean another shim's daemon won the race: keep waiting a little.
    if (exit.code !== null && exit.code !== 0 && Date.now() > deadline - DAEMON_START_TIMEOUT_MS + 3000)
      break;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new WardenError(
    'DAEMON_START_FAILED',
    `could not start the MCP Warden daemon (${exit.code === null ? 'no answer in time' : `it exited with code ${exit.code}`}). ` +
      `Last lines of ${stderrFile}:\n${tail(stderrFile, 8)}\n` +
      `Last lines of ${currentLogFile(paths.daemonLogFile)}:\n${tail(currentLogFile(paths.daemonLogFile), 8)}`,
  );
}

/** Largest size of the headless daemon's stderr file before a start empties it, bytes (1 MiB). */
export const DAEMON_STDERR_MAX_BYTES = 1024 * 1024;

/** Where a headless daemon's stderr goes: `daemon.stderr.log` next to daemon.log. */
export function daemonStderrFile(paths: WardenPaths): string {
  return path.join(path.dirname(paths.daemonLogFile), 'daemon.stderr.log');
}

function truncateIfOver(file: string, limit: number): void {
  try {
    if (fs.statSync(file).size > limit) fs.truncateSync(file, 0);
  } catch {
    // missing: it is created below
  }
}

async function findDaemon(paths: WardenPaths): Promise<Omit<DaemonEndpoint, 'started'> | undefined> {
  const state = readDaemonState(paths.daemonStateFile);
  const health = await probeDaemon(state, 1000);
  return health && state?.port ? { state: { ...state, port: state.port }, health } : undefined;
}

function tail(file: string, lines: number): string {
  try {
    return fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}
