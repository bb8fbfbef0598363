import fs from 'node:fs';

/**
 * Resident set size of process `pid` in MiB, from VmRSS in /proc/<pid>/status (Linux); undefined
 * when there is no such process or no /proc (the row then says so).
 */
export function rssMiB(pid: number | null | undefined): number | undefined {
  if (!pid) return undefined;
  try {
    const kb = /VmRSS:\s+(\d+)\s+kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kb ? Number(kb) / 1024 : undefined;
  } catch {
    return undefined;
  }
}
