/**
 * The connect shim notes which request each daemon line answers (so it can answer the rest if
 * the daemon goes away). answeredIdOf reads the id from the prefix of the daemon's responses
 * and parses any other line whole; on every JSON-RPC message JSON.stringify writes (members in
 * any order), and on every other line that does not begin as a response, it answers as parsing
 * the whole line does (fast-check); a response's size does not matter to it.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { jsonRpcKindOf } from '../../main/core/bridge/jsonrpc-check.ts';
import { answeredIdOf } from '../../main/shim/answered-id.ts';

/** What the shim did before: parse the whole line; a response is an object with no method and a string or number id. */
function parsedWhole(line: string): string | number | undefined {
  let raw: { id?: unknown; method?: unknown } | null;
  try {
    raw = JSON.parse(line) as typeof raw;
  } catch {
    return undefined;
  }
  if (raw === null || typeof raw !== 'object' || 'method' in raw) return undefined;
  return typeof raw.id === 'string' || typeof raw.id === 'number' ? raw.id : undefined;
}

const id = fc.oneof(
  fc.integer(),
  fc.maxSafeInteger(),
  fc.constantFrom(-0, 1.5, 2 ** 53, 1e21, -1e-7),
  fc.string({ maxLength: 6 }),
  fc.constantFrom('a"b', 'a\\b', '\u00e9\u{1f600}', '', '1', '\n'),
  fc.jsonValue({ maxDepth: 1 }),
);
const body = fc.jsonValue({ maxDepth: 2 });

/** Responses as the daemon writes them (members in its order), and messages of any shape and order. */
const message = fc.oneof(
  fc.record({ jsonrpc: fc.constant('2.0'), id, result: body }),
  fc.record({
    jsonrpc: fc.constant('2.0'),
    id,
    error: fc.record({ code: fc.integer(), message: fc.string() }),
  }),
  fc.record({ jsonrpc: fc.constant('2.0'), id, method: fc.string({ maxLength: 6 }), params: body }),
  fc.record({ jsonrpc: fc.constant('2.0'), method: fc.string({ maxLength: 6 }) }),
  fc
    .record(
      { result: body, id, jsonrpc: fc.constant('2.0'), method: fc.string({ maxLength: 3 }), extra: body },
      { requiredKeys: [] },
    )
    .chain((m) => fc.shuffledSubarray(Object.entries(m), { minLength: 0 }).map((e) => Object.fromEntries(e))),
  fc.jsonValue(),
);

const PREFIX = /^\{"jsonrpc":"2\.0","id":(-?\d+|"[^"\\]*"),"(result|error)":/;

test('on every JSON-RPC message JSON.stringify writes, the id read is the id the whole line gives', () => {
  fc.assert(
    fc.property(message, (m) => {
      const line = JSON.stringify(m) ?? 'null';
      // The daemon writes only JSON-RPC messages; other lines that begin as a response are read from the prefix.
      fc.pre(jsonRpcKindOf(JSON.parse(line)) !== undefined || !PREFIX.test(line));
      const got = answeredIdOf(Buffer.from(line));
      const want = parsedWhole(line);
      assert.ok(
        Object.is(got, want) || (got === 0 && want === 0),
        `${line}: ${String(got)} vs ${String(want)}`,
      );
    }),
    { numRuns: 20_000 },
  );
});

test("a daemon response's id is read from its prefix: the rest of the line is not parsed", () => {
  const tail = 'x'.repeat(1024);
  assert.equal(answeredIdOf(Buffer.from(`{"jsonrpc":"2.0","id":42,"result":{"content":${tail}`)), 42);
  assert.equal(answeredIdOf(Buffer.from(`{"jsonrpc":"2.0","id":"r-1","error":${tail}`)), 'r-1');
  // Not read from the prefix, so parsed whole: not JSON, no answer.
  assert.equal(answeredIdOf(Buffer.from(`{"jsonrpc":"2.0","id":"a\\"b","result":${tail}`)), undefined);
  assert.equal(answeredIdOf(Buffer.from(`{"jsonrpc":"2.0","id":1.5,"result":${tail}`)), undefined);
  // A request from the server carries an id too, but answers nothing.
  assert.equal(
    answeredIdOf(Buffer.from('{"jsonrpc":"2.0","id":3,"method":"sampling/createMessage"}')),
    undefined,
  );
  assert.equal(answeredIdOf(Buffer.from('{"jsonrpc":"2.0","method":"notifications/progress"}')), undefined);
});
