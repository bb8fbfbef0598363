/**
 * Path conditions on the real file system: random trees of directories and symbolic links
 * (inside, outside, chains, loops, dangling) and random paths with "." and ".." and doubled
 * separators. The oracle is the OS itself: the path is made to exist (mkdir -p, then a write
 * that follows links, as a server's would) and its realpath(3) is where it landed (fs.realpathSync
 * without .native normalizes ".." by name first, so it is not the oracle).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import fc from 'fast-check';
import {
  CallPaths,
  conditionHolds,
  pinPathConditions,
  type ConditionMode,
} from '../../main/core/policy/conditions.ts';
import { underDirectoryGlob } from '../../main/core/policy/path-rules.ts';
import type { PathResolver } from '../../main/core/policy/real-path.ts';

const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'warden-paths-'));
after(() => fs.rmSync(scratch, { recursive: true, force: true }));
let runs = 0;

function holds(value: unknown, glob: string, mode: ConditionMode, resolver?: PathResolver): boolean {
  return conditionHolds({ path: value }, { pointer: '/path', glob }, mode, new CallPaths(resolver));
}

/** One entry of a random tree, created in order (an entry whose parent is missing is skipped). */
interface Entry {
  at: string;
  name: string;
  kind: 'dir' | 'file' | 'link';
  /** For links: absolute (inside the tree) or relative to the link's directory. */
  target: { absolute: boolean; path: string };
}

interface Tree {
  /** The directory the condition names, and whether it is itself a link to a real directory. */
  base: string;
  baseIsLink: boolean;
  /** A sibling whose name an unescaped glob of `base` would match. */
  lookalike: string;
  entries: Entry[];
}

// Pairs a naive glob would confuse: "sa*fe" matches "saXfe", "[a]b" matches "ab", "x (1)" "x 1".
const BASES: [string, string][] = [
  ['safe', 'other'],
  ['sa*fe', 'saXfe'],
  ['[a]b', 'ab'],
  ['x (1)', 'x 1'],
];
const NAMES = ['a', 'c d', '[f]'];

const treeArb: fc.Arbitrary<Tree> = fc
  .record({
    pair: fc.constantFrom(...BASES),
    baseIsLink: fc.boolean(),
    entries: fc.array(
      fc.record({
        at: fc.constantFrom(
          ['BASE'],
          ['BASE'],
          ['BASE'],
          [],
          ['LOOK'],
          ['BASE', 'a'],
          ['BASE', 'c d'],
          ['a'],
        ),
        name: fc.constantFrom(...NAMES),
        kind: fc.constantFrom('dir', 'file', 'link', 'link', 'link'),
        target: fc.record({
          absolute: fc.boolean(),
          path: fc.array(fc.constantFrom('BASE', 'LOOK', 'a', 'c d', 'missing', '..', '.'), {
            minLength: 1,
            maxLength: 4,
          }),
        }),
      }),
      { maxLength: 10 },
    ),
  })
  .map(({ pair: [base, lookalike], baseIsLink, entries }) => {
    const name = (s: string): string => (s === 'BASE' ? base : s === 'LOOK' ? lookalike : s);
    return {
      base,
      baseIsLink,
      lookalike,
      entries: entries.map((e) => ({
        at: e.at.map(name).join('/'),
        name: e.name,
        kind: e.kind,
        target: { absolute: e.target.absolute, path: e.target.path.map(name).join('/') },
      })),
    };
  });

/** A path under the tree's root: random segments, separators "/", "//" or "/./", maybe a trailing "/". */
const separatorArb = fc.constantFrom('/', '/', '/', '//', '/./');
const pathArb = fc.record({
  segments: fc
    .tuple(
      fc.constantFrom(['BASE'], ['BASE'], ['BASE'], [], ['LOOK']),
      fc.array(fc.constantFrom('BASE', 'LOOK', ...NAMES, ...NAMES, 'missing', 'y.txt', '..', '..', '.'), {
        minLength: 1,
        maxLength: 6,
      }),
    )
    .chain(([start, rest]) =>
      fc.tuple(...[...start, ...rest].map((segment) => fc.tuple(separatorArb, fc.constant(segment)))),
    ),
  trailing: fc.boolean(),
});

