/**
 * Path conditions in the policy engine and in remembered approvals, on the real file system:
 * which way each kind of rule fails when a path cannot be resolved, that a remembered directory
 * is stored as its real path, and that paths are resolved once per call and only when needed.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ApprovalBroker } from '../../main/core/approvals/broker.ts';
import { isWardenError } from '../../main/core/errors.ts';
import {
  CallPaths,
  conditionHolds,
  pinPathConditions,
  type ConditionMode,
} from '../../main/core/policy/conditions.ts';
import { PolicyEngine, type RememberedGrant, type ToolQuestion } from '../../main/core/policy/engine.ts';
import { underDirectoryGlob } from '../../main/core/policy/path-rules.ts';
import { nodeFsView, PathResolver, type FsView } from '../../main/core/policy/real-path.ts';
import { policyDocumentSchema, type PolicySource } from '../../main/core/config/policy-schema.ts';
import { memoryFs } from '../helpers/memory-fs.ts';

let R: string;
before(() => {
  R = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'warden-conditions-')));
  for (const dir of ['safe', 'other', 'secret', 'home/.ssh', 'real-proj'])
    fs.mkdirSync(path.join(R, dir), { recursive: true });
  fs.symlinkSync(path.join(R, 'other'), path.join(R, 'safe/link'));
  fs.symlinkSync('../secret', path.join(R, 'safe/secret-link'));
  fs.symlinkSync('loop-b', path.join(R, 'safe/loop-a'));
  fs.symlinkSync('loop-a', path.join(R, 'safe/loop-b'));
  fs.symlinkSync(path.join(R, 'other/new.txt'), path.join(R, 'safe/dangling'));
  fs.symlinkSync(path.join(R, 'home/.ssh'), path.join(R, 'safe/keys'));
  fs.symlinkSync(path.join(R, 'real-proj'), path.join(R, 'proj'));
  fs.mkdirSync(path.join(R, 'safe/caf\u00e9'));
});
after(() => fs.rmSync(R, { recursive: true, force: true }));

const at = (...segments: string[]): string => path.join(R, ...segments);
function holds(p: unknown, glob: string, mode: ConditionMode): boolean {
  return conditionHolds({ path: p }, { pointer: '/path', glob }, mode);
}

describe('which way a path condition fails, by the kind of rule', () => {
  test('the issue: a link out of the directory is not under it; a file in it is', () => {
    const safe = underDirectoryGlob(at('safe'));
    assert.equal(holds(at('safe/link/y.txt'), safe, 'allow'), false);
    assert.equal(holds(at('safe/z.txt'), safe, 'allow'), true);
    assert.equal(holds(at('safe/link/y.txt'), underDirectoryGlob(at('other')), 'restrict'), true);
    assert.equal(holds(at('safe/secret-link/k'), underDirectoryGlob(at('secret')), 'restrict'), true);
    assert.equal(
      holds(at('safe/dangling'), safe, 'allow'),
      false,
      'a write through a dangling link lands at its target',
    );
  });

  test('what cannot be resolved: an allow does not hold, a deny or ask does; a missing argument is no path at all', () => {
    const safe = underDirectoryGlob(at('safe'));
    for (const value of [
      at('safe/loop-a/x'),
      'relative/x.txt',
      '~/x.txt',
      '',
      `${at('safe')}/x\0.txt`,
      42,
      null,
      [at('safe/x')],
      { path: at('safe/x') },
    ]) {
      assert.equal(holds(value, safe, 'allow'), false, JSON.stringify(value));
      assert.equal(holds(value, safe, 'grant'), false, JSON.stringify(value));
      assert.equal(holds(value, underDirectoryGlob(at('secret')), 'restrict'), true, JSON.stringify(value));
    }
    assert.equal(conditionHolds({}, { pointer: '/path', glob: safe }, 'restrict'), false);
    assert.equal(conditionHolds({}, { pointer: '/path', glob: safe }, 'allow'), false);
  });

  test('a permission error is a doubt (a file system that refuses, as root never is refused here)', () => {
    const refusing: FsView = {
      ...nodeFsView,
      lstat: (p) => {
        if (p === at('safe/locked')) throw Object.assign(new Error('EACCES'), { code: 'EACCES' });
        return nodeFsView.lstat(p);
      },
    };
    const paths = () => new CallPaths(new PathResolver({ fs: refusing }));
    const safe = underDirectoryGlob(at('safe'));
    const p = { path: at('safe/locked/x') };
    assert.equal(conditionHolds(p, { pointer: '/path', glob: safe }, 'allow', paths()), false);
    assert.equal(conditionHolds(p, { pointer: '/path', glob: safe }, 'restrict', paths()), true);
    const resolved = paths().resolve(p.path);
    assert.equal(
      resolved.ok ? '' : resolved.reason,
      `${p.path}: cannot look at ${at('safe/locked')} (EACCES)`,
    );
  });

  test(
    'a real unreadable directory is a doubt',
    { skip: process.getuid?.() === 0 ? 'running as root, which reads every directory' : false },
    () => {
      const locked = at('locked-real');
      fs.mkdirSync(path.join(locked, 'inner'), { recursive: true });
      fs.chmodSync(locked, 0o000);
      try {
        assert.equal(holds(path.join(locked, 'inner/x'), underDirectoryGlob(R), 'allow'), false);
        assert.equal(holds(path.join(locked, 'inner/x'), underDirectoryGlob(at('secret')), 'restrict'), true);
      } finally {
        fs.chmodSync(locked, 0o700);
      }
    },
  );

  test('a missing name that differs from an existing one only in Unicode normalization is a doubt', () => {
    const nfd = at('safe', 'cafe\u0301', 'x.txt');
    assert.equal(holds(nfd, underDirectoryGlob(at('safe')), 'allow'), false);
    assert.equal(holds(nfd, underDirectoryGlob(at('secret')), 'restrict'), true);
    assert.equal(holds(at('safe', 'caf\u00e9', 'x.txt'), underDirectoryGlob(at('safe')), 'allow'), true);
  });

  test('"**/" globs match the real path too: a deny on any .ssh directory is not escaped through a link', () => {
    assert.equal(holds(at('safe/keys/id_ed25519'), '**/.ssh/**', 'restrict'), true);
    assert.equal(
      holds(at('safe/keys/id_ed25519'), '**/keys/**', 'allow'),
      false,
      'the real path has no "keys"',
    );
    assert.equal(holds('keys/id', '**/.ssh/**', 'restrict'), true, 'a relative path is a doubt');
  });

  test("a policy rule's directory is resolved when the call is decided; a grant's must still be its own real path", () => {
    const viaLink = underDirectoryGlob(at('proj'));
    assert.equal(holds(at('real-proj/a.txt'), viaLink, 'allow'), true);
    assert.equal(holds(at('proj/a.txt'), viaLink, 'allow'), true);
    assert.equal(
      holds(at('real-proj/a.txt'), viaLink, 'grant'),
      false,
      'a link where a remembered directory was',
    );
    const [pinned] = pinPathConditions([{ pointer: '/path', glob: viaLink }]);
    assert.equal(pinned!.glob, underDirectoryGlob(at('real-proj')));
    assert.equal(holds(at('proj/a.txt'), pinned!.glob, 'grant'), true);
  });
});

