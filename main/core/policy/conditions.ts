import path from 'node:path';
import picomatch from 'picomatch';
import type { ArgumentCondition } from './schema.ts';

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

const globCache = new Map<string, (s: string) => boolean>();

/** A glob that looks like a file-system path: values are normalized before matching. */
function isPathGlob(glob: string): boolean {
  return glob.startsWith('/') || /^[A-Za-z]:[\\/]/.test(glob);
}

/**
 * True when the argument the condition points at is a string (or number) that matches its glob
 * or regex. Path globs match the normalized path, so `/safe/../etc/passwd` does not match
 * `/safe/**`. A missing argument never matches (fail closed).
 */
export function conditionHolds(args: unknown, condition: ArgumentCondition): boolean {
  const value = resolvePointer(args, condition.pointer);
  if (typeof value !== 'string' && typeof value !== 'number') return false;
  let text = String(value);
  if (text.includes('\0')) return false;
  if (condition.glob !== undefined) {
    const glob = condition.glob;
    if (isPathGlob(glob)) text = path.posix.normalize(text.replace(/\\/g, '/'));
    let matcher = globCache.get(glob);
    if (!matcher) {
      matcher = picomatch(glob, { dot: true });
      globCache.set(glob, matcher);
    }
    return matcher(text);
  }
  return new RegExp(condition.regex!).test(text);
}

/** True when every condition holds (an empty or absent list always holds). */
export function allConditionsHold(
  args: unknown,
  conditions: readonly ArgumentCondition[] | undefined,
): boolean {
  return (conditions ?? []).every((c) => conditionHolds(args, c));
}
