/**
 * The bench's own arithmetic and parsing (bench/lib): nearest-rank quantiles and the median
 * (property-based), rows taking turns in rounds, the raw HTTP client's reading of a JSON or SSE
 * answer, `--only` selection, and the must-show checks (a ratio of two rows, n/a with the reason when a row is missing);
 * the byte relays of the stdio.byte-relays row carry a real session to server-everything and back, and the
 * memory rows' Node process reports its RSS in parts, or names the package it could not import.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { startByteRelays } from '../../bench/lib/byte-relay.ts';
import { startHttpRelay } from '../../bench/lib/http-relay.ts';
import { interleaved, type Setup } from '../../bench/lib/interleave.ts';
import { nodeRss } from '../../bench/lib/node-floor.ts';
import { benchOptions, selected } from '../../bench/lib/options.ts';
import { RawMcpHttpClient, responseOf, sseData } from '../../bench/lib/raw-http-client.ts';
import { figureCheck, ratioCheck, verdict, type Row } from '../../bench/lib/report.ts';
import { latency, median, quantile } from '../../bench/lib/stats.ts';
import { EVERYTHING_JS, NODE } from '../helpers/warden-env.ts';

const samples = fc.array(fc.double({ min: 0, max: 1e4, noNaN: true }), { minLength: 1, maxLength: 200 });

test('quantile q is the smallest sample with at least q of the samples at or below it', () => {
  fc.assert(
    fc.property(samples, fc.double({ min: 0.001, max: 1, noNaN: true }), (values, q) => {
      const sorted = Float64Array.from(values).sort();
      const x = quantile(sorted, q);
      const atOrBelow = values.filter((v) => v <= x).length;
      assert.ok(atOrBelow >= q * values.length - 1e-9, `${atOrBelow} of ${values.length} <= ${x}`);
      const below = values.filter((v) => v < x).length;
      assert.ok(below < q * values.length, 'no smaller sample would do');
    }),
  );
  assert.equal(quantile([1, 2, 3, 4], 0.5), 2);
  assert.equal(quantile([1, 2, 3, 4], 0.99), 4);
  assert.throws(() => quantile([], 0.5), RangeError);
});

test('the median splits the values in halves; an even count takes the mean of the middle two', () => {
  fc.assert(
    fc.property(samples, (values) => {
      const m = median(values);
      assert.ok(values.filter((v) => v < m).length <= values.length / 2);
      assert.ok(values.filter((v) => v > m).length <= values.length / 2);
    }),
  );
  assert.equal(median([4, 1, 3, 2]), 2.5);
  assert.equal(median([5, 1, 3]), 3);
});

test('latency: p50, p99, mean and calls per second of wall time', () => {
  const figures = latency([3, 1, 2, 4], 8);
  assert.deepEqual(figures, { calls: 4, p50Ms: 2, p99Ms: 4, meanMs: 2.5, callsPerSecond: 500 });
});

test('an SSE answer: the response is the data of the event with the request id, not a notification', () => {
  const body =
    'event: message\ndata: {"jsonrpc":"2.0","method":"notifications/progress","params":{"progress":1}}\n\n' +
    'id: 7\nevent: message\ndata: {"jsonrpc":"2.0","id":3,"result":{"content":[]}}\n\n';
  assert.deepEqual(sseData(body), [
    '{"jsonrpc":"2.0","method":"notifications/progress","params":{"progress":1}}',
    '{"jsonrpc":"2.0","id":3,"result":{"content":[]}}',
  ]);
  const answer = { status: 200, headers: { 'content-type': 'text/event-stream' }, body };
  assert.deepEqual(responseOf(answer, 3), { jsonrpc: '2.0', id: 3, result: { content: [] } });
  assert.throws(() => responseOf(answer, 4), /no response with id 4/);
});

test('a JSON answer is read as it is; another HTTP status is an error with the body', () => {
  const json = {
    status: 200,
    headers: { 'content-type': 'application/json' },
    body: '{"jsonrpc":"2.0","id":1,"result":{}}',
  };
  assert.deepEqual(responseOf(json, 1), { jsonrpc: '2.0', id: 1, result: {} });
  assert.throws(
    () => responseOf({ status: 404, headers: {}, body: 'Session not found' }, 1),
    /HTTP 404: Session not found/,
  );
});

test('--only selects rows by id or group, and a group by any of its rows; bad counts are refused', () => {
  const only = benchOptions({ calls: 10, warmup: 1 }, ['--only', 'stdio.shim,http']);
  assert.equal(selected(only, 'stdio.shim'), true);
  assert.equal(selected(only, 'stdio.direct'), false);
  assert.equal(selected(only, 'stdio'), true, 'the group of a selected row');
  assert.equal(selected(only, 'http.concurrent-warden'), true, 'a row of a selected group');
  assert.equal(selected(only, 'cold'), false);
  assert.equal(selected(benchOptions({ calls: 10, warmup: 1 }, []), 'cold.shim'), true, 'no --only: all');
  assert.throws(
    () => benchOptions({ calls: 10, warmup: 1 }, ['--calls', '0']),
    /--calls must be an integer >= 1/,
  );
  assert.throws(() => benchOptions({ calls: 10, warmup: 1 }, ['--runs', '2.5']), /--runs/);
  assert.throws(() => benchOptions({ calls: 10, warmup: 1 }, ['--rounds', '0']), /--rounds/);
});

test('a ratio check of two rows, its verdict, and n/a naming the row that is missing', () => {
  const row = (id: string, p50Ms: number): Row => ({
    id,
    measures: id,
    latency: { calls: 1, p50Ms, p99Ms: p50Ms, meanMs: p50Ms, callsPerSecond: 1 },
  });
  const rows = [row('a', 3), row('b', 2), { id: 'c', measures: 'c', skipped: 'not installed' }];
  const p50 = (r: Row) => r.latency?.p50Ms;
  const ok = ratioCheck('a/b', rows, 'a', 'b', p50, '<=', 2);
  assert.equal(ok.value, 1.5);
  assert.equal(verdict(ok), 'ok');
  assert.equal(verdict(ratioCheck('a/b', rows, 'a', 'b', p50, '>=', 2)), 'MISSED');
  const skipped = ratioCheck('a/c', rows, 'a', 'c', p50, '<=', 2);
  assert.equal(verdict(skipped), 'n/a');
  assert.equal(skipped.missing, 'c skipped');
  assert.equal(ratioCheck('a/d', rows, 'a', 'd', p50, '<=', 2).missing, 'd not run');
  const figure = figureCheck('a p50', rows, 'a', p50, 'ms', '<=', 2);
  assert.equal(verdict(figure), 'MISSED');
});

test('interleaved: setups take turns in rounds, every call counted once; a failing one drops out alone', async () => {
  const log: string[] = [];
  const setup = (id: string, failAt?: number): Setup => ({
    id,
    open: () =>
      Promise.resolve({
        call: (i: number) => {
          if (i === failAt) return Promise.reject(new Error(`${id} broke at ${i}`));
          log.push(`${id}${i}`);
          return Promise.resolve();
        },
        close: () => Promise.resolve(void log.push(`${id} closed`)),
      }),
    aroundBlock: {
      before: () => Promise.resolve(void log.push(`${id}[`)),
      after: () => Promise.resolve(void log.push(`]${id}`)),
    },
  });
  const results = await interleaved([setup('a'), setup('b', 4)], { calls: 5, warmup: 1, rounds: 2 });
  // Warm-up (call 0) of each, then rounds of 3 and 2 measured calls; b fails in its second block.
  assert.deepEqual(log, [
    'a0',
    'b0',
    'a[',
    'a1',
    'a2',
    'a3',
    ']a',
    'b[',
    'b1',
    'b2',
    'b3',
    ']b',
    'a[',
    'a4',
    'a5',
    ']a',
    'b[',
    'a closed',
    'b closed',
  ]);
  const a = results.get('a');
  assert.ok(a && 'latency' in a);
  assert.equal(a.latency.calls, 5);
  assert.deepEqual(results.get('b'), { error: 'b broke at 4' });
});

test('the byte relays carry a session to server-everything and back, a new server per session, and the back relay measures its event loop', async () => {
  const relays = await startByteRelays(NODE, [EVERYTHING_JS, 'stdio']);
  try {
    await relays.measureEventLoop();
    for (const message of ['one', 'two']) {
      const client = new Client({ name: 'bench-lib-test', version: '1' });
      await client.connect(relays.transport());
      const result = await client.callTool({ name: 'echo', arguments: { message } });
      assert.deepEqual(result.content, [{ type: 'text', text: `Echo: ${message}` }]);
      await client.close();
    }
    const loop = await relays.eventLoop();
    assert.equal(loop.measuring, false, 'read closes the window');
    assert.equal(loop.resolutionMs, 1);
    assert.ok(loop.samples > 10 && loop.windowMs > 10, JSON.stringify(loop));
    assert.ok(loop.p999Ms !== null && loop.p999Ms >= 0 && loop.maxMs! >= loop.p999Ms, JSON.stringify(loop));
  } finally {
    await relays.stop();
  }
});

test('the HTTP relay carries raw-client sessions to server-everything and back, a server of their own each', async () => {
  const relay = await startHttpRelay(NODE, [EVERYTHING_JS, 'stdio']);
  try {
    const clients = [new RawMcpHttpClient(relay.url), new RawMcpHttpClient(relay.url)];
    for (const client of clients) await client.open();
    for (const [index, client] of clients.entries()) {
      const result = (await client.request('tools/call', {
        name: 'echo',
        arguments: { message: `m${index}` },
      })) as {
        content: unknown;
      };
      assert.deepEqual(result.content, [{ type: 'text', text: `Echo: m${index}` }]);
    }
    const tools = (await clients[0]!.request('tools/list', {})) as { tools: { name: string }[] };
    assert.ok(tools.tools.some((tool) => tool.name === 'echo'));
    for (const client of clients) await client.close();
  } finally {
    await relay.stop();
  }
});

test("the memory rows' Node process reports its RSS in parts, and names a package it cannot import", async () => {
  const bare = await nodeRss([]);
  assert.ok(bare.rss > 10 && bare.rss < 500, `${bare.rss} MiB`);
  assert.ok(Math.abs(bare.rss - (bare.anon + bare.file)) < 2, JSON.stringify(bare));
  const withZod = await nodeRss(['zod']);
  assert.ok(withZod.rss > bare.rss, `zod: ${withZod.rss} MiB, nothing: ${bare.rss} MiB`);
  await assert.rejects(
    nodeRss(['no-such-package-for-the-bench']),
    /Cannot find .*no-such-package-for-the-bench/,
  );
});