describe('remembered approvals store the real directory', () => {
  test('pinPathConditions resolves links in the directory and keeps other conditions as they are', () => {
    const conditions = pinPathConditions([
      { pointer: '/path', glob: underDirectoryGlob(at('safe/link')) },
      { pointer: '/path', glob: `${at('safe')}/*.txt` },
      { pointer: '/mode', glob: 'rw*' },
      { pointer: '/url', regex: '^https://' },
      { pointer: '/path', glob: '**/notes/**' },
    ]);
    assert.deepEqual(conditions, [
      { pointer: '/path', glob: underDirectoryGlob(at('other')) },
      { pointer: '/path', glob: `${at('safe')}/*.txt` },
      { pointer: '/mode', glob: 'rw*' },
      { pointer: '/url', regex: '^https://' },
      { pointer: '/path', glob: '**/notes/**' },
    ]);
  });

  test('a directory that cannot be resolved is refused with the reason, and the request stays pending', async () => {
    assert.throws(
      () => pinPathConditions([{ pointer: '/path', glob: underDirectoryGlob(at('safe/loop-a')) }]),
      (e: unknown) => isWardenError(e) && e.code === 'USAGE' && /symbolic links \(a loop\)/.test(e.message),
    );
    const broker = new ApprovalBroker();
    const outcome = broker.request(
      {
        sessionId: 's',
        client: {},
        server: 'fs',
        tool: 'write_file',
        arguments: { path: at('safe/link/y.txt') },
        rule: { source: 'test', text: '' },
        choices: ['deny', 'allow-once', 'allow-session', 'allow-always'],
      },
      { timeoutMs: 60_000 },
    );
    const [request] = broker.list();
    const answer = (dir: string) => ({
      choice: 'allow-always' as const,
      argumentsHash: request!.argumentsHash,
      by: 'test',
      conditions: [{ pointer: '/path', glob: underDirectoryGlob(dir) }],
    });
    assert.throws(() => broker.answer(request!.id, answer(at('safe/loop-a'))), /cannot remember an approval/);
    assert.equal(broker.list().length, 1, 'nothing is lost: the request still waits');
    broker.answer(request!.id, answer(at('safe/link')));
    const resolved = await outcome;
    assert.equal(resolved.kind, 'answered');
    assert.deepEqual(resolved.kind === 'answered' && resolved.answer.conditions, [
      { pointer: '/path', glob: underDirectoryGlob(at('other')) },
    ]);
  });
});

