import assert from 'node:assert/strict';
import { test } from 'node:test';
import { conditionHolds, resolvePointer } from '../../main/core/policy/conditions.ts';
import { PolicyEngine, type RememberedGrant, type ToolQuestion } from '../../main/core/policy/engine.ts';
import { identityHash, serverIdentity } from '../../main/core/policy/identity.ts';
import {
  policyDocumentSchema,
  type PolicyDocument,
  type PolicySource,
} from '../../main/core/config/policy-schema.ts';
import type { ServerConfig } from '../../main/core/config/schema.ts';

const doc = (d: unknown): PolicyDocument => policyDocumentSchema.parse(d);
const managed = (d: unknown): PolicySource => ({
  kind: 'managed',
  origin: '/etc/mcp-warden/managed-policy.json',
  document: doc(d),
});
const user = (d: unknown): PolicySource => ({
  kind: 'user',
  origin: '/home/me/.config/mcp-warden/config.json',
  document: doc(d),
});
const q = (over: Partial<ToolQuestion>): ToolQuestion => ({
  server: 'fs',
  tool: 'write_file',
  arguments: {},
  trusted: false,
  remembered: [],
  ...over,
});
const stdio = (name: string, command: string, args: string[]): ServerConfig => ({
  kind: 'stdio',
  name,
  command,
  args,
  env: {},
  tools: { deny: [] },
});

test('a managed deny beats a user allow', () => {
  const engine = new PolicyEngine([
    user({ rules: [{ tool: 'write_file', action: 'allow' }] }),
    managed({ rules: [{ server: 'fs', tool: 'write_*', action: 'deny' }] }),
  ]);
  const verdict = engine.decideTool(q({}));
  assert.equal(verdict.action, 'deny');
  assert.equal(verdict.by.kind, 'managed');
  assert.match(
    verdict.action === 'deny' ? verdict.reason : '',
    /managed policy \/etc\/mcp-warden\/managed-policy\.json denies it \(rule 1: deny tool "write_\*" of server "fs"\)/,
  );
});

test('an ask anywhere beats an allow elsewhere (the most restrictive wins)', () => {
  const engine = new PolicyEngine([
    managed({ rules: [{ tool: 'write_file', action: 'ask', remember: 'session' }] }),
    user({ rules: [{ tool: '*', action: 'allow' }] }),
  ]);
  const verdict = engine.decideTool(q({}));
  assert.equal(verdict.action, 'ask');
  assert.equal(verdict.action === 'ask' && verdict.remember, 'session');
});

test('defaults: read-only tools of trusted servers are allowed, everything else asks', () => {
  const engine = new PolicyEngine([user({})]);
  assert.equal(
    engine.decideTool(q({ tool: 'read_file', annotations: { readOnlyHint: true }, trusted: true })).action,
    'allow',
  );
  assert.equal(
    engine.decideTool(q({ tool: 'write_file', annotations: { readOnlyHint: false }, trusted: true })).action,
    'ask',
  );
  assert.equal(
    engine.decideTool(
      q({ tool: 'read_file', annotations: { readOnlyHint: true, destructiveHint: true }, trusted: true }),
    ).action,
    'ask',
  );
  const untrusted = engine.decideTool(
    q({ tool: 'read_file', annotations: { readOnlyHint: true }, trusted: false }),
  );
  assert.equal(untrusted.action, 'ask', 'an untrusted server cannot loosen a decision with its annotations');
  assert.match(untrusted.by.text, /readOnlyHint is not trusted/);
});

test('remembered approvals satisfy an ask only as far as the rule permits', () => {
  const always: RememberedGrant = {
    id: '7',
    server: 'fs',
    tool: 'write_file',
    scope: 'always',
    conditions: [{ pointer: '/path', glob: '/home/me/sandbox/**' }],
  };
  const session: RememberedGrant = { id: 's1', server: 'fs', tool: 'write_file', scope: 'session' };
  const defaults = new PolicyEngine([user({})]);
  const inside = defaults.decideTool(
    q({ arguments: { path: '/home/me/sandbox/a.txt' }, remembered: [always] }),
  );
  assert.equal(inside.action, 'allow');
  assert.equal(inside.by.source, 'remembered approval #7');
  assert.equal(
    defaults.decideTool(q({ arguments: { path: '/home/me/other/a.txt' }, remembered: [always] })).action,
    'ask',
  );
  assert.equal(
    defaults.decideTool(q({ arguments: { path: '/home/me/sandbox/../.ssh/id' }, remembered: [always] }))
      .action,
    'ask',
  );

  const sessionOnly = new PolicyEngine([
    managed({ rules: [{ tool: 'write_file', action: 'ask', remember: 'session' }] }),
  ]);
  assert.equal(
    sessionOnly.decideTool(q({ arguments: { path: '/home/me/sandbox/a' }, remembered: [always] })).action,
    'ask',
    'an always-grant cannot satisfy a session-only rule',
  );
  assert.equal(sessionOnly.decideTool(q({ remembered: [session] })).action, 'allow');
  const never = new PolicyEngine([
    managed({ rules: [{ tool: 'write_file', action: 'ask', remember: 'never' }] }),
  ]);
  assert.equal(never.decideTool(q({ remembered: [session] })).action, 'ask');
});

