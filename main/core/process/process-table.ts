import { execFileSync } from 'node:child_process';
import fs from 'node:fs';

/** The fields of one process Warden needs to manage process groups (see proc(5)). */
export interface ProcessEntry {
  pid: number;
  /** One-letter state: R, S, D, Z (zombie), T, ... (Linux /proc; the first letter of ps STAT). */
  state: string;
  ppid: number;
  /** Process group id. */
  pgid: number;
}

/** A line of /proc/<pid>/stat: the process entry and its start time in clock ticks since boot. */
export interface ProcStat extends ProcessEntry {
  sid: number;
  startTicks: number;
}

/**
 * Parses the text of /proc/<pid>/stat (proc(5)). Field 2, the command name, is in parentheses
 * and may contain anything, spaces and ")" included, so the fields are read after the last ")".
 * @returns undefined for text that is not a stat line.
 */
export function parseProcStat(text: string): ProcStat | undefined {
  const open = text.indexOf(' (');
  const close = text.lastIndexOf(')');
  if (open <= 0 || close < open) return undefined;
  const pid = Number(text.slice(0, open));
  // After ") ": state(3) ppid(4) pgrp(5) session(6) ... starttime(22).
  const fields = text
    .slice(close + 1)
    .trim()
    .split(/\s+/);
  const state = fields[0];
  const numbers = [fields[1], fields[2], fields[3], fields[19]].map((field) =>
    field !== undefined && /^-?\d+$/.test(field) ? Number(field) : NaN,
  );
  const [ppid, pgid, sid, startTicks] = numbers as [number, number, number, number];
  if (!Number.isInteger(pid) || pid <= 0 || !state || !/^[A-Za-z]$/.test(state)) return undefined;
  if (numbers.some((n) => !Number.isSafeInteger(n))) return undefined;
  return { pid, state, ppid, pgid, sid, startTicks };
}

const LINUX = process.platform === 'linux';

function readProcStat(pid: number): ProcStat | undefined {
  try {
    return parseProcStat(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return undefined;
  }
}

let bootId: string | undefined;
function linuxBootId(): string {
  bootId ??= (() => {
    try {
      return fs.readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    } catch {
      return 'unknown-boot';
    }
  })();
  return bootId;
}

/**
 * Every process of this user's machine that the OS lets Warden see: Linux reads /proc; other
 * POSIX systems ask `ps -A -o pid=,ppid=,pgid=,stat=`.
 * @returns undefined where the OS cannot tell (Windows, or ps failing).
 */
export function listProcesses(): ProcessEntry[] | undefined {
  if (process.platform === 'win32') return undefined;
  if (LINUX) {
    const entries: ProcessEntry[] = [];
    for (const name of fs.readdirSync('/proc')) {
      if (!/^\d+$/.test(name)) continue;
      const stat = readProcStat(Number(name));
      if (stat) entries.push(stat);
    }
    return entries;
  }
  try {
    const out = execFileSync('ps', ['-A', '-o', 'pid=,ppid=,pgid=,stat='], { encoding: 'utf8' });
    return out
      .split('\n')
      .map((line) => line.trim().split(/\s+/))
      .filter((parts) => parts.length >= 4)
      .map(([pid, ppid, pgid, stat]) => ({
        pid: Number(pid),
        ppid: Number(ppid),
        pgid: Number(pgid),
        state: stat!.charAt(0),
      }))
      .filter((entry) => Number.isInteger(entry.pid) && Number.isInteger(entry.pgid));
  } catch {
    return undefined;
  }
}

/**
 * The processes of group `pgid` that still run (zombies, which only wait to be reaped, are left
 * out).
 * @returns undefined where the OS cannot tell (see listProcesses).
 */
export function groupMembers(pgid: number): ProcessEntry[] | undefined {
  return listProcesses()?.filter((entry) => entry.pgid === pgid && entry.state !== 'Z');
}

/**
 * A token naming one incarnation of a process, so a pid the OS reused for another process is
 * not mistaken for it: on Linux the boot id and the start time in clock ticks since boot
 * (/proc/<pid>/stat field 22); on other POSIX systems the start time `ps -o lstart=` reports.
 * @returns undefined when the process does not exist (or a zombie) or the OS cannot tell (Windows).
 */
export function processIdentity(pid: number): string | undefined {
  if (process.platform === 'win32') return undefined;
  if (LINUX) {
    const stat = readProcStat(pid);
    return stat && stat.state !== 'Z' ? `linux:${linuxBootId()}:${stat.startTicks}` : undefined;
  }
  try {
    const started = execFileSync('ps', ['-o', 'lstart=', '-p', String(pid)], { encoding: 'utf8' }).trim();
    return started ? `ps:${started}` : undefined;
  } catch {
    return undefined;
  }
}
