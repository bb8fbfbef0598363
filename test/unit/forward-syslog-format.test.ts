import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { OutboxItem } from '../../main/core/audit/outbox.ts';
import type { ForwardedCall } from '../../main/core/audit/outbox-records.ts';
import {
  escapeParamValue,
  formatSyslogMessage,
  frameOctetCounted,
  headerField,
  SD_ID,
} from '../../main/core/forward/syslog-format.ts';

const header = { facility: 13, hostname: 'laptop-7', appName: 'mcp-warden', procId: '4242' };

function item(overrides: Partial<ForwardedCall> = {}): OutboxItem {
  const record: ForwardedCall = {
    recordId: '0123456789abcdef0123456789abcdef-42',
    logId: '0123456789abcdef0123456789abcdef',
    rowId: 42,
    ts: '2026-06-01T12:00:00.123Z',
    tsMs: Date.parse('2026-06-01T12:00:00.123Z'),
    sessionId: 's-1',
    clientName: 'claude-code',
    clientVersion: '2.0.0',
    server: 'everything',
    tool: 'echo',
    requestId: '7',
    arguments: '{"message":"hi"}',
    decision: 'allow',
    reason: 'config',
    outcome: 'ok',
    error: null,
    durationMs: 3.2,
    policyVersion: null,
    protocolVersion: '2025-11-25',
    ...overrides,
  };
  return { seq: 1, kind: 'call', recordId: record.recordId, record, createdMs: record.tsMs };
}

test('an RFC 5424 message: PRI, version 1, timestamp, header fields, structured data, BOM and the record', () => {
  const message = formatSyslogMessage(item(), header);
  assert.equal(
    message,
    '<110>1 2026-06-01T12:00:00.123Z laptop-7 mcp-warden 4242 call ' +
      `[${SD_ID} recordId="0123456789abcdef0123456789abcdef-42" server="everything" tool="echo" decision="allow" outcome="ok" protocolVersion="2025-11-25"] ` +
      '\uFEFF' +
      JSON.stringify(item().record),
  );
});

test('severity: informational for ok, notice for a refusal, warning for an error or an interrupted call', () => {
  const pri = (overrides: Partial<ForwardedCall>) =>
    /^<(\d+)>/.exec(formatSyslogMessage(item(overrides), header))![1];
  assert.equal(pri({}), String(13 * 8 + 6));
  assert.equal(pri({ decision: 'deny', outcome: 'refused' }), String(13 * 8 + 5));
  assert.equal(pri({ outcome: 'error' }), String(13 * 8 + 4));
  assert.equal(pri({ outcome: null }), String(13 * 8 + 4));
});

test('octet counting frames a message by its length in bytes, not characters', () => {
  const framed = frameOctetCounted('<110>1 - - - - - - é');
  assert.equal(framed.toString('utf8'), '21 <110>1 - - - - - - é');
});

test('property: every frame is "<byte length> <message>" and the message is one line', () => {
  fc.assert(
    fc.property(
      fc.string({ unit: 'binary' }),
      fc.string({ unit: 'binary' }),
      fc.string({ unit: 'binary' }),
      (tool, server, error) => {
        const message = formatSyslogMessage(item({ tool, server, error }), header);
        assert.ok(!/[\n\r]/.test(message), 'no line break in a message');
        const framed = frameOctetCounted(message);
        const space = framed.indexOf(0x20);
        const length = Number(framed.subarray(0, space).toString('ascii'));
        assert.equal(length, framed.length - space - 1);
        assert.equal(framed.subarray(space + 1).toString('utf8'), message);
      },
    ),
  );
});

test('property: a PARAM-VALUE escapes exactly ", \\ and ] and unescapes to the value', () => {
  fc.assert(
    fc.property(fc.string({ unit: 'binary' }), (value) => {
      const escaped = escapeParamValue(value);
      assert.ok(!/(^|[^\\])(\\\\)*["\]]/.test(escaped), 'no unescaped " or ]');
      assert.equal(escaped.replace(/\\(["\\\]])/g, '$1'), value);
    }),
  );
});

test('property: header fields are printable US-ASCII within their length, or the NILVALUE', () => {
  fc.assert(
    fc.property(fc.string({ unit: 'binary' }), fc.integer({ min: 1, max: 255 }), (value, max) => {
      const field = headerField(value, max);
      assert.match(field, /^[\x21-\x7e]+$/);
      assert.ok(field.length <= max);
      if (value === '') assert.equal(field, '-');
    }),
  );
});