test('argument conditions: JSON pointers, globs on normalized paths, regexes; a missing argument never matches', () => {
  assert.equal(resolvePointer({ a: [{ 'b/c': 1 }] }, '/a/0/b~1c'), 1);
  assert.equal(conditionHolds({ path: '/srv/x/../y' }, { pointer: '/path', glob: '/srv/y' }), true);
  assert.equal(conditionHolds({ path: '/srv/../etc/passwd' }, { pointer: '/path', glob: '/srv/**' }), false);
  assert.equal(
    conditionHolds(
      { url: 'https://api.example.com/v1' },
      { pointer: '/url', regex: '^https://api\\.example\\.com/' },
    ),
    true,
  );
  assert.equal(conditionHolds({}, { pointer: '/path', glob: '**' }), false);
  const engine = new PolicyEngine([
    user({ rules: [{ tool: 'write_file', action: 'allow', when: [{ pointer: '/path', glob: '/tmp/**' }] }] }),
  ]);
  assert.equal(engine.decideTool(q({ arguments: { path: '/tmp/a' } })).action, 'allow');
  assert.equal(engine.decideTool(q({ arguments: { path: '/etc/a' } })).action, 'ask');
});

test('server identity: npx / uvx / pipx launchers are normalized to package@version', () => {
  assert.equal(
    serverIdentity(stdio('a', 'npx', ['-y', '@modelcontextprotocol/server-filesystem@2026.8.31', '/x'])).kind,
    'stdio',
  );
  const npx = serverIdentity(
    stdio('a', 'npx', ['-y', '@modelcontextprotocol/server-filesystem@2026.8.31', '/x']),
  );
  assert.equal(npx.kind === 'stdio' && npx.package, '@modelcontextprotocol/server-filesystem@2026.8.31');
  const uvx = serverIdentity(stdio('a', 'uvx', ['mcp-server-git==0.6.2', '--repository', '.']));
  assert.equal(uvx.kind === 'stdio' && uvx.package, 'mcp-server-git@0.6.2');
  const pipx = serverIdentity(stdio('a', 'pipx', ['run', 'mcp-server-fetch==1.0']));
  assert.equal(pipx.kind === 'stdio' && pipx.package, 'mcp-server-fetch@1.0');
  assert.notEqual(
    identityHash(serverIdentity(stdio('a', 'npx', ['x@1']))),
    identityHash(serverIdentity(stdio('a', 'npx', ['x@2']))),
  );
});

test('a server rule grants by identity: the same name with another command is not allowed', () => {
  const engine = new PolicyEngine([
    user({ servers: [{ package: '@modelcontextprotocol/server-filesystem@2026.8.31', trusted: true }] }),
  ]);
  const good = engine.decideServer(
    serverIdentity(
      stdio('filesystem', 'npx', ['-y', '@modelcontextprotocol/server-filesystem@2026.8.31', '/x']),
    ),
  );
  assert.deepEqual([good.action, good.action === 'allow' && good.trusted], ['allow', true]);
  assert.equal(
    engine.decideServer(serverIdentity(stdio('filesystem', 'node', ['/tmp/evil.js']))).action,
    'unlisted',
  );
  assert.equal(
    engine.decideServer(
      serverIdentity(stdio('filesystem', 'npx', ['-y', '@modelcontextprotocol/server-filesystem@9.9.9'])),
    ).action,
    'unlisted',
  );
  const denied = new PolicyEngine([
    managed({ servers: [{ action: 'deny', package: '@evil/*' }] }),
    user({ servers: [{ package: '**' }] }),
  ]);
  assert.equal(denied.decideServer(serverIdentity(stdio('x', 'npx', ['@evil/server@1.0.0']))).action, 'deny');
});

test('a server rule needs an identity, never a name alone', () => {
  assert.throws(() => doc({ servers: [{ action: 'allow' }] }), /a name alone never grants anything/);
});

test('approval timeout: the lowest any source sets; 120 s by default', () => {
  assert.equal(new PolicyEngine([user({})]).approvalTimeoutMs, 120_000);
  assert.equal(
    new PolicyEngine([user({ approvalTimeoutSeconds: 60 }), managed({ approvalTimeoutSeconds: 30 })])
      .approvalTimeoutMs,
    30_000,
  );
});

test('classes of tools by annotations: unannotated tools count as destructive; allow by class needs a trusted server', () => {
  const engine = new PolicyEngine([
    managed({
      rules: [{ tool: '*', annotations: { destructiveHint: true }, action: 'ask', remember: 'never' }],
    }),
    user({
      rules: [
        { tool: '*', annotations: { readOnlyHint: true }, action: 'allow' },
        { tool: '*', action: 'allow' },
      ],
    }),
  ]);
  const destructive = engine.decideTool(q({ tool: 'delete', annotations: { destructiveHint: true } }));
  assert.equal(destructive.action, 'ask');
  assert.match(destructive.by.text, /annotated destructiveHint: true/);
  // No annotations at all: MCP's default destructiveHint is true, so it is in the class.
  assert.equal(engine.decideTool(q({ tool: 'mystery' })).action, 'ask');
  // Explicitly not destructive: out of the class, the user's allow applies.
  assert.equal(
    engine.decideTool(q({ tool: 'append', annotations: { destructiveHint: false } })).action,
    'allow',
  );

  const byClass = new PolicyEngine([
    user({
      rules: [{ tool: '*', annotations: { readOnlyHint: true, destructiveHint: false }, action: 'allow' }],
    }),
  ]);
  const readOnly = { readOnlyHint: true, destructiveHint: false };
  assert.equal(byClass.decideTool(q({ tool: 'read', annotations: readOnly, trusted: true })).action, 'allow');
  assert.equal(
    byClass.decideTool(q({ tool: 'read', annotations: readOnly, trusted: false })).action,
    'ask',
    "an untrusted server's annotations never select it for an allow",
  );
});
