import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import {
  CallScope,
  GuardChain,
  type GuardDecision,
  type GuardStep,
  type ToolCallContext,
} from '../../main/core/guard/chain.ts';
import { LimitsStep, QuotaStore } from '../../main/core/guard/limits.ts';
import type { SourcedLimit } from '../../main/core/policy/engine.ts';
import { limitRuleSchema } from '../../main/core/config/policy-schema.ts';
import { openStateDb } from '../../main/core/store/state-db.ts';

const USER = 'user config /x/config.json';
const MANAGED = 'managed policy /etc/mcp-warden/managed-policy.json';
const ORG = 'org policy https://example.com/policy.jws';

const stateFile = () => path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'limits-')), 'state.db');

const limit = (source: string, rule: Record<string, unknown>): SourcedLimit => ({
  rule: limitRuleSchema.parse(rule),
  source,
});

const call = (server: string, tool: string): ToolCallContext => ({
  sessionId: 's1',
  client: { name: 'test' },
  server,
  tool,
  arguments: {},
  requestId: 1,
});

/** A fake clock starting at `iso`. */
function clock(iso: string) {
  let now = Date.parse(iso);
  return {
    now: () => now,
    advance: (ms: number) => {
      now += ms;
    },
    set: (to: string) => {
      now = Date.parse(to);
    },
  };
}

function setup(limits: SourcedLimit[], iso = '2026-03-01T10:00:00Z', file = stateFile()) {
  const time = clock(iso);
  const quota = new QuotaStore(openStateDb(file));
  const step = new LimitsStep(limits, quota, { now: time.now });
  /** Decides one call with a fresh scope; returns the refusal reason, or undefined when it passes. */
  const attempt = (server: string, tool: string, scope = new CallScope()) =>
    reasonOf(step.decide(call(server, tool), scope));
  return { time, quota, step, attempt, file };
}

function reasonOf(
  decision: GuardDecision | undefined | Promise<GuardDecision | undefined>,
): string | undefined {
  assert.ok(!(decision instanceof Promise), 'the limits step decides synchronously');
  if (decision === undefined) return undefined;
  assert.equal(decision.action, 'deny');
  assert.equal(decision.by, 'limits');
  return decision.action === 'deny' ? decision.reason : undefined;
}

test('rate: the burst passes, the next call is refused with when to retry, and time refills the bucket', () => {
  const { time, attempt } = setup([
    limit(USER, { server: 'fs', tool: 'write_file', ratePerMinute: 10, burst: 3 }),
  ]);
  for (let i = 0; i < 3; i++)
    assert.equal(attempt('fs', 'write_file'), undefined, `call ${i + 1} of the burst`);
  assert.equal(
    attempt('fs', 'write_file'),
    `rate limit of 10 calls/minute (burst 3) for server "fs", tool "write_file" (${USER}) reached; retry in 6.0 s`,
  );

  time.advance(1800); // 0.3 of a token
  assert.equal(
    attempt('fs', 'write_file'),
    `rate limit of 10 calls/minute (burst 3) for server "fs", tool "write_file" (${USER}) reached; retry in 4.2 s`,
  );
  time.advance(4200);
  assert.equal(attempt('fs', 'write_file'), undefined, 'one token after 6 s');
  assert.match(attempt('fs', 'write_file') ?? '', /retry in 6\.0 s$/);

  time.advance(10 * 60_000); // long idle: the bucket fills to the burst, no further
  for (let i = 0; i < 3; i++) assert.equal(attempt('fs', 'write_file'), undefined);
  assert.match(attempt('fs', 'write_file') ?? '', /^rate limit of 10 calls\/minute/);
});

test('rate: without a burst the bucket holds ceil(ratePerMinute) calls, at least one', () => {
  const { attempt } = setup([
    limit(USER, { server: 'a', ratePerMinute: 2.5 }),
    limit(USER, { server: 'b', ratePerMinute: 0.5 }),
  ]);
  for (let i = 0; i < 3; i++) assert.equal(attempt('a', 't'), undefined);
  assert.match(
    attempt('a', 't') ?? '',
    /rate limit of 2\.5 calls\/minute \(burst 3\) for server "a", tool "\*"/,
  );
  assert.equal(attempt('b', 't'), undefined);
  assert.match(attempt('b', 't') ?? '', /rate limit of 0\.5 calls\/minute \(burst 1\) .* retry in 120\.0 s$/);
});

test('rate: a clock that goes back takes no tokens away', () => {
  const { time, attempt } = setup([limit(USER, { server: 'fs', ratePerMinute: 60, burst: 2 })]);
  assert.equal(attempt('fs', 't'), undefined);
  time.advance(-3_600_000);
  assert.equal(attempt('fs', 't'), undefined);
  assert.match(attempt('fs', 't') ?? '', /retry in 1\.0 s$/);
});

