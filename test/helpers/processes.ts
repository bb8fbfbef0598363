/**
 * Finding the processes a test started through Warden, however they were launched (npx, sh -c,
 * their children): each test gives its servers a unique environment variable, which every
 * descendant inherits, and this reads it back from /proc (Linux).
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import { parseProcStat } from '../../main/core/process/process-table.ts';

/** The variable that marks a test's upstream processes. */
export const MARK_VAR = 'WARDEN_TEST_PROCESS_MARK';

/** A fresh mark, to put in a server's `env` as { [MARK_VAR]: mark }. */
export function newMark(): string {
  return randomUUID();
}

export interface MarkedProcess {
  pid: number;
  pgid: number;
  ppid: number;
  args: string;
}

/** Every live (not zombie) process whose environment carries `mark`. */
export function markedProcesses(mark: string): MarkedProcess[] {
  const needle = `${MARK_VAR}=${mark}`;
  const found: MarkedProcess[] = [];
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const environ = fs.readFileSync(`/proc/${name}/environ`, 'latin1').split('\0');
      if (!environ.includes(needle)) continue;
      const stat = parseProcStat(fs.readFileSync(`/proc/${name}/stat`, 'utf8'));
      if (!stat || stat.state === 'Z') continue;
      const args = fs.readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0').join(' ').trim();
      found.push({ pid: stat.pid, pgid: stat.pgid, ppid: stat.ppid, args });
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return found;
}

/** `ps -eo pid,pgid,ppid,args`-style lines, for assertion messages. */
export function describeProcesses(list: MarkedProcess[]): string {
  return list.map((p) => `${p.pid} ${p.pgid} ${p.ppid} ${p.args}`).join('\n') || '(none)';
}

/** The distinct process groups of `list`. */
export function groupsOf(list: MarkedProcess[]): Set<number> {
  return new Set(list.map((p) => p.pgid));
}

/** Sends SIGKILL to every process carrying `mark` (test cleanup; never throws). */
export function killMarked(mark: string): void {
  for (const p of markedProcesses(mark)) {
    try {
      process.kill(p.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}
