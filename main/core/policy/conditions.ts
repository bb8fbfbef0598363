import picomatch from 'picomatch';
import { WardenError } from '../errors.ts';
import {
  caseInsensitive,
  globBaseAsPath,
  globOver,
  globSubject,
  segmentsBelow,
  isPathGlob,
  parseAbsolute,
  joinParts,
  normalizeParts,
  pathKey,
  splitPathGlob,
  type PathFlavor,
} from './path-rules.ts';
import { PathResolver, type PathResolution } from './real-path.ts';
import type { ArgumentCondition } from '../config/policy-schema.ts';

/**
 * Resolves a JSON pointer (RFC 6901) in a value.
 * @returns the value it points at, or undefined when any step is missing.
 */
export function resolvePointer(value: unknown, pointer: string): unknown {
  if (pointer === '') return value;
  let current: unknown = value;
  for (const raw of pointer.slice(1).split('/')) {
    const token = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (Array.isArray(current) && /^\d+$/.test(token)) current = current[Number(token)];
    else if (current && typeof current === 'object' && Object.hasOwn(current, token))
      current = (current as Record<string, unknown>)[token];
    else return undefined;
  }
  return current;
}

/**
 * Which way a condition fails when a path argument cannot be resolved, by the kind of rule it
 * belongs to:
 * - `allow` (allow rules): holds only when every real target the path may have matches;
 * - `grant` (remembered approvals): as `allow`, and the directory the grant names must still be
 *   its own real path (it was resolved when it was stored; a link put there since voids it);
 * - `restrict` (deny and ask rules): holds when the path as written, or any real target, matches,
 *   and whenever the path cannot be resolved (in doubt, deny or ask).
 */
export type ConditionMode = 'allow' | 'grant' | 'restrict';

/** The resolver for the OS Warden runs on, with node:fs. */
export const hostPathResolver = new PathResolver();

/**
 * Path resolutions for one `tools/call`: each path argument and each glob directory is resolved
 * at most once, and only when a path condition is evaluated.
 */
export class CallPaths {
  readonly resolver: PathResolver;
  readonly #values = new Map<string, PathResolution>();

  constructor(resolver: PathResolver = hostPathResolver) {
    this.resolver = resolver;
  }

  get flavor(): PathFlavor {
    return this.resolver.flavor;
  }

  /** The resolution of a path argument or directory (memoized for strings). */
  resolve(value: unknown): PathResolution {
    if (typeof value !== 'string') return this.resolver.resolve(value);
    let resolution = this.#values.get(value);
    if (!resolution) {
      resolution = this.resolver.resolve(value);
      this.#values.set(value, resolution);
    }
    return resolution;
  }
}

const MATCHER_CACHE_LIMIT = 2000;
const matchers = new Map<string, (s: string) => boolean>();

function matcher(glob: string, nocase: boolean): (s: string) => boolean {
  const key = `${nocase ? 'i' : 's'}${glob}`;
  let match = matchers.get(key);
  if (!match) {
    if (matchers.size >= MATCHER_CACHE_LIMIT) matchers.clear();
    match = picomatch(glob, { dot: true, nocase, windows: false });
    matchers.set(key, match);
  }
  return match;
}

/**
 * True when the argument the condition points at matches its glob or regex. A missing argument
 * never matches.
 *
 * A path glob (see isPathGlob: `/…`, `C:/…`, `//server/share/…`, `**\/…`) is matched against the
 * argument as the OS resolves it (PathResolver): symbolic links followed, `..` applied, and the
 * glob's own directory resolved the same way, so `/safe/link/x` with `link -> /other` is not
 * under `/safe/**`, and `/safe/../etc/passwd` is not either. Names compare case-insensitively
 * on macOS and Windows. What cannot be resolved fails by `mode` (see ConditionMode): an allow
 * asks, a deny still denies.
 *
 * Other globs and regexes match the argument's text (a string or number); a text with a NUL
 * byte is a doubt there too (it holds only for `restrict`).
 */
export function conditionHolds(
  args: unknown,
  condition: ArgumentCondition,
  mode: ConditionMode = 'allow',
  paths: CallPaths = new CallPaths(),
): boolean {
  const value = resolvePointer(args, condition.pointer);
  if (value === undefined) return false;
  if (condition.glob !== undefined && isPathGlob(condition.glob))
    return pathGlobHolds(value, condition.glob, mode, paths);
  if (typeof value !== 'string' && typeof value !== 'number') return false;
  const text = String(value);
  if (text.includes('\0')) return mode === 'restrict';
  if (condition.glob !== undefined) return matcher(condition.glob, false)(text);
  return new RegExp(condition.regex!).test(text);
}

