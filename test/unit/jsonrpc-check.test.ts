/**
 * The endpoint's one structural JSON-RPC check (bridge/jsonrpc-check.ts) accepts exactly
 * what the MCP SDK's JSONRPCMessageSchema (zod, `@modelcontextprotocol/core`) accepts, and names the same kind: checked on
 * arbitrary JSON and on messages one mutation away from valid (fast-check).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { JSONRPCMessageSchema } from '@modelcontextprotocol/core';
import { isJSONRPCNotification, isJSONRPCRequest } from '@modelcontextprotocol/server';
import { jsonRpcKindOf } from '../../main/core/bridge/jsonrpc-check.ts';

const sdkKind = (value: unknown) => {
  if (!JSONRPCMessageSchema.safeParse(value).success) return undefined;
  if (isJSONRPCRequest(value)) return 'request';
  if (isJSONRPCNotification(value)) return 'notification';
  return 'response';
};

/** Any JSON value of the shapes a member takes, wrong types included. */
const anyValue = fc.oneof(
  fc.constantFrom<unknown>(null, true, '', '2.0', 0, -0, 1, 1.5, 2 ** 53, -(2 ** 53), [], {}),
  fc.integer(),
  fc.maxSafeInteger(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.string({ maxLength: 6 }),
  fc.jsonValue({ maxDepth: 2 }),
);

const meta = fc.oneof(
  anyValue,
  fc.record(
    {
      progressToken: anyValue,
      'io.modelcontextprotocol/related-task': fc.oneof(
        anyValue,
        fc.record({ taskId: anyValue }, { requiredKeys: [] }),
      ),
      other: anyValue,
    },
    { requiredKeys: [] },
  ),
);
const paramsLike = fc.oneof(anyValue, fc.record({ _meta: meta, name: anyValue }, { requiredKeys: [] }));

/** Objects with any subset of the JSON-RPC members, each of any value. */
const nearMessage = fc.record(
  {
    jsonrpc: fc.oneof(fc.constant('2.0'), anyValue),
    id: fc.oneof(fc.integer(), fc.string({ maxLength: 4 }), anyValue),
    method: fc.oneof(fc.constantFrom('ping', 'tools/call', 'notifications/progress'), anyValue),
    params: paramsLike,
    result: paramsLike,
    error: fc.oneof(
      anyValue,
      fc.record(
        { code: fc.oneof(fc.integer(), anyValue), message: anyValue, data: anyValue },
        { requiredKeys: [] },
      ),
    ),
    extra: anyValue,
  },
  { requiredKeys: [] },
);

const id = fc.oneof(fc.integer(), fc.maxSafeInteger(), fc.string({ maxLength: 4 }));
const validMeta = fc.record(
  {
    progressToken: id,
    'io.modelcontextprotocol/related-task': fc.record({ taskId: fc.string({ maxLength: 4 }) }),
    other: anyValue,
  },
  { requiredKeys: [] },
);
const validParams = fc.record({ _meta: validMeta, name: anyValue }, { requiredKeys: [] });

/** A valid message of each kind. */
const validMessage: fc.Arbitrary<Record<string, unknown>> = fc.oneof(
  fc.record(
    { jsonrpc: fc.constant('2.0'), id, method: fc.string({ maxLength: 8 }), params: validParams },
    { requiredKeys: ['jsonrpc', 'id', 'method'] },
  ),
  fc.record(
    { jsonrpc: fc.constant('2.0'), method: fc.string({ maxLength: 8 }), params: validParams },
    { requiredKeys: ['jsonrpc', 'method'] },
  ),
  fc.record({ jsonrpc: fc.constant('2.0'), id, result: validParams }),
  fc.record(
    {
      jsonrpc: fc.constant('2.0'),
      id,
      error: fc.record(
        { code: fc.integer(), message: fc.string({ maxLength: 6 }), data: anyValue, more: anyValue },
        { requiredKeys: ['code', 'message'] },
      ),
    },
    { requiredKeys: ['jsonrpc', 'error'] },
  ),
);

const KEYS = ['jsonrpc', 'id', 'method', 'params', 'result', 'error', 'extra'];

/** A valid message, or one mutation away from it: a member dropped, or set to any value (nested too). */
const mutated = fc
  .tuple(
    validMessage,
    fc.option(
      fc.record({
        path: fc.oneof(
          fc.constantFrom(...KEYS).map((k) => [k]),
          fc.constantFrom(
            ['params', '_meta'],
            ['params', '_meta', 'progressToken'],
            ['params', '_meta', 'io.modelcontextprotocol/related-task'],
            ['result', '_meta'],
            ['result', '_meta', 'progressToken'],
            ['result', '_meta', 'io.modelcontextprotocol/related-task'],
            ['error', 'code'],
            ['error', 'message'],
          ),
        ),
        drop: fc.boolean(),
        value: anyValue,
      }),
      { nil: undefined },
    ),
  )
  .map(([message, mutation]) => {
    const copy = JSON.parse(JSON.stringify(message)) as Record<string, unknown>;
    if (!mutation) return copy;
    let target: Record<string, unknown> | undefined = copy;
    for (const key of mutation.path.slice(0, -1)) {
      const next: unknown = target?.[key];
      target = typeof next === 'object' && next !== null ? (next as Record<string, unknown>) : undefined;
    }
    const last = mutation.path.at(-1)!;
    if (target && mutation.drop) delete target[last];
    else if (target) target[last] = mutation.value;
    return copy;
  });

test('jsonRpcKindOf agrees with the SDK schema on arbitrary JSON, valid messages and messages one mutation away', () => {
  fc.assert(
    fc.property(fc.oneof(mutated, mutated, nearMessage, fc.jsonValue(), anyValue), (value) => {
      // As it arrives: parsed from JSON text (no undefined members, -0 kept).
      const parsed: unknown = JSON.parse(JSON.stringify(value) ?? 'null');
      assert.equal(jsonRpcKindOf(parsed), sdkKind(parsed), JSON.stringify(parsed));
    }),
    { numRuns: 20_000 },
  );
});

test('the fixed cases: each kind, and what the schema refuses', () => {
  const cases: [unknown, string | undefined][] = [
    [{ jsonrpc: '2.0', id: 1, method: 'ping' }, 'request'],
    [{ jsonrpc: '2.0', id: '', method: 'x', params: { _meta: { progressToken: 'p' } } }, 'request'],
    [{ jsonrpc: '2.0', method: 'notifications/initialized' }, 'notification'],
    [{ jsonrpc: '2.0', id: 1, result: {} }, 'response'],
    // A result's _meta is checked for being an object only: request keys are not result keys.
    [{ jsonrpc: '2.0', id: 0, result: { _meta: { 'io.modelcontextprotocol/related-task': 0 } } }, 'response'],
    [{ jsonrpc: '2.0', id: 0, result: { _meta: { progressToken: {} } } }, 'response'],
    [{ jsonrpc: '2.0', id: 0, result: { _meta: [] } }, undefined],
    [
      {
        jsonrpc: '2.0',
        id: 0,
        method: 'x',
        params: { _meta: { 'io.modelcontextprotocol/related-task': 0 } },
      },
      undefined,
    ],
    [{ jsonrpc: '2.0', error: { code: -32600, message: 'x', data: null } }, 'response'],
    [{ jsonrpc: '2.0', id: null, method: 'ping' }, undefined],
    [{ jsonrpc: '2.0', id: 1.5, method: 'ping' }, undefined],
    [{ jsonrpc: '2.0', id: 2 ** 53, method: 'ping' }, undefined],
    [{ jsonrpc: '2.0', id: 1, method: 'ping', params: [] }, undefined],
    [{ jsonrpc: '2.0', id: 1, method: 'ping', extra: 1 }, undefined],
    [{ jsonrpc: '2.0', id: 1, result: {}, error: { code: 1, message: '' } }, undefined],
    [{ jsonrpc: '2.0', id: null, error: { code: 1, message: '' } }, undefined],
    [{ jsonrpc: '2.0', method: 'x', params: { _meta: { progressToken: 1.5 } } }, undefined],
    [{ jsonrpc: '1.0', id: 1, method: 'ping' }, undefined],
    [[{ jsonrpc: '2.0', id: 1, method: 'ping' }], undefined],
    [null, undefined],
  ];
  for (const [value, kind] of cases) {
    assert.equal(jsonRpcKindOf(value), kind, JSON.stringify(value));
    assert.equal(sdkKind(value), kind, `the SDK agrees: ${JSON.stringify(value)}`);
  }
});
