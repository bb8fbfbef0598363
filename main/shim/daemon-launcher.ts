import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { WardenError } from '../core/errors.ts';
import type { WardenPaths } from '../core/paths.ts';
import { connectDaemon, type DaemonConnection } from './daemon-socket.ts';

/** How long a shim waits for a daemon it started to answer, ms. */
export const DAEMON_START_TIMEOUT_MS = 20_000;

export interface DaemonEndpoint extends DaemonConnection {
  /** True when this call started the daemon. */
  started: boolean;
}

/**
 * Opens a session of `server` on the running daemon's local socket (daemon-socket.ts), or
 * starts the daemon headless and says hello again until it answers. The daemon is detached and
 * writes daemon.log itself (rotated by size); its stderr goes to daemon.stderr.log. Many shims
 * may do this at once: every daemon but one exits at once (the port and the state file decide),
 * and all shims end up with the one that answers.
 * @param cliEntry the script that implements `mcp-warden` (this process's argv[1]).
 * @returns the connection and the daemon's greeting (a welcome, or a refusal to show).
 * @throws WardenError DAEMON_START_FAILED with the tails of daemon.stderr.log and the daemon log
 *   when no daemon answers within DAEMON_START_TIMEOUT_MS; RUNTIME_DIR_UNSAFE or
 *   DAEMON_UNREACHABLE from connectDaemon.
 */
export async function ensureDaemon(
  paths: WardenPaths,
  server: string,
  cliEntry: string,
  configOverride?: string,
): Promise<DaemonEndpoint> {
  const found = await connectDaemon(paths.daemonStateFile, server);
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
    // One malloc arena for all its threads, as bin/mcp-warden gives it (3 MiB less resident at
    // idle, the same CPU per call); kept when set. Its stdio servers do not inherit it.
    env: { ...process.env, MALLOC_ARENA_MAX: process.env.MALLOC_ARENA_MAX ?? '1' },
  });
  fs.closeSync(log);
  const exit: { code: number | null } = { code: null };
  child.once('exit', (code) => (exit.code = code ?? 1));
  child.unref();

  const deadline = Date.now() + DAEMON_START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    const up = await connectDaemon(paths.daemonStateFile, server);
    if (up) return { ...up, started: true };
    // A non-zero exit may just mean another shim's daemon won the race: keep waiting a little.
    if (exit.code !== null && exit.code !== 0 && Date.now() > deadline - DAEMON_START_TIMEOUT_MS + 3000)
      break;
    await new Promise((r) => setTimeout(r, 50));
  }
  // Loaded only here: log-file.ts brings the log rotation (pino-roll) the shim does not need.
  const { currentLogFile } = await import('../core/log-file.ts');
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

function tail(file: string, lines: number): string {
  try {
    return fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}
