/**
 * The line layer both ends of the local socket share (main/core/daemon/local-socket-lines.ts):
 * the hand-written JSON-RPC check agrees with the SDK's JSONRPCMessageSchema on arbitrary
 * values (the v2 schema main/ runs on, `@modelcontextprotocol/core`: v1's ResultSchema reuses its
 * request `_meta` schema, so it also types progressToken and the related task in a result's
 * `_meta`, which v2 leaves untyped), the line limit is the HTTP endpoint's, and the splitter honours a limit changed
 * between lines (the daemon's hello limit, then the message limit).
 */
import { jsonRpcKindOf } from '../../main/core/bridge/jsonrpc-check.ts';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { JSONRPCMessageSchema } from '@modelcontextprotocol/core';
import { LineSplitter, type Line } from '../../main/core/daemon/local-socket-lines.ts';

const idArb = fc.oneof(
  fc.string({ maxLength: 6 }),
  fc.integer(),
  fc.constantFrom(1.5, 2 ** 53, -(2 ** 53), 0, -0, null, true),
);
const metaArb = fc.oneof(
  fc.record(
    {
      progressToken: idArb,
      'io.modelcontextprotocol/related-task': fc.oneof(
        fc.record({ taskId: fc.oneof(fc.string(), fc.integer()) }),
        fc.jsonValue({ maxDepth: 1 }),
      ),
      other: fc.jsonValue({ maxDepth: 1 }),
    },
    { requiredKeys: [] },
  ),
  fc.jsonValue({ maxDepth: 1 }),
);
const objectArb = fc.oneof(
  fc.record({ _meta: metaArb, x: fc.jsonValue({ maxDepth: 1 }) }, { requiredKeys: [] }),
  fc.jsonValue({ maxDepth: 2 }),
);
/** Envelopes near and far from valid JSON-RPC: every key optional, values of every type. */
const envelopeArb = fc.record(
  {
    jsonrpc: fc.oneof(fc.constant('2.0'), fc.constant('2.0'), fc.jsonValue({ maxDepth: 0 })),
    id: idArb,
    method: fc.oneof(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 0 })),
    params: objectArb,
    result: objectArb,
    error: fc.oneof(
      fc.record(
        {
          code: fc.oneof(fc.integer(), fc.double(), fc.string()),
          message: fc.oneof(fc.string(), fc.integer()),
          data: fc.jsonValue({ maxDepth: 1 }),
        },
        { requiredKeys: [] },
      ),
      fc.jsonValue({ maxDepth: 1 }),
    ),
    extra: fc.jsonValue({ maxDepth: 0 }),
    __proto__: fc.jsonValue({ maxDepth: 0 }),
  },
  { requiredKeys: [] },
);

const goodId = fc.oneof(fc.string({ maxLength: 6 }), fc.integer());
const goodObject = fc.oneof(
  fc.constant({}),
  fc.record({ _meta: fc.record({ progressToken: goodId }, { requiredKeys: [] }), x: fc.string() }),
);
/** Valid messages of the four kinds, each sometimes with one field spoiled (from envelopeArb). */
const nearArb = fc
  .tuple(
    fc.oneof(
      fc.record(
        { jsonrpc: fc.constant('2.0'), id: goodId, method: fc.string(), params: goodObject },
        { requiredKeys: ['jsonrpc', 'id', 'method'] },
      ),
      fc.record(
        { jsonrpc: fc.constant('2.0'), method: fc.string(), params: goodObject },
        { requiredKeys: ['jsonrpc', 'method'] },
      ),
      fc.record({ jsonrpc: fc.constant('2.0'), id: goodId, result: goodObject }),
      fc.record(
        {
          jsonrpc: fc.constant('2.0'),
          id: goodId,
          error: fc.record({ code: fc.integer(), message: fc.string() }),
        },
        { requiredKeys: ['jsonrpc', 'error'] },
      ),
    ),
    fc.option(envelopeArb, { freq: 2 }),
  )
  .map(([message, spoil]) => {
    if (!spoil) return message;
    const [key] = Object.keys(spoil);
    return key === undefined ? message : { ...message, [key]: (spoil as Record<string, unknown>)[key] };
  });

test('the one JSON-RPC check (jsonRpcKindOf) takes exactly what the SDK schema takes (envelopes and any JSON value)', () => {
  fc.assert(
    fc.property(fc.oneof(nearArb, envelopeArb, fc.jsonValue({ maxDepth: 3 })), (value) => {
      // Through JSON, as a line is: JSON.parse makes "__proto__" an own property.
      const raw = JSON.parse(JSON.stringify(value)) as unknown;
      assert.equal(
        jsonRpcKindOf(raw) !== undefined,
        JSONRPCMessageSchema.safeParse(raw).success,
        JSON.stringify(raw),
      );
    }),
    { numRuns: 20_000 },
  );
  // The envelopes are near enough to valid for the property to say something about both answers.
  const valid = fc
    .sample(fc.oneof(nearArb, envelopeArb), 5000)
    .filter((v) => jsonRpcKindOf(JSON.parse(JSON.stringify(v)) as unknown) !== undefined).length;
  assert.ok(valid > 50 && valid < 4950, `valid envelopes in the sample: ${valid}`);
});

test('a limit changed between lines holds the next line to it; an oversized line is dropped as it arrives', () => {
  const lines: (string | { tooLong: number })[] = [];
  const splitter = new LineSplitter(8, (line: Line) => {
    lines.push(Buffer.isBuffer(line) ? line.toString() : line);
    if (lines.length === 1) splitter.limit = 20;
  });
  splitter.push(Buffer.from('hello\n0123456789abcdef\n'));
  splitter.push(Buffer.from('x'.repeat(15)));
  splitter.push(Buffer.from('y'.repeat(15)));
  splitter.push(Buffer.from('\nlast'));
  splitter.end();
  assert.deepEqual(lines, ['hello', '0123456789abcdef', { tooLong: 20 }, 'last']);
});
