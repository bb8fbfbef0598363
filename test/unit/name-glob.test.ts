/**
 * Policy globs over server and tool names: names are text, not paths, so a rule for "*" covers
 * "a/b" and ".x"; remembered approvals are exact. Property-based against picomatch where the two
 * must agree (names without "/" or a leading "."), and against the engine, the limits and the
 * tool lists where a miss would loosen a deny.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import fc from 'fast-check';
import picomatch from 'picomatch';
import type { ServerConfig } from '../../main/core/config/schema.ts';
import { serverNameProblem } from '../../main/core/config/server-name.ts';
import { CallScope } from '../../main/core/guard/chain.ts';
import { LimitsStep, QuotaStore } from '../../main/core/guard/limits.ts';
import { ToolLists } from '../../main/core/guard/tool-lists.ts';
import { PolicyEngine, type RememberedGrant } from '../../main/core/policy/engine.ts';
import { nameGlob } from '../../main/core/policy/name-glob.ts';
import { limitRuleSchema, policyDocumentSchema } from '../../main/core/config/policy-schema.ts';
import { openStateDb } from '../../main/core/store/state-db.ts';
import { anyName } from '../helpers/names.ts';

const validName = anyName.filter((n) => serverNameProblem(n) === undefined);

/** A glob that matches exactly `name`: every glob character escaped. */
const exactGlob = (name: string): string => name.replace(/[\\*?[\]{}!]/g, '\\$&');

test('for names without "/" or a leading ".", name globs agree with picomatch on *, ? and literals', () => {
  const letter = fc.constantFrom('a', 'b', '-', '_', 'ü');
  fc.assert(
    fc.property(
      fc.string({ unit: fc.oneof(letter, fc.constantFrom('*', '?')), minLength: 1, maxLength: 6 }),
      fc.string({ unit: letter, minLength: 1, maxLength: 6 }),
      (glob, name) => {
        assert.equal(nameGlob(glob)(name), picomatch(glob, { dot: true })(name), `${glob} vs ${name}`);
      },
    ),
    { numRuns: 2000 },
  );
});

test('"*" matches every valid name; an escaped name matches itself and nothing else', () => {
  const star = nameGlob('*');
  fc.assert(
    fc.property(validName, validName, (name, other) => {
      assert.ok(star(name), name);
      const exact = nameGlob(exactGlob(name));
      assert.ok(exact(name), `${exactGlob(name)} misses ${name}`);
      assert.equal(exact(other), other === name);
    }),
    { numRuns: 1000 },
  );
});

test('the syntax: sets, alternatives, escapes, negation; unbalanced brackets are literal', () => {
  const cases: [string, string, boolean][] = [
    ['*delete*', 'files/delete_all', true],
    ['write_*', 'write_file', true],
    ['?', '😀', true],
    ['?', 'ab', false],
    ['[a-c]x', 'bx', true],
    ['[!a-c]x', 'bx', false],
    ['[^a-c]x', 'dx', true],
    ['[]]', ']', true],
    ['[z-a]', '-', true],
    ['{read,write}_*', 'write_file', true],
    ['{read,write}_*', 'move_file', false],
    ['{a,{b,c}}', 'c', true],
    ['a\\*', 'a*', true],
    ['a\\*', 'ab', false],
    ['!read_*', 'write_file', true],
    ['!read_*', 'read_file', false],
    ['[a', '[a', true],
    ['{a,b', '{a,b', true],
    ['{a}', '{a}', true],
    ['@(a|b)', '@(a|b)', true],
    ['My Notes', 'My Notes', true],
    ['My Notes', 'my notes', false],
  ];
  for (const [glob, name, expected] of cases)
    assert.equal(nameGlob(glob)(name), expected, `${glob} on ${name}`);
});

const doc = (d: unknown) => policyDocumentSchema.parse(d);

test('a deny rule for every server and every "*delete*" tool covers any server name and tool name', () => {
  const engine = new PolicyEngine([
    {
      kind: 'managed',
      origin: '/etc/m.json',
      document: doc({ rules: [{ tool: '*delete*', action: 'deny' }] }),
    },
    {
      kind: 'user',
      origin: '/u.json',
      document: doc({ rules: [{ server: '*', tool: '*', action: 'allow' }] }),
    },
  ]);
  fc.assert(
    fc.property(validName, validName, validName, (server, before, afterPart) => {
      const ask = (tool: string) =>
        engine.decideTool({ server, tool, arguments: {}, trusted: false, remembered: [] }).action;
      assert.equal(ask(`${before}delete${afterPart}`), 'deny');
      assert.equal(ask(`files/delete_${afterPart}`), 'deny');
      if (!`${before}`.includes('delete')) assert.equal(ask(before), 'allow');
    }),
    { numRuns: 500, examples: [['a/b', '.x/', '/y']] },
  );
});

test('a remembered approval applies to exactly the server and tool approved, never as a glob', () => {
  const engine = new PolicyEngine([]);
  fc.assert(
    fc.property(validName, validName, validName, validName, (server, tool, otherServer, otherTool) => {
      const grant: RememberedGrant = { id: '1', server, tool, scope: 'always' };
      const decide = (s: string, t: string) =>
        engine.decideTool({ server: s, tool: t, arguments: {}, trusted: false, remembered: [grant] }).action;
      assert.equal(decide(server, tool), 'allow');
      if (otherServer !== server) assert.equal(decide(otherServer, tool), 'ask');
      if (otherTool !== tool) assert.equal(decide(server, otherTool), 'ask');
    }),
    {
      numRuns: 500,
      examples: [
        ['*', '*', 'github', 'delete_repo'],
        ['{a,b}', '?', 'a', 'x'],
      ],
    },
  );
});

test('limits for server "*" count calls of servers and tools whose names hold "/" or start with "."', () => {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'name-limits-')), 'state.db');
  const step = new LimitsStep(
    [
      {
        rule: limitRuleSchema.parse({ server: '*', tool: '*', concurrency: 1 }),
        source: 'user config /u.json',
      },
    ],
    new QuotaStore(openStateDb(file)),
  );
  const call = (server: string, tool: string) => ({
    sessionId: 's',
    client: {},
    server,
    tool,
    arguments: {},
    requestId: 1,
  });
  const first = new CallScope();
  assert.equal(step.decide(call('a/b', '.x'), first), undefined);
  const second = step.decide(call('c/d', 'e/f'), new CallScope());
  assert.equal(second?.action, 'deny');
  assert.match(second?.action === 'deny' ? second.reason : '', /concurrency limit of 1 call/);
  fs.rmSync(path.dirname(file), { recursive: true, force: true });
});

test('a tool list denying "*" hides tools named "a/b" and ".hidden"; an allow list sees them as text', () => {
  const server = (tools: ServerConfig['tools']): ServerConfig => ({
    kind: 'stdio',
    name: 'a/b',
    command: 'x',
    args: [],
    env: {},
    tools,
  });
  const denyAll = new ToolLists(server({ deny: ['*'] }), 'config.json');
  for (const tool of ['a/b', '.hidden', 'plain'])
    assert.match(denyAll.blockReason(tool) ?? '', /is on the deny list in config\.json/, tool);
  const allowDir = new ToolLists(server({ allow: ['files/*'], deny: ['*delete*'] }), 'config.json');
  assert.equal(allowDir.isVisible('files/read/all'), true);
  assert.equal(allowDir.isVisible('files/delete'), false);
  assert.equal(allowDir.isVisible('other'), false);
});