test('scopes: a rule for all tools of a server is shared by them; a rule for one tool counts it alone', () => {
  const perServer = setup([limit(USER, { server: 'fs', tool: '*', ratePerMinute: 60, burst: 2 })]);
  assert.equal(perServer.attempt('fs', 'read_file'), undefined);
  assert.equal(perServer.attempt('fs', 'write_file'), undefined);
  assert.match(perServer.attempt('fs', 'list_directory') ?? '', /for server "fs", tool "\*"/);
  assert.equal(perServer.attempt('git', 'read_file'), undefined, 'another server is not limited');

  const perTool = setup([limit(USER, { server: 'fs', tool: 'write_file', ratePerMinute: 60, burst: 1 })]);
  assert.equal(perTool.attempt('fs', 'write_file'), undefined);
  assert.match(perTool.attempt('fs', 'write_file') ?? '', /tool "write_file"/);
  for (let i = 0; i < 5; i++) assert.equal(perTool.attempt('fs', 'read_file'), undefined, 'other tools pass');

  const globs = setup([limit(USER, { server: 'fs*', tool: 'write_*', concurrency: 1 })]);
  assert.equal(globs.attempt('fs-home', 'write_file', new CallScope()), undefined);
  assert.match(
    globs.attempt('fs-work', 'write_note') ?? '',
    /concurrency limit .* for server "fs\*", tool "write_\*"/,
  );
  assert.equal(globs.attempt('fs-work', 'read_file'), undefined);
});

test('concurrency: calls in flight are capped and a slot comes back when the call settles', () => {
  const { attempt } = setup([limit(MANAGED, { server: 'fs', concurrency: 2 })]);
  const first = new CallScope();
  const second = new CallScope();
  assert.equal(attempt('fs', 'read_file', first), undefined);
  assert.equal(attempt('fs', 'write_file', second), undefined);
  assert.equal(
    attempt('fs', 'read_file'),
    `concurrency limit of 2 calls in flight for server "fs", tool "*" (${MANAGED}) reached; retry when one of them ends`,
  );

  first.settle();
  first.settle(); // settling twice gives back one slot only
  const third = new CallScope();
  assert.equal(attempt('fs', 'read_file', third), undefined);
  assert.match(attempt('fs', 'read_file') ?? '', /^concurrency limit of 2 calls in flight/);
  second.settle();
  third.settle();
  assert.equal(attempt('fs', 'a', new CallScope()), undefined);
  assert.equal(attempt('fs', 'b', new CallScope()), undefined);
});

test('concurrency: a call a later step refuses gives its slot back at once', async () => {
  const { step } = setup([limit(USER, { concurrency: 1 })]);
  const refuseAll: GuardStep = {
    name: 'refuse',
    decide: () => ({ action: 'deny', by: 'refuse', reason: 'no' }),
  };
  const chain = new GuardChain([step, refuseAll]);
  for (let i = 0; i < 3; i++) {
    assert.deepEqual(await chain.decide(call('fs', 't')), { action: 'deny', by: 'refuse', reason: 'no' });
  }
});

test('daily quota: survives a restart on the same state file and resets on the next UTC day', () => {
  const rules = [limit(USER, { server: 'fs', dailyQuota: 3 })];
  const first = setup(rules, '2026-03-01T23:58:00Z');
  for (let i = 0; i < 3; i++) assert.equal(first.attempt('fs', 'read_file'), undefined);
  assert.equal(
    first.attempt('fs', 'read_file'),
    `daily quota of 3 calls for server "fs", tool "*" (${USER}) used up for 2026-03-01 (UTC); it resets at midnight UTC, in 2 min`,
  );
  assert.equal(first.quota.used('2026-03-01', `${USER}: fs/*`), 3, 'the refused call was not counted');

  // A restart, with a new managed rule ahead of it: the user rule keeps its count.
  const restarted = setup(
    [limit(MANAGED, { server: 'git', dailyQuota: 1 }), ...rules],
    '2026-03-01T23:59:30Z',
    first.file,
  );
  assert.match(
    restarted.attempt('fs', 'write_file') ?? '',
    /^daily quota of 3 calls .* used up for 2026-03-01/,
  );

  restarted.time.set('2026-03-02T00:00:00Z');
  for (let i = 0; i < 3; i++) {
    assert.equal(restarted.attempt('fs', 'read_file'), undefined, `new day, call ${i + 1}`);
  }
  assert.match(
    restarted.attempt('fs', 'read_file') ?? '',
    /used up for 2026-03-02 \(UTC\); it resets at midnight UTC, in 24 h$/,
  );
  assert.equal(restarted.quota.used('2026-03-01', `${USER}: fs/*`), 3);
  assert.equal(restarted.quota.used('2026-03-02', `${USER}: fs/*`), 3);
});

