import fs from 'node:fs';

/**
 * Resident memory of a process in MiB, from /proc/<pid>/status (Linux): `rss` is VmRSS, what the
 * targets are stated in; `anon` is RssAnon, the process's private memory (V8 heap, malloc);
 * `file` is RssFile, mapped files, mostly the pages of the Node.js executable this process has
 * touched, which every Node process on the machine shares. undefined when there is no such
 * process or no /proc (the row then says so).
 */
export function rssParts(
  pid: number | null | undefined,
): { rss: number; anon: number; file: number } | undefined {
  if (!pid) return undefined;
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (field: string) =>
      Number(new RegExp(`^${field}:\\s+(\\d+)\\s+kB`, 'm').exec(status)?.[1] ?? NaN);
    const rss = kb('VmRSS') / 1024;
    return Number.isNaN(rss) ? undefined : { rss, anon: kb('RssAnon') / 1024, file: kb('RssFile') / 1024 };
  } catch {
    return undefined;
  }
}

/** VmRSS of process `pid` in MiB (see {@link rssParts}); undefined without the process or /proc. */
export function rssMiB(pid: number | null | undefined): number | undefined {
  return rssParts(pid)?.rss;
}

/**
 * CPU time a process has used, user + system, in ms, from /proc/<pid>/stat (Linux; clock ticks
 * of 10 ms, so compare over thousands of calls); undefined without the process or /proc.
 */
export function cpuMs(pid: number | null | undefined): number | undefined {
  if (!pid) return undefined;
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces), from field 3 on: utime is 14, stime 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
  } catch {
    return undefined;
  }
}
