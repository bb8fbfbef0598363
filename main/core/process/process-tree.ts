import { execFile, spawnSync, type ChildProcess } from 'node:child_process';
import { WardenError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { groupMembers } from './process-table.ts';

/** How long a process tree gets at each step of ending (stdin closed, SIGTERM, SIGKILL), ms. */
export const TREE_GRACE_MS = 2000;

/** How often the end of a process group is checked while waiting for it, ms. */
const POLL_MS = 20;

const WINDOWS = process.platform === 'win32';

/**
 * spawn() options that make a child the leader of its own process tree: on POSIX `detached`,
 * i.e. setsid(2), so the child leads a new session and process group that every wrapper's
 * descendants (npx, `sh -c`, uvx …) join, and the group can be signalled as a whole. On Windows
 * `detached` would open a new console instead; there the tree is ended with `taskkill /T`.
 */
export function ownGroupSpawnOptions(): { detached: boolean } {
  return { detached: !WINDOWS };
}

/**
 * True while any process of the group `pgid` is left (zombies waiting to be reaped do not
 * count where the OS lets Warden tell; elsewhere the kill(-pgid, 0) probe decides).
 */
export function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
  } catch (error) {
    // EPERM: a member exists that Warden may not signal (it changed its user).
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  const members = groupMembers(pgid);
  return members === undefined || members.length > 0;
}

/**
 * Sends `signal` to every process of group `pgid` (kill(2) with -pgid).
 * @returns false when no process of the group was left.
 */
export function signalGroup(pgid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

/** Waits until `done()` holds or `ms` pass; resolves to whether it held. */
async function waitUntil(done: () => boolean, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!done()) {
    if (Date.now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
  return true;
}

/** Waits until no process of group `pgid` is left, at most `ms`; resolves to whether none is. */
export function waitGroupGone(pgid: number, ms: number): Promise<boolean> {
  return waitUntil(() => !groupAlive(pgid), ms);
}

/** Resolves to true when `promise` settles within `ms`, else to false (the timer is cleared). */
function within(promise: Promise<void>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise.then(() => true),
    new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms))),
  ]).finally(() => clearTimeout(timer));
}

/** Trees of this process that are not known to be over, for the exit hooks. */
const LIVE = new Set<ProcessTree>();
let hooksInstalled = false;

function installExitHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  const killAll = (): void => {
    for (const tree of LIVE) tree.killNow();
  };
  // Exits through process.exit() or an empty event loop: no time for grace, but nothing stays.
  process.on('exit', killAll);
  // A crash: the monitor runs before Node prints the error and exits (also for an unhandled
  // rejection), unless a handler keeps the process alive, in which case the trees stay.
  process.on('uncaughtExceptionMonitor', () => {
    if (process.listenerCount('uncaughtException') === 0) killAll();
  });
}

/**
 * The process tree of one spawned child (spawned with ownGroupSpawnOptions): the child and
 * everything it started. `end()` ends all of it, the way MCP's stdio transport asks a client
 * to stop a server (basic/lifecycle, shutdown): close its stdin, wait, SIGTERM, wait, SIGKILL;
 * on POSIX the signals go to the whole process group, so a wrapper's children (npx's `sh -c`,
 * the server under it) end too, and a group whose leader is gone is still ended.
 *
 * Until it is over, the tree is also killed (SIGKILL) when this process exits or crashes.
 * Windows: `taskkill /T /F` ends the tree while its leader runs; descendants of a leader that
 * already exited cannot be found there (no job object in Node).
 */
export class ProcessTree {
  /** The leader's pid, which is the process group id on POSIX. */
  readonly pid: number;
  /** Resolves once every process of the tree is gone (or Warden gave up, which it logs). */
  readonly ended: Promise<void>;
  readonly #child: ChildProcess;
  readonly #log: Logger;
  readonly #leaderExited: Promise<void>;
  #resolveEnded!: () => void;
  #ending: Promise<void> | undefined;

  /** @throws WardenError UPSTREAM_UNAVAILABLE when the child has no pid (it was not spawned). */
  constructor(child: ChildProcess, logger: Logger) {
    if (child.pid === undefined) throw new WardenError('UPSTREAM_UNAVAILABLE', 'the process was not started');
    this.pid = child.pid;
    this.#child = child;
    this.#log = logger;
    this.#leaderExited = new Promise<void>((resolve) => {
      if (!this.leaderRunning) resolve();
      else child.once('exit', () => resolve());
    });
    this.ended = new Promise<void>((resolve) => (this.#resolveEnded = resolve));
    installExitHooks();
    LIVE.add(this);
  }

  /** True until the leader process has exited. */
  get leaderRunning(): boolean {
    return this.#child.exitCode === null && this.#child.signalCode === null;
  }

  /** True while any process of the tree is left (Windows: while the leader runs). */
  alive(): boolean {
    return WINDOWS ? this.leaderRunning : groupAlive(this.pid);
  }

  /**
   * Ends the whole tree: stdin closed (when `closeStdin`), then after `graceMs` SIGTERM, then
   * SIGKILL, each given `graceMs` to work; resolves when nothing of it is left. Calling it again
   * returns the same promise. A tree whose leader already exited is signalled at once.
   */
  end(options: { closeStdin?: boolean; graceMs?: number } = {}): Promise<void> {
    this.#ending ??= this.#end(options.closeStdin ?? true, options.graceMs ?? TREE_GRACE_MS).finally(() => {
      LIVE.delete(this);
      this.#resolveEnded();
    });
    return this.#ending;
  }

  /** Kills every process of the tree at once (SIGKILL), synchronously; for exits and crashes. */
  killNow(): void {
    if (WINDOWS) {
      if (this.leaderRunning)
        spawnSync('taskkill', ['/PID', String(this.pid), '/T', '/F'], { windowsHide: true });
      return;
    }
    signalGroup(this.pid, 'SIGKILL');
  }

  async #end(closeStdin: boolean, graceMs: number): Promise<void> {
    const exited = (): Promise<boolean> => within(this.#leaderExited, graceMs);
    if (closeStdin && this.leaderRunning) {
      this.#child.stdin?.end();
      await exited();
    }
    if (WINDOWS) return this.#endWindows(exited);
    for (const signal of ['SIGTERM', 'SIGKILL'] as const) {
      if (!groupAlive(this.pid)) return;
      this.#log.debug({ pgid: this.pid, signal }, 'ending the upstream process group');
      if (!signalGroup(this.pid, signal)) return;
      if (await waitGroupGone(this.pid, graceMs)) return;
    }
    this.#log.error(
      { pgid: this.pid, pids: groupMembers(this.pid)?.map((entry) => entry.pid) },
      'upstream processes survived SIGKILL',
    );
  }

  async #endWindows(exited: () => Promise<boolean>): Promise<void> {
    if (!this.leaderRunning) return;
    await new Promise<void>((resolve) =>
      execFile('taskkill', ['/PID', String(this.pid), '/T', '/F'], { windowsHide: true }, () => resolve()),
    );
    if (await exited()) return;
    this.#child.kill('SIGKILL');
    await exited();
  }
}