test('daily quota: the same glob pair twice in one source keeps two counts', () => {
  const { attempt, quota } = setup([
    limit(USER, { server: 'fs', dailyQuota: 5 }),
    limit(USER, { server: 'fs', dailyQuota: 2 }),
  ]);
  assert.equal(attempt('fs', 't'), undefined);
  assert.equal(attempt('fs', 't'), undefined);
  assert.match(attempt('fs', 't') ?? '', /daily quota of 2 calls/);
  assert.equal(quota.used('2026-03-01', `${USER}: fs/*`), 2);
  assert.equal(quota.used('2026-03-01', `${USER}: fs/* #2`), 2);
});

test('a refused call consumes nothing from the other limits that apply', () => {
  const { attempt, quota } = setup([
    limit(MANAGED, { server: 'fs', dailyQuota: 1000 }),
    limit(ORG, { server: 'fs', ratePerMinute: 60, burst: 5 }),
    limit(USER, { server: 'fs', tool: 'write_file', concurrency: 1 }),
  ]);
  const held = new CallScope();
  assert.equal(attempt('fs', 'write_file', held), undefined);
  for (let i = 0; i < 10; i++) {
    assert.match(attempt('fs', 'write_file') ?? '', /^concurrency limit of 1 call in flight .*\(user config/);
  }
  assert.equal(quota.used('2026-03-01', `${MANAGED}: fs/*`), 1, 'no quota was counted for the refusals');
  for (let i = 0; i < 4; i++)
    assert.equal(attempt('fs', 'read_file'), undefined, 'the bucket still has 4 tokens');
  assert.match(
    attempt('fs', 'read_file') ?? '',
    /^rate limit of 60 calls\/minute \(burst 5\) .*\(org policy/,
  );
  assert.equal(quota.used('2026-03-01', `${MANAGED}: fs/*`), 5);
});

test('50 concurrent calls against a rate of 60/minute, burst 5, concurrency 3', async () => {
  const { step, time } = setup([limit(USER, { server: 'fs', ratePerMinute: 60, burst: 5, concurrency: 3 })]);
  const chain = new GuardChain([step]);
  const scopes = Array.from({ length: 50 }, () => new CallScope());
  const decisions = await Promise.all(scopes.map((scope, i) => chain.decide(call('fs', `tool_${i}`), scope)));
  assert.equal(decisions.filter((d) => d.action === 'allow').length, 3, 'the cap admits 3 while none ended');
  assert.deepEqual(
    decisions.slice(0, 3).map((d) => d.action),
    ['allow', 'allow', 'allow'],
    'the first three in arrival order',
  );
  for (const d of decisions.slice(3)) {
    assert.match(d.action === 'deny' ? d.reason : '', /^concurrency limit of 3 calls in flight/);
  }

  // The three end; two tokens are left in the bucket.
  for (const scope of scopes) scope.settle();
  const again = await Promise.all(Array.from({ length: 50 }, () => chain.decide(call('fs', 't'))));
  assert.equal(again.filter((d) => d.action === 'allow').length, 2);
  assert.match(
    again[2]?.action === 'deny' ? again[2].reason : '',
    /^rate limit of 60 calls\/minute \(burst 5\) for server "fs", tool "\*" \(user config \/x\/config\.json\) reached; retry in 1\.0 s$/,
  );

  // Calls that end as soon as they pass: the burst, then one a second.
  time.advance(60_000);
  let passed = 0;
  for (let i = 0; i < 50; i++) {
    const scope = new CallScope();
    if ((await chain.decide(call('fs', 't'), scope)).action === 'allow') passed += 1;
    scope.settle();
  }
  assert.equal(passed, 5);
  time.advance(1000);
  assert.equal((await chain.decide(call('fs', 't'))).action, 'allow');
});

test('calls no rule matches pass and touch nothing', () => {
  const { attempt, quota } = setup([
    limit(USER, { server: 'fs', dailyQuota: 1, concurrency: 1, ratePerMinute: 1 }),
  ]);
  for (let i = 0; i < 5; i++) assert.equal(attempt('git', 'log', new CallScope()), undefined);
  assert.equal(quota.used('2026-03-01', `${USER}: fs/*`), 0);
  assert.equal(attempt('fs', 't', new CallScope()), undefined);
});

test('QuotaStore: increment returns the new count; release gives one back and never goes below zero', () => {
  const quota = new QuotaStore(openStateDb(stateFile()));
  assert.equal(quota.used('2026-03-01', 'x'), 0);
  assert.equal(quota.increment('2026-03-01', 'x'), 1);
  assert.equal(quota.increment('2026-03-01', 'x'), 2);
  assert.deepEqual(quota.incrementAll('2026-03-01', ['x', 'y']), [3, 1]);
  assert.equal(quota.used('2026-03-02', 'x'), 0, 'days are separate');
  quota.release('2026-03-01', 'y');
  quota.release('2026-03-01', 'y');
  quota.release('2026-03-01', 'nothing');
  assert.equal(quota.used('2026-03-01', 'y'), 0);
  assert.equal(quota.used('2026-03-01', 'x'), 3);
});
