/**
 * When a warm upstream may answer a session's initialize (bridge/warm-handshake.ts): the same
 * params in everything but clientInfo, whatever the key order; any other difference refuses.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { sameHandshake, type InitializeParams } from '../../main/core/bridge/warm-handshake.ts';

const clientInfo = fc.record({ name: fc.string(), version: fc.string() });
const params: fc.Arbitrary<InitializeParams> = fc.record({
  protocolVersion: fc.constantFrom('2025-11-25', '2025-06-18', '2025-03-26'),
  capabilities: fc.dictionary(
    fc.constantFrom('sampling', 'roots', 'elicitation', 'tasks', 'x-ext'),
    fc.jsonValue(),
  ),
  clientInfo,
});

/** The same value with every object's keys in reverse order. */
function reordered(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(reordered);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value)
      .reverse()
      .map(([k, v]) => [k, reordered(v)]),
  );
}

test('params that differ only in clientInfo and key order match', () => {
  fc.assert(
    fc.property(params, clientInfo, (warm, other) => {
      const session = { ...(reordered(warm) as InitializeParams), clientInfo: other };
      assert.equal(sameHandshake(warm, session), true);
    }),
  );
});

test('another protocolVersion, other capabilities or any other param does not match', () => {
  fc.assert(
    fc.property(
      params,
      params,
      fc.option(fc.record({ progressToken: fc.string() }), { nil: undefined }),
      (warm, session, meta) => {
        const withMeta = meta ? { ...session, _meta: meta } : session;
        const differs =
          warm.protocolVersion !== session.protocolVersion ||
          JSON.stringify(sortKeys(warm.capabilities)) !== JSON.stringify(sortKeys(session.capabilities)) ||
          meta !== undefined;
        assert.equal(sameHandshake(warm, withMeta), !differs);
      },
    ),
  );
});

test('a capability added or removed is another handshake', () => {
  const base: InitializeParams = {
    protocolVersion: '2025-11-25',
    capabilities: { roots: { listChanged: true } },
    clientInfo: { name: 'a', version: '1' },
  };
  assert.equal(
    sameHandshake(base, { ...base, capabilities: { roots: { listChanged: true }, sampling: {} } }),
    false,
  );
  assert.equal(sameHandshake(base, { ...base, capabilities: {} }), false);
  assert.equal(sameHandshake(base, { ...base, capabilities: { roots: { listChanged: false } } }), false);
});

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.keys(value)
      .sort()
      .map((k) => [k, sortKeys((value as Record<string, unknown>)[k])]),
  );
}
