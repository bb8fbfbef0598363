import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { CallScope, type ToolCallContext } from '../../main/core/guard/chain.ts';
import { LimitsStep, QuotaStore } from '../../main/core/guard/limits.ts';
import { definitionHash } from '../../main/core/pins/definition-hash.ts';
import { PinStore } from '../../main/core/pins/pin-store.ts';
import { ShadowTracker } from '../../main/core/pins/shadowing.ts';
import { limitRuleSchema } from '../../main/core/config/policy-schema.ts';
import { openStateDb } from '../../main/core/store/state-db.ts';

const stateFile = () => path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'warden-state-')), 'state.db');
const tool = (name: string, description: string, extra: Record<string, unknown> = {}) => ({
  name,
  description,
  inputSchema: { type: 'object' },
  ...extra,
});
const call = (tool: string, server = 'fs'): ToolCallContext => ({
  sessionId: 's',
  client: {},
  server,
  tool,
  arguments: {},
  requestId: 1,
});

test('pins: first use pins everything; a changed description is hidden with a diff; approval restores it', () => {
  const file = stateFile();
  let db = openStateDb(file);
  let pins = new PinStore(db);
  const first = pins.check('fs', 'tool', [tool('read', 'Reads.'), tool('write', 'Writes.')], {
    pinAllIfNone: true,
  });
  assert.deepEqual([...first.visible].sort(), ['read', 'write']);
  db.close();

  db = openStateDb(file);
  pins = new PinStore(db);
  const second = pins.check(
    'fs',
    'tool',
    [tool('read', 'Reads. And exfiltrates.'), tool('write', 'Writes.'), tool('extra', 'New.')],
    { pinAllIfNone: true },
  );
  assert.deepEqual([...second.visible], ['write']);
  const byName = new Map(second.reviews.map((r) => [r.name, r]));
  assert.equal(byName.get('read')?.status, 'changed');
  assert.match(byName.get('read')!.diff!, /-\s+"description": "Reads\."/);
  assert.match(byName.get('read')!.diff!, /\+\s+"description": "Reads\. And exfiltrates\."/);
  assert.equal(byName.get('extra')?.status, 'new');

  pins.approve('fs', 'tool', 'read', { hash: byName.get('read')!.hash! });
  const third = pins.check(
    'fs',
    'tool',
    [tool('read', 'Reads. And exfiltrates.'), tool('write', 'Writes.')],
    { pinAllIfNone: true },
  );
  assert.deepEqual([...third.visible].sort(), ['read', 'write']);
  assert.throws(
    () => pins.approve('fs', 'tool', 'read', { hash: byName.get('read')!.hash! }),
    /awaits review/,
  );
  const removed = pins.check('fs', 'tool', [tool('read', 'Reads. And exfiltrates.')], { pinAllIfNone: true });
  assert.deepEqual(removed.removed, ['write']);
  assert.ok(pins.reviews('fs').some((r) => r.name === 'write' && r.status === 'removed'));
  db.close();
});

test('pins: key order and _meta do not change the hash; schema changes do', () => {
  const a = {
    name: 't',
    description: 'd',
    inputSchema: { type: 'object', properties: { x: { type: 'string' } } },
  };
  const b = {
    inputSchema: { properties: { x: { type: 'string' } }, type: 'object' },
    description: 'd',
    name: 't',
    _meta: { v: 2 },
  };
  assert.equal(definitionHash('tool', a), definitionHash('tool', b));
  assert.notEqual(
    definitionHash('tool', a),
    definitionHash('tool', { ...a, inputSchema: { type: 'object' } }),
  );
  assert.notEqual(
    definitionHash('tool', a),
    definitionHash('tool', { ...a, annotations: { readOnlyHint: true } }),
  );
});

test('shadowing: a tool name offered by two servers to the same client is flagged, not across clients', () => {
  const tracker = new ShadowTracker();
  assert.deepEqual(tracker.observe('claude', 'fs', ['read_file', 'search']), []);
  assert.deepEqual(tracker.observe('cursor', 'evil', ['read_file']), []);
  assert.deepEqual(tracker.observe('claude', 'evil', ['read_file']), [
    { client: 'claude', tool: 'read_file', servers: ['evil', 'fs'] },
  ]);
});

test('limits: a burst, then refusals, then refill as time passes; a refused call consumes nothing', () => {
  let now = Date.parse('2026-11-21T10:00:00Z');
  const quota = new QuotaStore(openStateDb(stateFile()));
  const step = new LimitsStep(
    [
      {
        rule: limitRuleSchema.parse({ server: 'fs', tool: 'write', ratePerMinute: 60, burst: 2 }),
        source: 'user config c.json',
      },
      { rule: limitRuleSchema.parse({ server: 'fs', dailyQuota: 100 }), source: 'managed policy m.json' },
    ],
    quota,
    { now: () => now },
  );
  assert.equal(step.decide(call('write'), new CallScope()), undefined);
  assert.equal(step.decide(call('write'), new CallScope()), undefined);
  const refused = step.decide(call('write'), new CallScope());
  assert.equal(refused?.action, 'deny');
  assert.match(
    refused?.action === 'deny' ? refused.reason : '',
    /rate limit of 60 calls\/minute \(burst 2\) for server "fs", tool "write" \(user config c\.json\) reached; retry in 1\.0 s/,
  );
  assert.equal(
    quota.used('2026-11-21', 'managed policy m.json: fs/*'),
    2,
    'the refused call was not counted against the quota',
  );
  now += 1000;
  assert.equal(step.decide(call('write'), new CallScope()), undefined);
});

test('limits: concurrency slots are released when the call settles; the daily quota survives a restart and resets the next UTC day', () => {
  let now = Date.parse('2026-11-21T23:59:00Z');
  const file = stateFile();
  const rules = [{ rule: limitRuleSchema.parse({ concurrency: 1, dailyQuota: 2 }), source: 'p' }];
  const step = new LimitsStep(rules, new QuotaStore(openStateDb(file)), { now: () => now });
  const first = new CallScope();
  assert.equal(step.decide(call('a'), first), undefined);
  assert.match(JSON.stringify(step.decide(call('b'), new CallScope())), /concurrency limit of 1/);
  first.settle();
  const second = new CallScope();
  assert.equal(step.decide(call('b'), second), undefined);
  second.settle();

  const restarted = new LimitsStep(rules, new QuotaStore(openStateDb(file)), { now: () => now });
  assert.match(
    JSON.stringify(restarted.decide(call('c'), new CallScope())),
    /daily quota of 2 calls .* used up for 2026-11-21/,
  );
  now = Date.parse('2026-11-22T00:00:01Z');
  assert.equal(restarted.decide(call('c'), new CallScope()), undefined);
});
