/**
 * What a stdio server writes is read in one pass (bridge/upstream-lines.ts): each line parsed
 * once and checked by jsonRpcKindOf. It takes and refuses exactly the lines the MCP SDK's
 * ReadBuffer (JSON.parse, then JSONRPCMessageSchema.parse) takes and refuses, however the
 * stream is cut into chunks, and ends at the same byte the SDK's buffer limit would (fast-check);
 * a real stdio link skips a refused line and goes on.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { ReadBuffer } from '@modelcontextprotocol/sdk/shared/stdio.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { silentLogger } from '../../main/core/log.ts';
import { createUpstreamLink } from '../../main/core/bridge/upstream-link.ts';
import { parseUpstreamLine, UpstreamLineReader } from '../../main/core/bridge/upstream-lines.ts';
import { waitFor } from '../helpers/warden-env.ts';

type Outcome = { ok: unknown } | 'refused' | 'over';

const anyValue = fc.oneof(
  fc.constantFrom<unknown>(null, true, '', '2.0', 0, 1, 1.5, 2 ** 53, [], {}),
  fc.integer(),
  fc.string({ maxLength: 4 }),
  fc.jsonValue({ maxDepth: 2 }),
);

/** Objects with any subset of the JSON-RPC members, the right values more often than not. */
const nearMessage = fc.record(
  {
    jsonrpc: fc.oneof(fc.constant('2.0'), fc.constant('2.0'), anyValue),
    id: fc.oneof(fc.integer(), fc.string({ maxLength: 4 }), anyValue),
    method: fc.oneof(fc.constantFrom('ping', 'notifications/progress'), anyValue),
    params: fc.oneof(
      fc.record(
        { _meta: fc.oneof(anyValue, fc.record({ progressToken: anyValue })), x: anyValue },
        { requiredKeys: [] },
      ),
      anyValue,
    ),
    result: fc.oneof(fc.record({ content: anyValue }, { requiredKeys: [] }), anyValue),
    error: fc.oneof(
      fc.record(
        { code: fc.oneof(fc.integer(), anyValue), message: anyValue, more: anyValue },
        { requiredKeys: [] },
      ),
      anyValue,
    ),
    extra: anyValue,
  },
  { requiredKeys: [] },
);

/** A line's text: JSON-RPC-like JSON, any JSON, or any text (a CR at the end sometimes). */
const lineText = fc
  .tuple(
    fc.oneof(
      nearMessage.map((m) => JSON.stringify(m)),
      fc.jsonValue({ maxDepth: 2 }).map((v) => JSON.stringify(v)),
      fc.string({ maxLength: 12 }).map((s) => s.replaceAll('\n', '')),
      fc.constantFrom('', ' ', '{', '\u00e9', '{"jsonrpc":"2.0","method":"p\u00e9"}'),
    ),
    fc.boolean(),
  )
  .map(([text, cr]) => (cr ? `${text}\r` : text));

/** The SDK's reading of a byte stream cut into `chunks`, with its buffer limit. */
function sdkRead(chunks: Buffer[], limit: number): Outcome[] {
  const buffer = new ReadBuffer({ maxBufferSize: limit });
  const out: Outcome[] = [];
  for (const chunk of chunks) {
    try {
      buffer.append(chunk);
    } catch {
      out.push('over');
      return out;
    }
    for (;;) {
      let message: JSONRPCMessage | null;
      try {
        message = buffer.readMessage();
      } catch {
        out.push('refused');
        continue;
      }
      if (message === null) break;
      out.push({ ok: message });
    }
  }
  return out;
}

/** Warden's reading of the same stream. */
function wardenRead(chunks: Buffer[], limit: number): Outcome[] {
  const out: Outcome[] = [];
  const reader = new UpstreamLineReader(limit, (line) => {
    const parsed = parseUpstreamLine(line);
    out.push('refused' in parsed ? 'refused' : { ok: parsed.message });
  });
  for (const chunk of chunks) {
    if (!reader.push(chunk)) {
      out.push('over');
      return out;
    }
  }
  return out;
}

/** Cuts `bytes` at the given fractions. */
function cut(bytes: Buffer, at: number[]): Buffer[] {
  const points = [...new Set(at.map((f) => Math.floor(f * bytes.length)))].sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let start = 0;
  for (const p of [...points, bytes.length]) {
    if (p > start) chunks.push(bytes.subarray(start, p));
    start = Math.max(start, p);
  }
  return chunks;
}

/** A message the schema took: the SDK's parse may drop unknown members of nested objects. */
const kinds = (outcomes: Outcome[]) => outcomes.map((o) => (typeof o === 'string' ? o : 'ok'));

