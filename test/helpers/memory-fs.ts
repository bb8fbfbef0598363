/**
 * An in-memory file system with a platform's naming rules, for the path rules of the platforms
 * these machines cannot run (Windows junctions and drive letters, macOS case-insensitive names).
 * On Linux the tests use the real file system instead.
 */
import { pathApi, pathKey, type PathFlavor } from '../../main/core/policy/path-rules.ts';
import type { FsView } from '../../main/core/policy/real-path.ts';

type Entry =
  | { name: string; kind: 'directory' }
  | { name: string; kind: 'other' }
  | { name: string; kind: 'link'; target: string };

export interface MemoryFs extends FsView {
  dir(p: string): MemoryFs;
  file(p: string): MemoryFs;
  link(p: string, target: string): MemoryFs;
  /** Makes lstat of `p` fail with this code (EACCES, EIO, …). */
  failAt(p: string, code: string): MemoryFs;
  /** How many lstat calls were made. */
  readonly lstats: number;
}

/** A file system whose names compare as `flavor` compares them; roots ("/", "C:\\") exist. */
export function memoryFs(flavor: PathFlavor): MemoryFs {
  const api = pathApi(flavor);
  const entries = new Map<string, Entry>();
  const failures = new Map<string, string>();
  let lstats = 0;
  const key = (p: string): string => pathKey(api.normalize(p).replace(/[\\/]+$/, ''), flavor);
  const isRoot = (p: string): boolean => api.parse(api.normalize(p)).root === api.normalize(p);
  const add = (p: string, entry: Omit<Entry, 'name'> & Partial<Entry>): void => {
    entries.set(key(p), { ...entry, name: api.basename(p) } as Entry);
  };
  const lookup = (p: string): Entry | undefined | 'notdir' => {
    if (isRoot(p)) return { name: '', kind: 'directory' };
    const parent = api.dirname(p);
    if (!isRoot(parent)) {
      const up = lookup(parent);
      if (up === undefined || up === 'notdir') return up;
      if (up.kind !== 'directory') return 'notdir';
    }
    return entries.get(key(p));
  };
  const fail = (code: string, p: string): never => {
    throw Object.assign(new Error(`${code}: ${p}`), { code });
  };
  const fs: MemoryFs = {
    dir(p) {
      add(p, { kind: 'directory' });
      return fs;
    },
    file(p) {
      add(p, { kind: 'other' });
      return fs;
    },
    link(p, target) {
      add(p, { kind: 'link', target });
      return fs;
    },
    failAt(p, code) {
      failures.set(key(p), code);
      return fs;
    },
    get lstats() {
      return lstats;
    },
    lstat(p) {
      lstats++;
      const failure = failures.get(key(p));
      if (failure) fail(failure, p);
      const entry = lookup(p);
      return entry === undefined || entry === 'notdir' ? undefined : entry.kind;
    },
    readlink(p) {
      const entry = lookup(p);
      if (entry === undefined || entry === 'notdir' || entry.kind !== 'link') return fail('EINVAL', p);
      return entry.target;
    },
    realpath(p) {
      // Called on paths without links: the stored spelling of each name (canonical case).
      const normalized = api.normalize(p);
      const { root } = api.parse(normalized);
      let out = flavor === 'win32' ? root.replace(/^[a-z]:/, (drive) => drive.toUpperCase()) : root;
      for (const name of normalized.slice(root.length).split(/[\\/]/).filter(Boolean)) {
        const next = api.join(out, name);
        const entry = lookup(next);
        if (entry === undefined || entry === 'notdir') fail('ENOENT', p);
        out = api.join(out, (entry as Entry).name);
      }
      return out;
    },
    readdir(p) {
      const k = key(p);
      return [...entries.entries()]
        .filter(([child]) => key(api.dirname(child)) === k && child !== k)
        .map(([, e]) => e.name);
    },
  };
  return fs;
}