const link = (at: string, name: string, target: string, absolute = false): Entry => ({
  at,
  name,
  kind: 'link',
  target: { absolute, path: target },
});
const dir = (at: string, name: string): Entry => ({
  at,
  name,
  kind: 'dir',
  target: { absolute: false, path: '' },
});
const safeTree = (entries: Entry[], baseIsLink = false): Tree => ({
  base: 'safe',
  baseIsLink,
  lookalike: 'other',
  entries,
});
const through = (...segments: string[]): { segments: [string, string][]; trailing: boolean } => ({
  segments: segments.map((s) => ['/', s]),
  trailing: false,
});
/** The cases named in the issue, always run first. */
const EXAMPLES: [Tree, ReturnType<typeof through>][] = [
  [safeTree([link('safe', 'a', 'other', true)]), through('BASE', 'a', 'y.txt')], // a link out
  [safeTree([link('safe', 'a', '../other')]), through('BASE', 'a', 'y.txt')], // relative, out
  [safeTree([dir('other', 'a'), link('safe', 'a', 'other/a', true)]), through('BASE', 'a', '..', 'y.txt')], // ".." after a link
  [safeTree([link('safe', 'a', 'c d'), link('safe', 'c d', 'other', true)]), through('BASE', 'a', 'y.txt')], // a chain
  [safeTree([link('safe', 'a', 'c d'), link('safe', 'c d', 'a')]), through('BASE', 'a', 'y.txt')], // a loop
  [safeTree([link('safe', 'a', 'other/missing', true)]), through('BASE', 'a')], // dangling, out
  [safeTree([link('safe', 'a', 'missing')]), through('BASE', 'a')], // dangling, in
  [safeTree([dir('safe', 'c d'), link('safe', 'a', 'c d')]), through('BASE', 'a', 'y.txt')], // a link in
  [safeTree([], true), through('BASE', 'y.txt')], // the directory is itself a link
  [safeTree([], true), through('BASE', '..', 'BASE', 'y.txt')],
  // Found by this property (seed 407727338): a missing directory, then "..", then a loop. With
  // the missing directory made (mkdir -p), the kernel comes back and meets the loop; reading
  // the rest by name after the missing directory skipped it.
  [safeTree([link('safe', 'a', 'safe/a', true)]), through('BASE', 'BASE', '..', 'a', '..', 'BASE')],
  [safeTree([link('safe', 'a', 'other', true)]), through('BASE', 'missing', '..', 'a', '..', 'y.txt')], // the same, a link out
];

function build(root: string, tree: Tree): void {
  fs.rmSync(root, { recursive: true, force: true });
  fs.mkdirSync(root);
  fs.mkdirSync(path.join(root, tree.lookalike));
  if (tree.baseIsLink) {
    fs.mkdirSync(path.join(root, 'real-base'));
    fs.symlinkSync('real-base', path.join(root, tree.base));
  } else fs.mkdirSync(path.join(root, tree.base));
  for (const e of tree.entries) {
    const where = path.join(root, e.at, e.name);
    try {
      if (e.kind === 'dir') fs.mkdirSync(where);
      else if (e.kind === 'file') fs.writeFileSync(where, '');
      else fs.symlinkSync(e.target.absolute ? `${root}/${e.target.path}` : e.target.path, where);
    } catch {
      // parent missing, name taken, or a loop on the way: this entry is not part of the tree
    }
  }
}

type Landing = { kind: 'path'; real: string } | { kind: 'loop' } | { kind: 'impossible' };

