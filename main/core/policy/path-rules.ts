import path from 'node:path';

/**
 * How each OS reads a path, as pure functions (no file system), so the rules of every platform
 * can be tested on any of them: Linux and other Unixes (`posix`), macOS (`darwin`: POSIX paths,
 * case- and Unicode-normalization-insensitive names) and Windows (`win32`: drive letters, UNC
 * shares, `\\?\` and `\\.\` prefixes, both separators, case-insensitive names, `..` removed by
 * the Win32 layer before the file system sees the path).
 *
 * Nothing here decides a doubtful case in anyone's favour: what an OS might read in more than one
 * way is reported as not parseable, and the caller fails closed.
 */
export type PathFlavor = 'posix' | 'darwin' | 'win32';

/** The flavor of a Node platform name (`process.platform` by default). */
export function pathFlavor(platform: NodeJS.Platform = process.platform): PathFlavor {
  return platform === 'win32' ? 'win32' : platform === 'darwin' ? 'darwin' : 'posix';
}

/** node:path of a flavor: path.win32 for Windows, path.posix otherwise. */
export function pathApi(flavor: PathFlavor): path.PlatformPath {
  return flavor === 'win32' ? path.win32 : path.posix;
}

/** Whether names that differ only in case (and, on macOS, Unicode normalization) are one name. */
export function caseInsensitive(flavor: PathFlavor): boolean {
  return flavor !== 'posix';
}

/**
 * An absolute path in parts: its root (`/`, `C:\`, `\\server\share\`) and its segments as
 * written, which may still hold `.` and `..`.
 */
export interface PathParts {
  root: string;
  segments: string[];
}

/** A parsed path, or why the OS could read it in another way than it looks (a doubt). */
export type ParsedPath = { ok: true; parts: PathParts } | { ok: false; reason: string };

const DRIVE_ROOT = /^[A-Za-z]:\\/;
const UNC_ROOT = /^\\\\([^\\]+)\\([^\\]+)(?:\\|$)/;

/**
 * Parses a path argument as an absolute path of this flavor.
 *
 * POSIX: must start with `/` (a relative path, and `~`, which servers expand to a home directory,
 * have no base Warden knows). Windows: `C:\…`, `\\server\share\…`, either separator; `\\.\` and
 * `//?/` prefixes are removed (Win32 still normalizes those paths); a `\\?\` path is taken
 * literally, so one holding `/`, `.` or `..` is a doubt. Drive-relative (`C:x`), current-drive
 * (`\x`) and device paths (`\\.\pipe\…`) are doubts, as are segments ending in a dot or space
 * (Win32 drops them) and a `:` after the drive (alternate data streams).
 * A NUL byte is a doubt everywhere.
 */