describe('the engine resolves paths once per call, and only when a path condition is reached', () => {
  const doc = (d: unknown): PolicySource => ({
    kind: 'user',
    origin: 'config.json',
    document: policyDocumentSchema.parse(d),
  });
  const q = (over: Partial<ToolQuestion>): ToolQuestion => ({
    server: 'fs',
    tool: 'write_file',
    arguments: {},
    trusted: true,
    remembered: [],
    ...over,
  });

  class CountingResolver extends PathResolver {
    readonly calls: unknown[] = [];
    override resolve(value: unknown) {
      this.calls.push(value);
      return super.resolve(value);
    }
  }

  test('no path condition: the file system is not touched', () => {
    const fsView = memoryFs('posix');
    const engine = new PolicyEngine(
      [
        doc({
          rules: [
            { tool: 'write_*', action: 'ask' },
            { tool: 'read_*', action: 'allow', when: [{ pointer: '/mode', regex: '^r' }] },
          ],
        }),
      ],
      { paths: new PathResolver({ fs: fsView }) },
    );
    engine.decideTool(q({ arguments: { path: '/x/y', mode: 'r' } }));
    engine.decideTool(q({ tool: 'read_file', arguments: { path: '/x/y', mode: 'r' } }));
    assert.equal(fsView.lstats, 0);
  });

  test('a deny, an ask, an allow and a remembered grant on the same path: one resolution of the path and of each directory', () => {
    const resolver = new CountingResolver();
    const engine = new PolicyEngine(
      [
        doc({
          rules: [
            {
              tool: 'write_file',
              action: 'deny',
              when: [{ pointer: '/path', glob: underDirectoryGlob(at('secret')) }],
            },
            {
              tool: 'write_file',
              action: 'ask',
              when: [{ pointer: '/path', glob: underDirectoryGlob(at('safe')) }],
            },
            {
              tool: 'write_file',
              action: 'allow',
              when: [{ pointer: '/path', glob: `${at('safe')}/*.txt` }],
            },
          ],
        }),
      ],
      { paths: resolver },
    );
    const grant: RememberedGrant = {
      id: '1',
      server: 'fs',
      tool: 'write_file',
      scope: 'always',
      conditions: [{ pointer: '/path', glob: underDirectoryGlob(at('safe')) }],
    };
    const file = at('safe/z.txt');
    const verdict = engine.decideTool(q({ arguments: { path: file }, remembered: [grant] }));
    assert.equal(verdict.action, 'allow');
    assert.equal(verdict.by.source, 'remembered approval #1');
    assert.deepEqual(
      resolver.calls.filter((c) => c === file),
      [file],
    );
    assert.deepEqual(resolver.calls.sort(), [at('safe'), file, at('secret')].sort());

    resolver.calls.length = 0;
    const through = engine.decideTool(
      q({ arguments: { path: at('safe/secret-link/k.txt') }, remembered: [grant] }),
    );
    assert.equal(through.action, 'deny', 'the deny sees the real path');
    const looped = engine.decideTool(
      q({ arguments: { path: at('safe/loop-a/k.txt') }, remembered: [grant] }),
    );
    assert.equal(looped.action, 'deny', 'in doubt, a deny denies');
    const outside = engine.decideTool(q({ arguments: { path: at('safe/link/k.txt') }, remembered: [grant] }));
    assert.equal(
      outside.action,
      'ask',
      'the ask matches the path as written; the grant does not cover its real target',
    );
  });
});
