/**
 * Property-based tests (fast-check) of both client edges with a real daemon and a real upstream
 * (test/fixtures/paged-server.ts): random JSON-RPC messages (ids of every shape, including
 * Warden's own `mcp-warden/…` prefix, 0, negative and large numbers; random methods and params),
 * batches and garbage, into the connect shim's stdin and into `/mcp/<server>`. Every request
 * with an id is answered exactly once; malformed input never gets a 5xx; the daemon never warns
 * MaxListenersExceededWarning. Plus the fixed cases: the same ids in two sessions at once, and
 * an id reused while its request is still in progress.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import fc from 'fast-check';
// The v2 schema main/ runs on (as test/unit/jsonrpc-check.test.ts): what Warden takes as JSON-RPC.
import { JSONRPCMessageSchema } from '@modelcontextprotocol/core';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import { useDaemonFixture } from '../helpers/daemon-fixture.ts';
import { idKey, rawHttpSession, rawShim, type RawMessage } from '../helpers/raw-jsonrpc.ts';
import { NODE, ROOT, waitFor } from '../helpers/warden-env.ts';

const PAGED = path.join(ROOT, 'test/fixtures/paged-server.ts');
const TOOLS = ['t1', 't2', 't3', 't4', 't5'];
const PROMPTS = ['p1', 'p2', 'p3', 'p4'];

// ---- arbitraries ----------------------------------------------------------------------------

const idArb: fc.Arbitrary<string | number> = fc.oneof(
  fc.constantFrom<string | number>(
    'mcp-warden/ping/1',
    'mcp-warden/tools/list/1',
    'mcp-warden/tools/list/2',
    'mcp-warden/initialize/1',
    'mcp-warden/prompts/list/3',
    0,
    -1,
    1,
    '1',
    '',
    Number.MAX_SAFE_INTEGER,
    -Number.MAX_SAFE_INTEGER,
  ),
  fc.integer(),
  fc.maxSafeInteger(),
  fc.string({ unit: 'binary', maxLength: 24 }),
  fc.string({ maxLength: 16 }).map((s) => `mcp-warden/${s}`),
);

const cursorArb = fc.oneof(
  fc.constantFrom('tools@3', 'prompts@3', 'templates@3', 'resources@3', 'bogus'),
  fc.string(),
);
const junkParams = fc.option(fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 2 })), {
  nil: undefined,
});

const requestArb: fc.Arbitrary<RawMessage> = fc
  .constantFrom(
    'ping',
    'tools/list',
    'prompts/list',
    'resources/list',
    'resources/templates/list',
    'tools/call',
    'prompts/get',
    'resources/read',
    'resources/subscribe',
    'completion/complete',
    'logging/setLevel',
    'initialize',
    'no/such-method',
  )
  .chain((method): fc.Arbitrary<RawMessage> => {
    const params: fc.Arbitrary<unknown> = (() => {
      switch (method) {
        case 'tools/call':
          return fc.record({
            // Never w1, which waits for a person (the last test holds it on purpose).
            name: fc.oneof(
              fc.constantFrom(...TOOLS),
              fc.string({ maxLength: 8 }).filter((n) => n !== 'w1'),
            ),
            arguments: fc.option(fc.dictionary(fc.string({ maxLength: 6 }), fc.jsonValue({ maxDepth: 1 })), {
              nil: undefined,
            }),
          });
        case 'tools/list':
        case 'prompts/list':
        case 'resources/list':
        case 'resources/templates/list':
          return fc.option(fc.record({ cursor: cursorArb }), { nil: undefined });
        case 'prompts/get':
          return fc.record({ name: fc.oneof(fc.constantFrom(...PROMPTS), fc.string({ maxLength: 8 })) });
        case 'resources/read':
        case 'resources/subscribe':
          return fc.record({ uri: fc.oneof(fc.constantFrom('paged://r1/1', 'paged://r4/2'), fc.string()) });
        case 'completion/complete':
          return fc.record({
            ref: fc.oneof(
              fc.record({ type: fc.constant('ref/prompt'), name: fc.constantFrom(...PROMPTS) }),
              fc.record({ type: fc.constant('ref/resource'), uri: fc.constant('paged://r1/{id}') }),
            ),
            argument: fc.record({ name: fc.constant('id'), value: fc.string({ maxLength: 4 }) }),
          });
        default:
          // Sometimes not an object at all: then the message is not valid JSON-RPC.
          return fc.oneof(
            { weight: 4, arbitrary: junkParams },
            { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 1 }) },
          );
      }
    })();
    return params.map((p) => ({ jsonrpc: '2.0', method, ...(p === undefined ? {} : { params: p }) }));
  });

/** One line or POST body of a run, before ids are given out. */
type Item =
  | { type: 'request'; message: RawMessage; id: string | number }
  | { type: 'notification'; message: RawMessage }
  | { type: 'response'; id: string | number }
  | { type: 'invalid'; message: RawMessage; id?: string | number }
  | { type: 'garbage'; bytes: Buffer }
  | { type: 'batch'; items: Item[] };