export function parseAbsolute(raw: string, flavor: PathFlavor): ParsedPath {
  if (raw.includes('\0')) return doubt('it contains a NUL byte');
  if (flavor !== 'win32') {
    if (!raw.startsWith('/'))
      return doubt(`"${raw}" is not an absolute path (a relative path or "~" has no base Warden knows)`);
    return { ok: true, parts: { root: '/', segments: raw.split('/').filter((s) => s !== '') } };
  }
  let p = raw;
  let verbatim = false;
  let prefixed = false;
  if (p.startsWith('\\\\?\\')) {
    verbatim = prefixed = true;
    p = p.slice(4);
    if (p.includes('/')) return doubt(`"${raw}" is a \\\\?\\ path, which takes "/" as part of a name`);
  } else {
    p = p.replace(/\//g, '\\');
    if (p.startsWith('\\\\.\\') || p.startsWith('\\\\?\\')) {
      prefixed = true;
      p = p.slice(4);
    }
  }
  // After a \\?\ or \\.\ prefix comes a drive or UNC\server\share; anything else is a device.
  if (prefixed) {
    if (/^UNC\\/i.test(p)) p = `\\\\${p.slice(4)}`;
    else if (!DRIVE_ROOT.test(p)) return doubt(`"${raw}" names a device, not a file`);
  }
  let root: string;
  let rest: string;
  const unc = UNC_ROOT.exec(p);
  if (DRIVE_ROOT.test(p)) {
    root = p.slice(0, 3);
    rest = p.slice(3);
  } else if (unc) {
    const [, server, share] = unc;
    if (isDots(server!) || isDots(share!)) return doubt(`"${raw}" has no server and share`);
    root = `\\\\${server}\\${share}\\`;
    rest = p.slice(unc[0].length);
  } else if (/^[A-Za-z]:/.test(p)) {
    return doubt(`"${raw}" is relative to the current directory of drive ${p.slice(0, 2)}`);
  } else if (p.startsWith('\\\\')) {
    return doubt(`"${raw}" is a UNC path with no share`);
  } else if (p.startsWith('\\')) {
    return doubt(`"${raw}" is relative to the current drive`);
  } else {
    return doubt(`"${raw}" is not an absolute path (a relative path has no base Warden knows)`);
  }
  const segments = rest.split('\\');
  if (verbatim && segments.some((s, i) => isDots(s) || (s === '' && i < segments.length - 1)))
    return doubt(`"${raw}" is a \\\\?\\ path, which Windows does not normalize`);
  const named = segments.filter((s) => s !== '');
  for (const segment of named) {
    if (isDots(segment)) continue;
    if (segment.includes(':'))
      return doubt(`"${raw}" has a ":" after the drive (an alternate data stream or device)`);
    if (/[. ]$/.test(segment))
      return doubt(`"${raw}" has a name ending in a dot or space, which Windows drops`);
  }
  return { ok: true, parts: { root, segments: named } };
}

function isDots(segment: string): boolean {
  return segment === '.' || segment === '..';
}

function doubt(reason: string): { ok: false; reason: string } {
  return { ok: false, reason };
}

/** Removes `.` and resolves `..` by name (never above the root), as Win32 and `path.resolve` do. */
export function normalizeParts(parts: PathParts): PathParts {
  return { root: parts.root, segments: normalizeSegments(parts.segments, false) };
}

/**
 * `.` removed, `..` taken back by name. With `keepLeading`, `..` that climb above the start are
 * kept (a relative remainder); without, they stop at the root.
 */
export function normalizeSegments(segments: readonly string[], keepLeading: boolean): string[] {
  const out: string[] = [];
  for (const segment of segments) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') {
      if (out.length && out[out.length - 1] !== '..') out.pop();
      else if (keepLeading) out.push('..');
    } else out.push(segment);
  }
  return out;
}

/** The path of its parts, with the flavor's separator. */
export function joinParts(parts: PathParts, flavor: PathFlavor): string {
  const sep = flavor === 'win32' ? '\\' : '/';
  return parts.root + parts.segments.join(sep);
}

/**
 * Folds case close to how the file systems of macOS (APFS, HFS+) and Windows (NTFS) compare
 * names: one code point to one code point (so "ß" stays "ß", unlike String#toUpperCase).
 */
export function foldCase(text: string): string {
  let out = '';
  for (const ch of text) {
    const upper = ch.toUpperCase();
    out += [...upper].length === 1 ? upper : ch;
  }
  return out;
}

/** The form two paths of this flavor are compared in: equal keys name the same path. */
export function pathKey(p: string, flavor: PathFlavor): string {
  if (flavor === 'posix') return p;
  if (flavor === 'darwin') return foldCase(p.normalize('NFD'));
  return foldCase(p);
}

/**
 * The segments of `p` below `dir` ([] when they are the same path), or undefined when `p` is not
 * `dir` nor inside it. Both are absolute, normalized paths of this flavor; names compare by
 * {@link pathKey}, whole segments only (`/a/bc` is not inside `/a/b`).
 */
export function segmentsBelow(dir: string, p: string, flavor: PathFlavor): string[] | undefined {
  const d = parseAbsolute(dir, flavor);
  const s = parseAbsolute(p, flavor);
  if (!d.ok || !s.ok || pathKey(d.parts.root, flavor) !== pathKey(s.parts.root, flavor)) return undefined;
  const inner = d.parts.segments;
  const outer = s.parts.segments;
  if (outer.length < inner.length) return undefined;
  for (let i = 0; i < inner.length; i++)
    if (pathKey(inner[i]!, flavor) !== pathKey(outer[i]!, flavor)) return undefined;
  return outer.slice(inner.length);
}