test('each line is taken or refused as the SDK takes or refuses it, and taken as it was written', () => {
  fc.assert(
    fc.property(lineText, (text) => {
      const parsed = parseUpstreamLine(Buffer.from(text));
      const sdk = sdkRead([Buffer.from(`${text}\n`)], 1 << 20);
      assert.deepEqual(kinds(['refused' in parsed ? 'refused' : { ok: 1 }]), kinds(sdk), text);
      if ('message' in parsed) assert.deepEqual(parsed.message, JSON.parse(text.replace(/\r$/, '')));
    }),
    { numRuns: 20_000 },
  );
});

test('a stream cut anywhere reads as the SDK reads it, up to the same buffer limit', () => {
  fc.assert(
    fc.property(
      fc.array(lineText, { maxLength: 8 }),
      fc.boolean(),
      fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 6 }),
      fc.integer({ min: 8, max: 200 }),
      (lines, lastEnded, at, limit) => {
        const bytes = Buffer.from(lines.join('\n') + (lastEnded ? '\n' : ''));
        const chunks = cut(bytes, at);
        assert.deepEqual(kinds(wardenRead(chunks, limit)), kinds(sdkRead(chunks, limit)));
      },
    ),
    { numRuns: 5_000 },
  );
});

test('bytes that are not UTF-8 and a line split inside a character read as the SDK reads them', () => {
  const line = Buffer.concat([
    Buffer.from('{"jsonrpc":"2.0","method":"'),
    Buffer.from([0xff, 0xe2, 0x82]),
    Buffer.from('\u20ac"}\r\n'),
  ]);
  for (let i = 1; i < line.length; i++) {
    const chunks = [line.subarray(0, i), line.subarray(i)];
    assert.deepEqual(wardenRead(chunks, 1 << 20), sdkRead(chunks, 1 << 20), `cut at ${i}`);
  }
});

test('the fixed cases: what the SDK schema refuses is refused, with why', () => {
  const refused = [
    '{"jsonrpc":"2.0","id":1,"method":"ping","extra":1}',
    '{"jsonrpc":"2.0","id":null,"method":"ping"}',
    '{"jsonrpc":"2.0","id":1.5,"result":{}}',
    '{"jsonrpc":"2.0","id":1,"result":{},"error":{"code":1,"message":"x"}}',
    '{"jsonrpc":"1.0","method":"ping"}',
    '[{"jsonrpc":"2.0","method":"ping"}]',
    '{"json": "but not JSON-RPC"}',
  ];
  for (const text of refused) {
    assert.deepEqual(parseUpstreamLine(Buffer.from(text)), { refused: 'not a JSON-RPC 2.0 message' }, text);
    assert.deepEqual(sdkRead([Buffer.from(`${text}\n`)], 1 << 20), ['refused'], `the SDK refuses ${text}`);
  }
  const notJson = parseUpstreamLine(Buffer.from('this is not json'));
  assert.ok('refused' in notJson && notJson.refused.startsWith('not JSON: '), JSON.stringify(notJson));
  assert.deepEqual(parseUpstreamLine(Buffer.from('{"jsonrpc":"2.0","id":7,"result":{"a":1}}\r')), {
    message: { jsonrpc: '2.0', id: 7, result: { a: 1 } },
  });
});

test('a stdio link skips the lines the SDK schema refuses, logs why, and passes on the next message', async () => {
  const script = [
    'process.stdout.write(',
    JSON.stringify(
      [
        '{"jsonrpc":"2.0","id":1,"method":"ping","extra":1}',
        'this is not json',
        '{"jsonrpc":"2.0","id":"x","result":{},"error":{"code":1,"message":"both"}}',
        '{"jsonrpc":"2.0","method":"notifications/message","params":{"level":"info","data":"after"}}',
        '',
      ].join('\n'),
    ),
    '); setInterval(() => {}, 1000);',
  ].join('');
  const warnings: { err?: string; msg: string }[] = [];
  const logger = silentLogger();
  logger.warn = ((obj: { err?: string }, msg: string) =>
    void warnings.push({ ...obj, msg })) as typeof logger.warn;
  const link = createUpstreamLink(
    {
      kind: 'stdio',
      name: 'lines',
      command: process.execPath,
      args: ['-e', script],
      env: {},
      tools: { deny: [] },
    },
    logger,
  );
  const received: JSONRPCMessage[] = [];
  link.onmessage = (message) => received.push(message);
  await link.start();
  try {
    await waitFor(() => received.length > 0, 10_000, 'the message after the refused lines');
    assert.deepEqual(received, [
      { jsonrpc: '2.0', method: 'notifications/message', params: { level: 'info', data: 'after' } },
    ]);
    assert.deepEqual(
      warnings.map((w) => [w.msg, w.err?.startsWith('not JSON') ? 'not JSON' : w.err]),
      [
        ['upstream wrote a line that is not JSON-RPC; skipped', 'not a JSON-RPC 2.0 message'],
        ['upstream wrote a line that is not JSON-RPC; skipped', 'not JSON'],
        ['upstream wrote a line that is not JSON-RPC; skipped', 'not a JSON-RPC 2.0 message'],
      ],
    );
  } finally {
    await link.close();
  }
});
