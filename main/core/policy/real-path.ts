import fs from 'node:fs';
import {
  joinParts,
  normalizeParts,
  parseAbsolute,
  pathApi,
  pathFlavor,
  pathKey,
  type PathFlavor,
  type PathParts,
} from './path-rules.ts';

/** What the resolver asks of the file system (node:fs by default; tests may give another). */
export interface FsView {
  /**
   * What is at `p` without following a final link, or undefined when nothing is (ENOENT, or
   * ENOTDIR: a file stands where a directory would be).
   * @throws the file system's error otherwise (EACCES, ELOOP, EIO, …).
   */
  lstat(p: string): 'link' | 'directory' | 'other' | undefined;
  /** The target of the link at `p`, as stored. */
  readlink(p: string): string;
  /** The canonical path of the existing `p` (realpath(3); on Windows also long names and case). */
  realpath(p: string): string;
  /** The names in the directory `p`. */
  readdir(p: string): string[];
}

/** node:fs, synchronously: a few lstat calls per path argument, no reads of file contents. */
export const nodeFsView: FsView = {
  lstat(p) {
    let stats: fs.Stats | undefined;
    try {
      stats = fs.lstatSync(p, { throwIfNoEntry: false });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOTDIR') return undefined;
      throw error;
    }
    if (!stats) return undefined;
    return stats.isSymbolicLink() ? 'link' : stats.isDirectory() ? 'directory' : 'other';
  },
  readlink: (p) => fs.readlinkSync(p),
  realpath: (p) => fs.realpathSync.native(p),
  readdir: (p) => fs.readdirSync(p),
};

/**
 * Where a path argument can land: every real path the OS (or a server that normalizes `..` by
 * name first, as `path.resolve` does) may take it to, and its lexically normalized form; or why
 * it cannot be known.
 */
export type PathResolution = { ok: true; lexical: string; targets: string[] } | { ok: false; reason: string };

/** Links followed in one resolution before it counts as a loop (Linux's MAXSYMLINKS). */
export const MAX_LINK_HOPS = 40;

type Walked = { ok: true; path: string } | { ok: false; reason: string };

/**
 * Resolves path arguments as the OS does: symbolic links (and Windows junctions) are followed,
 * dangling ones too (a write through one creates its target), `..` is applied where the OS
 * applies it, and what does not exist yet is appended to the real path of its deepest existing
 * ancestor, then normalized.
 *
 * On POSIX the kernel applies `..` after following a link (`/safe/link/..` is the link target's
 * parent) while servers that normalize first (`path.resolve`) take it by name: both readings
 * are returned and a caller must consider each. Windows removes `..` by name before the file
 * system sees the path: one reading.
 *
 * Not resolvable (a doubt the caller must fail closed on): not a string, not absolute (relative
 * paths and `~` have no base Warden knows), a permission error, a link loop, a name the OS reads
 * differently than it looks (see parseAbsolute), and a name that does not exist but differs only
 * in Unicode normalization from one that does (servers and macOS may open either).
 */
export class PathResolver {
  readonly flavor: PathFlavor;
  readonly #fs: FsView;

  constructor(options: { platform?: NodeJS.Platform; fs?: FsView } = {}) {
    this.flavor = pathFlavor(options.platform);
    this.#fs = options.fs ?? nodeFsView;
  }

  /** The real targets of a path argument (see the class doc). Reads the file system. */
  resolve(value: unknown): PathResolution {
    if (typeof value !== 'string') return { ok: false, reason: `a ${kindOf(value)} is not a path` };
    const parsed = parseAbsolute(value, this.flavor);
    if (!parsed.ok) return parsed;
    const lexicalParts = normalizeParts(parsed.parts);
    const readings =
      this.flavor === 'win32' || !parsed.parts.segments.some((s) => s === '.' || s === '..')
        ? [lexicalParts]
        : [parsed.parts, lexicalParts];
    const targets: string[] = [];
    for (const reading of readings) {
      const walked = this.#walk(reading);
      if (!walked.ok) return { ok: false, reason: `${value}: ${walked.reason}` };
      const key = pathKey(walked.path, this.flavor);
      if (!targets.some((t) => pathKey(t, this.flavor) === key)) targets.push(walked.path);
    }
    return { ok: true, lexical: joinParts(lexicalParts, this.flavor), targets };
  }

