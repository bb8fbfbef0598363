import type { RequestId } from '@modelcontextprotocol/server';

/** How every response the daemon writes begins (bridge/session.ts orders its members so). */
const RESPONSE_PREFIX = Buffer.from('{"jsonrpc":"2.0","id":');
const RESULT_NEXT = Buffer.from(',"result":');
const ERROR_NEXT = Buffer.from(',"error":');
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const MINUS = 0x2d;

const isDigit = (byte: number | undefined) => byte !== undefined && byte >= 0x30 && byte <= 0x39;

/**
 * The id of the request a daemon line answers, or undefined when the line answers none (a
 * request or notification from the server, or no usable id). A line that begins as the daemon
 * writes responses, `{"jsonrpc":"2.0","id":<integer or plain string>,"result":` (or
 * `,"error":`), is read from that prefix alone, so an answer of any size costs a few bytes;
 * any other line is parsed whole. Either way the answer is the same for every JSON-RPC message
 * JSON.stringify writes, in any member order (test/unit/shim-answered-id.test.ts): the daemon
 * writes only such lines (a response has no `method`, so the prefix tells it apart).
 */
export function answeredIdOf(line: Buffer): RequestId | undefined {
  const fast = fromPrefix(line);
  return fast === null ? fromWholeLine(line) : fast;
}

/** The id from the prefix; null when the line does not begin as the daemon's responses do. */
function fromPrefix(line: Buffer): RequestId | null {
  const start = RESPONSE_PREFIX.length;
  if (line.length <= start || line.compare(RESPONSE_PREFIX, 0, start, 0, start) !== 0) return null;
  let end = start;
  let id: RequestId;
  if (line[start] === QUOTE) {
    end = line.indexOf(QUOTE, start + 1);
    if (end === -1 || line.subarray(start + 1, end).includes(BACKSLASH)) return null;
    id = line.toString('utf8', start + 1, end);
    end++;
  } else {
    if (line[end] === MINUS) end++;
    if (!isDigit(line[end])) return null;
    while (isDigit(line[end])) end++;
    id = Number(line.toString('latin1', start, end));
    if (!Number.isSafeInteger(id)) return null;
  }
  const next = (marker: Buffer) =>
    end + marker.length <= line.length &&
    line.compare(marker, 0, marker.length, end, end + marker.length) === 0;
  return next(RESULT_NEXT) || next(ERROR_NEXT) ? id : null;
}

function fromWholeLine(line: Buffer): RequestId | undefined {
  let raw: { id?: unknown; method?: unknown } | null;
  try {
    raw = JSON.parse(line.toString('utf8')) as typeof raw;
  } catch {
    return undefined;
  }
  if (raw === null || typeof raw !== 'object' || 'method' in raw) return undefined;
  return typeof raw.id === 'string' || typeof raw.id === 'number' ? raw.id : undefined;
}
