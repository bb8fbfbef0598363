/**
 * The sandbox in force (sandbox/sandbox-policy.ts): defaults, the most restrictive source wins,
 * managed and org denies stay, the managed lock, requireSandbox. Property: whatever the user's
 * config and rules say, every deny of the managed policy is in force and no allowRead undoes it.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import fc from 'fast-check';
import type { PolicySource } from '../../main/core/config/policy-schema.ts';
import type { StdioServerConfig } from '../../main/core/config/schema.ts';
import type { ServerSandbox } from '../../main/core/config/sandbox-schema.ts';
import { effectiveSandbox, within, type SandboxContext } from '../../main/core/sandbox/sandbox-policy.ts';

const home = '/home/u';
const context: SandboxContext = {
  home,
  tmpDir: '/tmp/mcp-warden-server-1',
  wardenDirs: ['/home/u/.config/mcp-warden', '/home/u/.local/share/mcp-warden'],
  wardenSandboxDir: '/home/u/.local/share/mcp-warden/sandbox',
  locked: false,
};

function server(args: string[] = [], sandbox?: ServerSandbox): StdioServerConfig {
  return {
    kind: 'stdio',
    name: 'files',
    command: 'node',
    args,
    env: {},
    tools: { deny: [] },
    ...(sandbox ? { sandbox } : {}),
  };
}

const managed = (sandbox: PolicySource['document']['sandbox']): PolicySource => ({
  kind: 'managed',
  origin: '/etc/mcp-warden/managed-policy.json',
  document: { sandbox },
});
const user = (sandbox?: PolicySource['document']['sandbox']): PolicySource => ({
  kind: 'user',
  origin: '/home/u/.config/mcp-warden/config.json',
  document: sandbox ? { sandbox } : {},
});
const values = (list: { value: string }[]): string[] => list.map((e) => e.value);

test('defaults: credential stores and Warden’s own dirs unreadable, writes only to directory arguments and the temp dir, no network', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'sandbox-policy-'));
  try {
    const s = effectiveSandbox(server(['/srv/server.js', root, '--flag', '@scope/pkg@1']), [user()], context);
    assert.equal(s.mode, 'enforce');
    assert.equal(s.requiredBy, undefined);
    for (const p of [
      '/home/u/.ssh',
      '/home/u/.aws',
      '/home/u/.gnupg',
      '/home/u/.config/gh',
      '/home/u/.mozilla',
      ...context.wardenDirs,
    ])
      assert.ok(values(s.filesystem.denyRead).includes(p), `${p} is denied`);
    assert.deepEqual(values(s.filesystem.allowWrite), [root, context.tmpDir]);
    assert.deepEqual(values(s.network.allowedDomains), []);
    assert.equal(s.network.allowLocalBinding.value, false);
  } finally {
    fs.rmSync(root, { recursive: true });
  }
});

test('the default filesystem sandbox inside Warden’s data dir may be a server’s root', () => {
  const s = effectiveSandbox(server(), [user()], context);
  const withRoot = effectiveSandbox(
    server([], {
      filesystem: { allowWrite: [context.wardenSandboxDir!], allowRead: [context.wardenSandboxDir!] },
    }),
    [user()],
    context,
  );
  assert.deepEqual(s.dropped, []);
  assert.ok(values(withRoot.filesystem.allowWrite).includes(context.wardenSandboxDir!));
  assert.ok(values(withRoot.filesystem.allowRead).includes(context.wardenSandboxDir!));
  const elsewhere = effectiveSandbox(
    server([], { filesystem: { allowRead: ['~/.local/share/mcp-warden'] } }),
    [user()],
    context,
  );
  assert.ok(!values(elsewhere.filesystem.allowRead).includes('/home/u/.local/share/mcp-warden'));
  assert.match(elsewhere.dropped[0]?.why ?? '', /MCP Warden's own files/);
});

test('each entry names its source; denies of every source add up', () => {
  const s = effectiveSandbox(
    server([], { filesystem: { denyRead: ['~/private'] }, network: { allowedDomains: ['api.example.com'] } }),
    [managed({ rules: [{ server: 'fil*', network: { deniedDomains: ['evil.example'] } }] }), user()],
    context,
  );
  assert.deepEqual(
    s.filesystem.denyRead.find((e) => e.value === '/home/u/private'),
    { value: '/home/u/private', source: 'user config /home/u/.config/mcp-warden/config.json' },
  );
  assert.deepEqual(s.network.deniedDomains, [
    { value: 'evil.example', source: 'managed policy /etc/mcp-warden/managed-policy.json' },
  ]);
  assert.deepEqual(values(s.network.allowedDomains), ['api.example.com']);
});

test('requireSandbox: a user "mode": "off" is dropped, saying why', () => {
  const s = effectiveSandbox(
    server([], { mode: 'off' }),
    [managed({ requireSandbox: true }), user()],
    context,
  );
  assert.equal(s.mode, 'enforce');
  assert.equal(s.requiredBy, 'managed policy /etc/mcp-warden/managed-policy.json');
  assert.deepEqual(
    s.dropped.map((d) => [d.list, d.value, d.why]),
    [['mode', 'off', 'managed policy /etc/mcp-warden/managed-policy.json requires the sandbox']],
  );
  assert.equal(effectiveSandbox(server([], { mode: 'off' }), [user()], context).mode, 'off');
});

test('lock "sandbox": the user config’s allows and "off" have no effect, its denies still apply', () => {
  const s = effectiveSandbox(
    server([], {
      mode: 'off',
      filesystem: { allowWrite: ['/data'], denyWrite: ['/data/keep'] },
      network: { allowedDomains: ['x.example'], allowLocalBinding: true },
    }),
    [managed({}), user()],
    { ...context, locked: true },
  );
  assert.equal(s.mode, 'enforce');
  assert.ok(!values(s.filesystem.allowWrite).includes('/data'));
  assert.deepEqual(values(s.filesystem.denyWrite), ['/data/keep']);
  assert.deepEqual(values(s.network.allowedDomains), []);
  assert.equal(s.network.allowLocalBinding.value, false);
  assert.deepEqual(s.dropped.map((d) => d.list).sort(), [
    'allowLocalBinding',
    'allowWrite',
    'allowedDomains',
    'mode',
  ]);
});

test('within: a path is within itself and its descendants only', () => {
  assert.ok(within('/a/b', '/a'));
  assert.ok(within('/a', '/a'));
  assert.ok(!within('/ab', '/a'));
  assert.ok(!within('/', '/a'));
});

const segment = fc.constantFrom('a', 'b', '.ssh', 'keys', 'x y');
const absPath = fc.array(segment, { minLength: 1, maxLength: 4 }).map((parts) => '/' + parts.join('/'));
const block = fc.record(
  {
    mode: fc.constantFrom('enforce' as const, 'off' as const),
    filesystem: fc.record(
      { allowRead: fc.array(absPath), denyRead: fc.array(absPath), allowWrite: fc.array(absPath) },
      { requiredKeys: [] },
    ),
    network: fc.record(
      { allowedDomains: fc.array(fc.constantFrom('a.example', 'evil.example')) },
      { requiredKeys: [] },
    ),
  },
  { requiredKeys: [] },
);

test('property: no user block or rule removes a managed deny, and requireSandbox always enforces', () => {
  fc.assert(
    fc.property(
      fc.array(absPath, { minLength: 1, maxLength: 3 }),
      block,
      fc.array(block, { maxLength: 2 }),
      fc.boolean(),
      (managedDenies, own, userRules, locked) => {
        const s = effectiveSandbox(
          server([], own),
          [
            managed({
              requireSandbox: true,
              rules: [
                {
                  server: '*',
                  filesystem: { denyRead: managedDenies },
                  network: { deniedDomains: ['evil.example'] },
                },
              ],
            }),
            user({ rules: userRules.map((b) => ({ ...b, server: '*' })) }),
          ],
          { ...context, locked },
        );
        assert.equal(s.mode, 'enforce');
        for (const deny of managedDenies) {
          assert.ok(values(s.filesystem.denyRead).includes(deny));
          for (const allow of s.filesystem.allowRead)
            assert.ok(
              !within(allow.value, deny) || allow.source.startsWith('managed'),
              `${allow.value} undoes ${deny}`,
            );
        }
        assert.ok(values(s.network.deniedDomains).includes('evil.example'));
      },
    ),
    { numRuns: 300 },
  );
});