  /** One reading, segment by segment, as the OS looks each one up. */
  #walk(start: PathParts): Walked {
    const api = pathApi(this.flavor);
    let real = start.root;
    // Directories under `real` that do not exist yet, on the way (see below).
    const missing: string[] = [];
    const queue = [...start.segments];
    let hops = 0;
    while (queue.length > 0) {
      const segment = queue.shift()!;
      if (segment === '' || segment === '.') continue;
      if (segment === '..') {
        if (missing.length > 0) missing.pop();
        else real = api.dirname(real);
        continue;
      }
      if (missing.length > 0) {
        // Inside a directory that does not exist, nothing does.
        if (!queue.includes('..')) return this.#canonical(real, [...missing, segment, ...queue]);
        missing.push(segment);
        continue;
      }
      const next = api.join(real, segment);
      let kind: ReturnType<FsView['lstat']>;
      try {
        kind = this.#fs.lstat(next);
      } catch (error) {
        return { ok: false, reason: `cannot look at ${next} (${errorCode(error)})` };
      }
      if (kind === undefined) {
        const twin = this.#unicodeTwin(real, segment);
        if (twin) return { ok: false, reason: twin };
        if (!queue.includes('..')) return this.#canonical(real, [segment, ...queue]);
        // A `..` comes later. A server that makes the missing directories first (mkdir -p) gets
        // a real directory here, whose `..` is `real` again, and the kernel goes on from there,
        // following the links it meets; without them the OS refuses the path (ENOENT). Reading
        // the rest by name instead skipped those links (a loop or a link out after the `..`);
        // the reading by name of the whole path is the other reading, walked apart.
        missing.push(segment);
        continue;
      }
      if (kind === 'link') {
        if (++hops > MAX_LINK_HOPS)
          return { ok: false, reason: `more than ${MAX_LINK_HOPS} symbolic links (a loop)` };
        let target: string;
        try {
          target = this.#fs.readlink(next);
        } catch (error) {
          return { ok: false, reason: `cannot read the link ${next} (${errorCode(error)})` };
        }
        const linked = this.#linkTarget(target, real);
        if (!linked.ok) return { ok: false, reason: `the link ${next}: ${linked.reason}` };
        if (this.flavor === 'win32') {
          // Windows substitutes the target and normalizes the whole path again.
          const again = normalizeParts({ ...linked.parts, segments: [...linked.parts.segments, ...queue] });
          real = again.root;
          queue.splice(0, queue.length, ...again.segments);
        } else {
          real = linked.parts.root === '' ? real : linked.parts.root;
          queue.unshift(...linked.parts.segments);
        }
        continue;
      }
      real = next;
    }
    return this.#canonical(real, missing);
  }

  /**
   * A link's target as parts: absolute, or on POSIX (root "") relative to the link's directory;
   * on Windows always absolute (a relative target joined to the link's directory).
   */
  #linkTarget(
    target: string,
    linkDir: string,
  ): { ok: true; parts: PathParts } | { ok: false; reason: string } {
    if (this.flavor !== 'win32') {
      if (target.startsWith('/')) return parseAbsolute(target, this.flavor);
      return { ok: true, parts: { root: '', segments: target.split('/') } };
    }
    const t = target.startsWith('\\??\\') ? `\\\\?\\${target.slice(4)}` : target;
    if (/^[A-Za-z]:[\\/]/.test(t) || /^[\\/]{2}/.test(t)) return parseAbsolute(t, this.flavor);
    if (/^[A-Za-z]:/.test(t)) return { ok: false, reason: `its target "${target}" is drive-relative` };
    const dir = parseAbsolute(linkDir, this.flavor);
    if (!dir.ok) return dir;
    const segments = t.split(/[\\/]/);
    // "\x" is relative to the link's drive; "x" and "..\x" to the link's directory.
    if (/^[\\/]/.test(t)) return { ok: true, parts: { root: dir.parts.root, segments } };
    return { ok: true, parts: { root: dir.parts.root, segments: [...dir.parts.segments, ...segments] } };
  }

  /**
   * Why a missing `name` in `dir` is in doubt: an existing entry differs from it only in Unicode
   * normalization (server-filesystem opens that entry instead; macOS treats them as one name).
   */
  #unicodeTwin(dir: string, name: string): string | undefined {
    if (!/[^\p{ASCII}]/u.test(name)) return undefined;
    let entries: string[];
    try {
      entries = this.#fs.readdir(dir);
    } catch (error) {
      return `cannot list ${dir} (${errorCode(error)})`;
    }
    const nfc = name.normalize('NFC');
    const twins = entries.filter((e) => e !== name && e.normalize('NFC') === nfc);
    return twins.length
      ? `"${name}" does not exist, but "${twins[0]}" differs from it only in Unicode normalization`
      : undefined;
  }

  /**
   * The canonical path of the existing `real`, with what does not exist appended. On Linux the
   * walk's path is already canonical (every segment was looked up, no link left); macOS and
   * Windows spell names as stored (case, Unicode form, Windows short names) only by realpath.
   */
  #canonical(real: string, rest: string[]): Walked {
    let canonical: string;
    try {
      canonical = this.flavor === 'posix' ? real : this.#fs.realpath(real);
    } catch (error) {
      return { ok: false, reason: `cannot resolve ${real} (${errorCode(error)})` };
    }
    const parsed = parseAbsolute(canonical, this.flavor);
    if (!parsed.ok) return { ok: false, reason: `its real path ${canonical}: ${parsed.reason}` };
    const parts = normalizeParts({ root: parsed.parts.root, segments: [...parsed.parts.segments, ...rest] });
    return { ok: true, path: joinParts(parts, this.flavor) };
  }
}

function errorCode(error: unknown): string {
  return (error as NodeJS.ErrnoException | undefined)?.code ?? String(error);
}

function kindOf(value: unknown): string {
  return value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value;
}