/** Where the OS puts a file written at `p` (after mkdir -p of its parent), by realpath. */
function land(p: string): Landing {
  const failed = (error: unknown): Landing =>
    (error as NodeJS.ErrnoException).code === 'ELOOP' ? { kind: 'loop' } : { kind: 'impossible' };
  try {
    fs.mkdirSync(path.dirname(p), { recursive: true });
  } catch (error) {
    return failed(error);
  }
  try {
    fs.writeFileSync(p, '', { flag: 'a' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EISDIR') return failed(error);
  }
  try {
    return { kind: 'path', real: fs.realpathSync.native(p) };
  } catch (error) {
    return failed(error);
  }
}

function within(dir: string, p: string): boolean {
  const rel = path.relative(dir, p);
  return rel === '' || (rel !== '..' && !rel.startsWith('../') && !path.isAbsolute(rel));
}

describe('path conditions match exactly where the OS puts the file', () => {
  test('property: random trees of directories and links, random paths with "." and ".." and separators', (t) => {
    const stats = { definite: 0, inside: 0, outside: 0, loops: 0, denied: 0 };
    fc.assert(
      fc.property(treeArb, pathArb, (tree, p) => {
        const root = path.join(scratch, `run-${runs++}`);
        build(root, tree);
        const name = (s: string): string => (s === 'BASE' ? tree.base : s === 'LOOK' ? tree.lookalike : s);
        const raw = root + p.segments.map(([sep, s]) => sep + name(s)).join('') + (p.trailing ? '/' : '');
        const baseDir = path.join(root, tree.base);
        const realBase = fs.realpathSync(baseDir);
        const realLook = fs.realpathSync(path.join(root, tree.lookalike));
        const allowGlob = underDirectoryGlob(baseDir);
        const denyGlob = underDirectoryGlob(path.join(root, tree.lookalike));
        const [pinned] = pinPathConditions([{ pointer: '/path', glob: allowGlob }]);

        const allow = holds(raw, allowGlob, 'allow');
        const grant = holds(raw, pinned!.glob!, 'grant');
        const deny = holds(raw, denyGlob, 'restrict');

        // Both readings of the path: the kernel's, and by name first (path.resolve), as servers do.
        const landings = [raw, path.resolve(raw)].map((q) => {
          build(root, tree);
          return land(q);
        });
        const paths = landings.filter((l) => l.kind === 'path').map((l) => l.real);
        const loop = landings.some((l) => l.kind === 'loop');
        const escapes = paths.some((r) => !within(realBase, r));
        const reachesLookalike = paths.some((r) => within(realLook, r));

        // Never more than the OS allows: an allow or a grant holds only if no reading lands outside.
        if (allow || grant) {
          assert.ok(!loop && !escapes, `${raw}: allowed, but the OS lands it at ${paths.join(', ')}`);
        }
        // A deny holds whenever a reading lands inside, or the path loops.
        if (reachesLookalike || loop)
          assert.ok(deny, `${raw}: lands in the denied directory but is not denied`);
        if (deny) stats.denied++;
        if (loop) stats.loops++;
        // Exactly: when every reading lands, all inside, the allow holds; all outside (and the
        // path is not lexically inside the denied directory), the deny does not.
        if (landings.every((l) => l.kind === 'path')) {
          stats.definite++;
          if (!escapes) stats.inside++;
          else stats.outside++;
          assert.equal(allow, !escapes, `${raw}: allow should be ${!escapes} (lands at ${paths.join(', ')})`);
          assert.equal(grant, !escapes, `${raw}: the remembered grant should be ${!escapes}`);
          if (!reachesLookalike && !within(path.join(root, tree.lookalike), path.resolve(raw)))
            assert.equal(deny, false, `${raw}: denied, but lands at ${paths.join(', ')}`);
        }
        fs.rmSync(root, { recursive: true, force: true });
      }),
      { numRuns: 500, examples: EXAMPLES },
    );
    t.diagnostic(
      `runs where the OS could land every reading: ${stats.definite} (${stats.inside} inside, ${stats.outside} outside); loops: ${stats.loops}; denied: ${stats.denied}`,
    );
    assert.ok(stats.inside > 20 && stats.outside > 20 && stats.loops > 0, JSON.stringify(stats));
  });
});