const notificationArb: fc.Arbitrary<Item> = fc.oneof(
  fc.constant<Item>({
    type: 'notification',
    message: { jsonrpc: '2.0', method: 'notifications/initialized' },
  }),
  // Cancellations of ids the run never uses (some shaped like Warden's own): nothing is lost.
  idArb.map<Item>((requestId) => ({
    type: 'notification',
    message: { jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId, reason: 'fuzz' } },
  })),
  fc.constant<Item>({
    type: 'notification',
    message: { jsonrpc: '2.0', method: 'notifications/progress', params: { progressToken: 1, progress: 1 } },
  }),
  fc
    .string({ maxLength: 12 })
    .map<Item>((m) => ({ type: 'notification', message: { jsonrpc: '2.0', method: `notifications/${m}` } })),
);

const garbageArb: fc.Arbitrary<Item> = fc
  .oneof(
    fc.string({ minLength: 1, maxLength: 30 }).map((s) => s.replace(/[\n\r]/g, ' ')),
    fc.constantFrom(
      '{',
      '[',
      'null',
      '42',
      '"text"',
      'true',
      '{"jsonrpc":"2.0"}',
      '{"jsonrpc":"1.0","id":null}',
      '   ',
    ),
    fc
      .uint8Array({ minLength: 1, maxLength: 12 })
      .map((bytes) => Buffer.from([0xc3, 0x28, ...bytes.filter((b) => b !== 0x0a)])),
  )
  .map<Item>((value) => ({ type: 'garbage', bytes: Buffer.isBuffer(value) ? value : Buffer.from(value) }));

const invalidArb: fc.Arbitrary<Item> = fc.oneof(
  idArb.map<Item>((id) => ({ type: 'invalid', message: { id, method: 5 }, id })),
  idArb.map<Item>((id) => ({
    type: 'invalid',
    message: { jsonrpc: '2.0', id, method: 'ping', params: 7 },
    id,
  })),
  idArb.map<Item>((id) => ({ type: 'invalid', message: { jsonrpc: '2.0', id: [id], method: 'ping' } })),
);

const singleArb: fc.Arbitrary<Item> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.tuple(requestArb, idArb).map<Item>(([message, id]) => ({ type: 'request', message, id })),
  },
  { weight: 2, arbitrary: notificationArb },
  { weight: 1, arbitrary: idArb.map<Item>((id) => ({ type: 'response', id })) },
  { weight: 1, arbitrary: invalidArb },
  { weight: 1, arbitrary: garbageArb },
);

const runArb = fc.array(
  fc.oneof(
    { weight: 5, arbitrary: singleArb },
    {
      weight: 1,
      arbitrary: fc
        .array(fc.oneof(singleArb.filter((i) => i.type !== 'garbage')), { minLength: 1, maxLength: 4 })
        .map<Item>((items) => ({ type: 'batch', items })),
    },
  ),
  { minLength: 1, maxLength: 10 },
);

// ---- what a run expects ---------------------------------------------------------------------

