/**
 * The connect shim asks V8 for a major GC every SWEEP_EVERY_MESSAGES messages (old-space-sweep.ts),
 * so the strings its JSON parsing leaves in old space do not pile up over a long session. The
 * counter asks for one GC per `every` messages and never two at once; V8's own `gc` is obtained
 * without being left in the global scope, and a real one collects an object nothing holds.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { majorGc, oldSpaceSweeper, type MajorGc } from '../../main/shim/old-space-sweep.ts';

test('asks for one major GC per `every` messages, async, and none while one runs', async () => {
  const asked: Parameters<MajorGc>[0][] = [];
  let finish: () => void = () => {};
  const sweep = oldSpaceSweeper(3, (options) => {
    asked.push(options);
    return new Promise<void>((resolve) => (finish = resolve));
  });
  assert.equal(sweep(), undefined);
  assert.equal(sweep(), undefined);
  const first = sweep();
  assert.ok(first instanceof Promise);
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(asked, [{ type: 'major', execution: 'async' }]);
  // Three more messages while that GC runs: none asked for, but they count towards the next.
  for (let i = 0; i < 3; i++) assert.equal(sweep(), undefined);
  assert.equal(asked.length, 1);
  finish();
  await first;
  const second = sweep();
  assert.ok(second instanceof Promise);
  await new Promise((resolve) => setImmediate(resolve));
  finish();
  await second;
  assert.equal(asked.length, 2);
  for (let i = 0; i < 2; i++) assert.equal(sweep(), undefined);
  assert.equal(asked.length, 2);
});

test('a GC that throws or rejects is swallowed, and the next one is still asked for', async () => {
  let calls = 0;
  const sweep = oldSpaceSweeper(1, () => {
    calls++;
    if (calls === 1) throw new Error('no');
    return Promise.reject(new Error('no'));
  });
  await sweep();
  await sweep();
  await sweep();
  assert.equal(calls, 3);
});

test('without a gc function the counter does nothing', () => {
  const sweep = oldSpaceSweeper(1, null);
  for (let i = 0; i < 5; i++) assert.equal(sweep(), undefined);
});

test("V8's gc is obtained without exposing gc to this or later contexts, and by default collects", async () => {
  const gc = majorGc();
  assert.equal(typeof gc, 'function');
  assert.equal(typeof (globalThis as { gc?: unknown }).gc, 'undefined');
  const { runInNewContext } = await import('node:vm');
  assert.equal(runInNewContext('typeof gc'), 'undefined');
  // The default: V8's gc, got when the first GC is due.
  const sweep = oldSpaceSweeper(1);
  // Made in a function of its own, so no binding here holds the object.
  const ref = ((): WeakRef<object> => new WeakRef({ payload: 'x'.repeat(64) }))();
  // A WeakRef's target is kept until the job that made it ends: collect in a later one.
  await new Promise((resolve) => setImmediate(resolve));
  await sweep();
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(ref.deref(), undefined);
});