/** Whether `p` is `dir` or inside it (see {@link segmentsBelow}). */
export function isWithin(dir: string, p: string, flavor: PathFlavor): boolean {
  return segmentsBelow(dir, p, flavor) !== undefined;
}

/** A path in the form globs match: "/" separators (Windows), NFD (macOS). */
export function globSubject(p: string, flavor: PathFlavor): string {
  if (flavor === 'win32') return p.replace(/\\/g, '/');
  if (flavor === 'darwin') return p.normalize('NFD');
  return p;
}

/** Escapes every character picomatch reads as glob syntax, so the glob matches `text` only. */
export function escapeGlob(text: string): string {
  return text.replace(/[\\*?[\]{}()!+@|^$]/g, '\\$&');
}

/**
 * Whether a condition's glob is about paths: absolute (`/…`, `C:/…`, `//server/share/…`) or
 * anchored anywhere (`**\/…`). Values of path conditions are resolved as the OS resolves them.
 */
export function isPathGlob(glob: string): boolean {
  return glob.startsWith('/') || /^[A-Za-z]:\//.test(glob) || glob.startsWith('**/');
}

/**
 * A path glob split into the directory it names literally (unescaped, "/" separators; "" for
 * `**\/…`) and the pattern below it ("" when the glob is one exact path): the leading segments
 * without unescaped glob syntax (`* ? [ { (`) form the directory.
 * e.g. `/home/me/a \(1\)/**` → { base: "/home/me/a (1)", rest: "**" }.
 */
export function splitPathGlob(glob: string): { base: string; rest: string } {
  const segments = splitUnescaped(glob);
  const literal: string[] = [];
  for (const segment of segments) {
    if (hasGlobSyntax(segment)) break;
    literal.push(segment.replace(/\\(.)/g, '$1'));
  }
  const rest = segments.slice(literal.length).join('/');
  const base = literal.length === 1 && literal[0] === '' ? '/' : literal.join('/');
  return { base, rest };
}

/** The segments of a glob between unescaped "/" (escapes kept). */
function splitUnescaped(glob: string): string[] {
  const segments: string[] = [];
  let current = '';
  for (let i = 0; i < glob.length; i++) {
    const ch = glob[i]!;
    if (ch === '\\') {
      current += ch + (glob[i + 1] ?? '');
      i++;
    } else if (ch === '/') {
      segments.push(current);
      current = '';
    } else current += ch;
  }
  segments.push(current);
  return segments;
}

function hasGlobSyntax(segment: string): boolean {
  for (let i = 0; i < segment.length; i++) {
    const ch = segment[i]!;
    if (ch === '\\') i++;
    else if ('*?[{('.includes(ch)) return true;
  }
  return false;
}

/** A base from {@link splitPathGlob} as a path of this flavor (`C:` becomes `C:\`). */
export function globBaseAsPath(base: string, flavor: PathFlavor): string {
  if (flavor !== 'win32') return base;
  const p = base.replace(/\//g, '\\');
  return /^[A-Za-z]:$/.test(p) ? `${p}\\` : p;
}

/**
 * The glob for `rest` below the directory `dir` (an absolute path of this flavor), with `dir`
 * escaped: `globOver("/a (1)", "**")` is `/a \(1\)/**`. An empty `rest` matches `dir` itself.
 */
export function globOver(dir: string, rest: string, flavor: PathFlavor): string {
  const subject = escapeGlob(flavor === 'win32' ? dir.replace(/\\/g, '/') : dir);
  if (rest === '') return subject;
  return `${subject}${subject.endsWith('/') ? '' : '/'}${rest}`;
}

/**
 * The glob `--under DIR` and the dashboard's "Always allow … under" store: `DIR` and everything
 * below it. `dir` is an absolute path of this flavor.
 */
export function underDirectoryGlob(dir: string, flavor: PathFlavor = pathFlavor()): string {
  return globOver(dir, '**', flavor);
}