/**
 * Drops what would make the oracle ambiguous: a second use of an id within one run, and a
 * cancellation that names a request of the run (cancelled requests get no answer).
 */
function distinct(items: Item[]): Item[] {
  const used = new Set<string>();
  const take = (id: unknown): boolean => {
    const key = idKey(id);
    if (used.has(key)) return false;
    used.add(key);
    return true;
  };
  const flat = (list: Item[]): Item[] =>
    list.flatMap((item): Item[] => {
      if (item.type === 'request' || item.type === 'invalid' || item.type === 'response')
        return item.id === undefined || take(item.id) ? [item] : [];
      if (item.type === 'batch') {
        const inner = flat(item.items);
        return inner.length ? [{ type: 'batch', items: inner }] : [];
      }
      return [item];
    });
  const kept = flat(items);
  const cancelsARequest = (item: Item): boolean =>
    item.type === 'notification' &&
    item.message.method === 'notifications/cancelled' &&
    used.has(idKey((item.message.params as { requestId: unknown }).requestId));
  const drop = (list: Item[]): Item[] =>
    list
      .filter((item) => !cancelsARequest(item))
      .map((item) => (item.type === 'batch' ? { ...item, items: drop(item.items) } : item))
      .filter((item) => item.type !== 'batch' || item.items.length > 0);
  return drop(kept);
}

function messageOf(item: Exclude<Item, { type: 'garbage' | 'batch' }>): unknown {
  switch (item.type) {
    case 'request':
      return { ...item.message, id: item.id };
    case 'response':
      return { jsonrpc: '2.0', id: item.id, result: {} };
    default:
      return item.message;
  }
}

