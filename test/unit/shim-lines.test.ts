import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { parseLine, readLines } from '../../main/shim/connect.ts';

async function linesOf(chunks: Buffer[], limit: number): Promise<(string | { tooLong: number })[]> {
  const input = new PassThrough();
  const out: (string | { tooLong: number })[] = [];
  const done = readLines(input, limit, (line) => out.push(Buffer.isBuffer(line) ? line.toString() : line));
  for (const chunk of chunks) input.write(chunk);
  input.end();
  await done;
  return out;
}

test('splits on LF across chunk boundaries, drops CR and empty lines, keeps a last line without LF', async () => {
  const lines = await linesOf(
    [Buffer.from('{"a":'), Buffer.from('1}\r\n\n{"b":2}\n{"c"'), Buffer.from(':3}')],
    100,
  );
  assert.deepEqual(lines, ['{"a":1}', '{"b":2}', '{"c":3}']);
});

test('a line over the limit is reported once and skipped; the next line is read', async () => {
  const lines = await linesOf([Buffer.from('x'.repeat(30)), Buffer.from('y'.repeat(30) + '\nok\n')], 50);
  assert.deepEqual(lines, [{ tooLong: 50 }, 'ok']);
});

test('parseLine: JSON-RPC passes; invalid UTF-8, non-JSON and non-JSON-RPC get their error codes', () => {
  const ok = parseLine(Buffer.from('{"jsonrpc":"2.0","id":1,"method":"ping"}'));
  assert.ok('message' in ok);
  const utf8 = parseLine(Buffer.from([0x7b, 0xc3, 0x28, 0x7d]));
  assert.ok('error' in utf8 && utf8.error.code === -32700 && /UTF-8/.test(utf8.error.message));
  const json = parseLine(Buffer.from('{nope'));
  assert.ok('error' in json && json.error.code === -32700 && json.id === null);
  const rpc = parseLine(Buffer.from('{"id":"abc","method":5}'));
  assert.ok('error' in rpc && rpc.error.code === -32600 && rpc.id === 'abc');
  const big = parseLine({ tooLong: 10 });
  assert.ok('error' in big && /10-byte limit/.test(big.error.message));
});

test('parseLine: a batch is refused with one error per request in it (MCP 2025-06-18 removed batching)', () => {
  const batch = parseLine(
    Buffer.from(
      JSON.stringify([
        { jsonrpc: '2.0', id: 'mcp-warden/ping/1', method: 'ping' },
        { jsonrpc: '2.0', method: 'notifications/initialized' },
        { jsonrpc: '2.0', id: 0, method: 'tools/list' },
        { jsonrpc: '2.0', id: 9, result: {} },
      ]),
    ),
  );
  assert.ok('batch' in batch);
  assert.deepEqual(batch.batch, ['mcp-warden/ping/1', 0]);
  const noRequests = parseLine(Buffer.from('[{"jsonrpc":"2.0","method":"notifications/initialized"}]'));
  assert.ok('error' in noRequests && noRequests.id === null && noRequests.error.code === -32600);
  assert.match('error' in noRequests ? noRequests.error.message : '', /batches are not supported over stdio/);
});