function pathGlobHolds(value: unknown, glob: string, mode: ConditionMode, paths: CallPaths): boolean {
  const flavor = paths.flavor;
  const resolved = paths.resolve(value);
  if (!resolved.ok) return mode === 'restrict';
  const subjects = mode === 'restrict' ? [resolved.lexical, ...resolved.targets] : resolved.targets;
  const { base, rest } = splitPathGlob(glob);
  if (base === '') {
    // "**/…": no directory to resolve; the pattern is matched against whole paths.
    const match = matcher(globForm(glob, flavor), caseInsensitive(flavor));
    const matches = (p: string): boolean => match(globSubject(p, flavor));
    return mode === 'restrict' ? subjects.some(matches) : subjects.every(matches);
  }
  const inside = (dir: string, p: string): boolean => {
    const below = segmentsBelow(dir, p, flavor);
    return below !== undefined && restMatches(rest, below, flavor);
  };
  const dirPath = globBaseAsPath(base, flavor);
  const dir = paths.resolve(dirPath);
  if (mode === 'restrict') {
    // The directory as written and as it resolves. One that cannot be resolved (unreadable, a
    // loop) is taken as written: a path reaches into it only if the path does not resolve either.
    const dirs = dir.ok ? [dir.lexical, ...dir.targets] : lexicalPaths(dirPath, flavor);
    return subjects.some((p) => dirs.some((d) => inside(d, p)));
  }
  if (!dir.ok || dir.targets.length !== 1) return false;
  const realDir = dir.targets[0]!;
  if (mode === 'grant' && pathKey(realDir, flavor) !== pathKey(dir.lexical, flavor)) return false;
  return subjects.every((p) => inside(realDir, p));
}

/**
 * Whether the segments below a glob's directory match the glob's pattern part; the directory is
 * matched by segmentsBelow, never by picomatch, so its name needs no glob escaping to be exact.
 */
function restMatches(rest: string, below: readonly string[], flavor: PathFlavor): boolean {
  if (rest === '') return below.length === 0;
  const match = matcher(globForm(`/D/${rest}`, flavor), caseInsensitive(flavor));
  return match(globSubject(`/D${below.map((s) => `/${s}`).join('')}`, flavor));
}

/** A glob in the form subjects take: NFD on macOS (a backslash in a glob always escapes). */
function globForm(glob: string, flavor: PathFlavor): string {
  return flavor === 'darwin' ? glob.normalize('NFD') : glob;
}

function lexicalPaths(p: string, flavor: PathFlavor): string[] {
  const parsed = parseAbsolute(p, flavor);
  return parsed.ok ? [joinParts(normalizeParts(parsed.parts), flavor)] : [];
}

/** True when every condition holds (an empty or absent list always holds). */
export function allConditionsHold(
  args: unknown,
  conditions: readonly ArgumentCondition[] | undefined,
  mode: ConditionMode = 'allow',
  paths: CallPaths = new CallPaths(),
): boolean {
  return (conditions ?? []).every((c) => conditionHolds(args, c, mode, paths));
}

/**
 * Conditions of a person's "always allow", as they are stored: the directory of each path glob
 * is replaced by its real path now (links resolved), so the grant covers the directory the person
 * saw and not wherever a link there points later. e.g. `/home/me/proj/**` with
 * `proj -> /data/proj` is stored as `/data/proj/**`.
 * @throws WardenError USAGE when a directory cannot be resolved (permission, loop, relative).
 */
export function pinPathConditions(
  conditions: readonly ArgumentCondition[],
  resolver: PathResolver = hostPathResolver,
): ArgumentCondition[] {
  return conditions.map((condition) => {
    if (condition.glob === undefined || !isPathGlob(condition.glob)) return condition;
    const { base, rest } = splitPathGlob(condition.glob);
    if (base === '') return condition;
    const dir = resolver.resolve(globBaseAsPath(base, resolver.flavor));
    if (!dir.ok)
      throw new WardenError('USAGE', `cannot remember an approval for ${condition.glob}: ${dir.reason}`);
    if (dir.targets.length !== 1) {
      throw new WardenError(
        'USAGE',
        `cannot remember an approval for ${condition.glob}: ${base} is ${dir.targets.join(' or ')}, depending on how ".." is read`,
      );
    }
    return { ...condition, glob: globOver(dir.targets[0]!, rest, resolver.flavor) };
  });
}