function bytesOf(item: Item): Buffer {
  if (item.type === 'garbage') return item.bytes;
  if (item.type === 'batch')
    return Buffer.from(
      JSON.stringify(item.items.map((i) => messageOf(i as Exclude<Item, { type: 'garbage' | 'batch' }>))),
    );
  return Buffer.from(JSON.stringify(messageOf(item)));
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** What the bytes are, judged as a receiver would: with the SDK's own JSON-RPC schema. */
function judge(bytes: Buffer): { kind: 'garbage' } | { kind: 'json'; value: unknown } {
  try {
    return { kind: 'json', value: JSON.parse(utf8.decode(bytes)) };
  } catch {
    return { kind: 'garbage' };
  }
}

const isRequestLike = (v: unknown): v is { id: string | number; method: unknown } =>
  typeof v === 'object' &&
  v !== null &&
  'method' in v &&
  (typeof (v as { id?: unknown }).id === 'string' || typeof (v as { id?: unknown }).id === 'number');

/** The shim's answers for one stdin line: ids answered exactly once, and how many id-less errors. */
function shimExpects(bytes: Buffer): { ids: unknown[]; nulls: number } {
  const parsed = judge(bytes);
  if (parsed.kind === 'garbage') return { ids: [], nulls: 1 };
  const value = parsed.value;
  if (Array.isArray(value)) {
    const ids = value.filter(isRequestLike).map((v) => v.id);
    return ids.length ? { ids, nulls: 0 } : { ids: [], nulls: 1 };
  }
  const valid = JSONRPCMessageSchema.safeParse(value);
  if (valid.success)
    return { ids: 'method' in valid.data && 'id' in valid.data ? [valid.data.id] : [], nulls: 0 };
  const id = (value as { id?: unknown } | null)?.id;
  return typeof id === 'string' || typeof id === 'number' ? { ids: [id], nulls: 0 } : { ids: [], nulls: 1 };
}

const responses = (messages: RawMessage[]) => messages.filter((m) => 'result' in m || 'error' in m);

// ---- the daemon -----------------------------------------------------------------------------

describe('JSON-RPC into both edges (property-based)', () => {
  const fx = useDaemonFixture({
    config: (w) => {
      const spec = path.join(w.home, 'paged.json');
      fs.writeFileSync(
        spec,
        JSON.stringify({
          pageSize: 3,
          tools: [
            ...TOOLS.map((name) => ({ name, description: `Tool ${name}.` })),
            { name: 'w1', description: 'Writes.', readOnly: false },
          ],
          prompts: PROMPTS.map((name) => ({ name, description: `Prompt ${name}.`, text: name })),
          resources: [{ uri: 'paged://r1/fixed', name: 'fixed' }],
          resourceTemplates: ['r1', 'r2', 'r3', 'r4'].map((name) => ({
            name,
            uriTemplate: `paged://${name}/{id}`,
            description: `Template ${name}.`,
          })),
        }),
      );
      return { mcpServers: { paged: { command: NODE, args: [PAGED], env: { PAGED_FILE: spec } } } };
    },
  });

  const assertDaemonHealthy = () => {
    assert.doesNotMatch(fx.daemon.output(), /MaxListenersExceededWarning/);
    assert.doesNotMatch(fx.daemon.output(), /request handler failed/, 'no 500 from the daemon');
    assert.equal(fx.daemon.child.exitCode, null, 'the daemon runs');
  };

  test('connect shim stdin: every request with an id is answered exactly once; garbage gets one error each', async () => {
    const shim = await rawShim(fx.w.env, 'paged', 'fuzz-stdio');
    let run = 0;
    try {
      await fc.assert(
        fc.asyncProperty(runArb, async (generated) => {
          const items = distinct(generated);
          const from = shim.messages.length;
          const expected: unknown[] = [];
          let nulls = 0;
          for (const item of items) {
            const bytes = bytesOf(item);
            const e = shimExpects(bytes);
            expected.push(...e.ids);
            nulls += e.nulls;
            shim.send(bytes);
          }
          const mine = () => responses(shim.messages.slice(from));
          const count = (id: unknown) => mine().filter((m) => idKey(m.id) === idKey(id)).length;
          await waitFor(
            () =>
              expected.every((id) => count(id) >= 1) && mine().filter((m) => m.id === null).length >= nulls,
            30_000,
            `answers to ${JSON.stringify(expected)} and ${nulls} errors without id`,
          );
          // A barrier: once the sentinel is answered, any second answer would have arrived.
          const sentinel = `sentinel/${run++}`;
          shim.send({ jsonrpc: '2.0', id: sentinel, method: 'ping' });
          await shim.answer(sentinel);
          for (const id of expected) assert.equal(count(id), 1, `${JSON.stringify(id)} answered once`);
          assert.equal(mine().filter((m) => m.id === null).length, nulls, 'one error per garbage line');
          const known = new Set([...expected.map(idKey), idKey(sentinel), idKey(null)]);
          assert.deepEqual(
            mine().filter((m) => !known.has(idKey(m.id))),
            [],
            'no answer to anything not asked',
          );
        }),
        { numRuns: 40 },
      );
    } finally {
      await shim.close();
    }
    assert.doesNotMatch(shim.stderr(), /MaxListenersExceededWarning/);
    assertDaemonHealthy();
  });

  test('HTTP /mcp/<server>: every request of an accepted POST is answered exactly once on its stream; no 5xx', async () => {
    const session = await rawHttpSession(fx.daemon.url, fx.daemon.token, 'paged', 'fuzz-http');
    try {
      await fc.assert(
        fc.asyncProperty(runArb, async (generated) => {
          const items = distinct(generated);
          const results = await Promise.all(
            items.map(async (item) => ({ bytes: bytesOf(item), result: await session.post(bytesOf(item)) })),
          );
          for (const { bytes, result } of results) {
            assert.ok(result.status < 500, `no 5xx (${result.status} for ${bytes.toString('latin1')})`);
            const parsed = judge(bytes);
            const messages =
              parsed.kind === 'json' ? (Array.isArray(parsed.value) ? parsed.value : [parsed.value]) : [];
            const valid =
              parsed.kind === 'json' &&
              messages.length > 0 &&
              messages.length <= 100 &&
              messages.every((m) => JSONRPCMessageSchema.safeParse(m).success);
            if (!valid) {
              assert.equal(result.status, 400, `malformed is a 400: ${bytes.toString('latin1')}`);
              continue;
            }
            const requests = messages.filter(
              (m) => (m as { method?: unknown; id?: unknown }).id !== undefined && 'method' in (m as object),
            );
            if (requests.length === 0) {
              assert.equal(result.status, 202, 'notifications and responses are accepted');
              continue;
            }
            if (requests.some((m) => isInitializeRequest(m))) {
              assert.equal(result.status, 400, 'a second initialize is refused');
              continue;
            }
            assert.equal(result.status, 200);
            const answers = responses(result.messages);
            for (const request of requests) {
              const id = (request as { id: unknown }).id;
              assert.equal(
                answers.filter((m) => idKey(m.id) === idKey(id)).length,
                1,
                `${JSON.stringify(id)} answered once in ${JSON.stringify(result.messages)}`,
              );
            }
            assert.equal(answers.length, requests.length, 'nothing but the answers to its requests');
          }
        }),
        { numRuns: 40 },
      );
    } finally {
      await session.close();
    }
    assertDaemonHealthy();
  });

  test('the same ids in two sessions at once are answered once in each', async () => {
    const [a, b] = await Promise.all([
      rawHttpSession(fx.daemon.url, fx.daemon.token, 'paged', 'twin-a'),
      rawHttpSession(fx.daemon.url, fx.daemon.token, 'paged', 'twin-b'),
    ]);
    try {
      const ids = [1, 0, -7, 'mcp-warden/tools/list/1', 'same'];
      const batch = (tag: string) =>
        ids.map((id) => ({
          jsonrpc: '2.0',
          id,
          method: 'tools/call',
          params: { name: 't1', arguments: { tag } },
        }));
      const [ra, rb] = await Promise.all([a.post(batch('a')), b.post(batch('b'))]);
      for (const result of [ra, rb]) {
        assert.equal(result.status, 200);
        for (const id of ids)
          assert.equal(responses(result.messages).filter((m) => idKey(m.id) === idKey(id)).length, 1);
      }
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  test('an id in use by a request still in progress is refused (400, an error per request); the first is answered once', async () => {
    const session = await rawHttpSession(fx.daemon.url, fx.daemon.token, 'paged', 'reuser');
    try {
      // w1 is not read-only: the call waits for a person, so id 7 stays in progress.
      const held = session.post({
        jsonrpc: '2.0',
        id: 7,
        method: 'tools/call',
        params: { name: 'w1', arguments: {} },
      });
      const approval = await waitFor(
        async () => (await fx.control.approvals()).find((a) => a.tool === 'w1' && a.client.name === 'reuser'),
        20_000,
        'the held call',
      );
      const again = await session.post({ jsonrpc: '2.0', id: 7, method: 'ping' });
      assert.equal(again.status, 400);
      assert.equal(responses(again.messages).length, 1);
      assert.match(
        String((again.messages[0]!.error as { message: string }).message),
        /the id 7 is in use by a request still in progress/,
      );
      const twice = await session.post([
        { jsonrpc: '2.0', id: 'x', method: 'ping' },
        { jsonrpc: '2.0', id: 'x', method: 'ping' },
        { jsonrpc: '2.0', id: 'y', method: 'ping' },
      ]);
      assert.equal(twice.status, 400);
      assert.deepEqual(
        responses(twice.messages).map((m) => m.id),
        ['x', 'x', 'y'],
        'every request of the refused batch gets its error',
      );
      // 7 and "7" are different ids.
      const other = await session.post({ jsonrpc: '2.0', id: '7', method: 'ping' });
      assert.equal(other.status, 200);

      await fx.control.answer(approval.id, { choice: 'allow-once', argumentsHash: approval.argumentsHash });
      const first = await held;
      assert.equal(first.status, 200);
      const answers = responses(first.messages);
      assert.equal(answers.length, 1);
      assert.equal((answers[0]!.result as { content: { text: string }[] }).content[0]!.text, 'called w1');
      // Once answered, the id may be used again.
      assert.equal((await session.post({ jsonrpc: '2.0', id: 7, method: 'ping' })).status, 200);
    } finally {
      await session.close();
    }
    assertDaemonHealthy();
  });
});
