import type { IncomingMessage } from 'node:http';
import { JSONRPCMessageSchema, type JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { WardenError } from '../errors.ts';

/** Largest request body the daemon accepts from a client, bytes (4 MiB). */
export const MAX_REQUEST_BYTES = 4 * 1024 * 1024;

/** Largest JSON-RPC batch accepted in one POST (the MCP SDK's limit). */
export const MAX_BATCH = 100;

export type BodyResult =
  { ok: true; body: JSONRPCMessage | JSONRPCMessage[] } | { ok: false; error: WardenError };

const decoder = new TextDecoder('utf-8', { fatal: true });

/**
 * Reads and checks a POST body: at most MAX_REQUEST_BYTES (read with raw-body; a client that
 * closes early or sends other than its Content-Length gets INVALID_REQUEST), valid UTF-8, JSON, and JSON-RPC 2.0
 * messages (single or batch), validated with the MCP SDK's JSONRPCMessageSchema.
 * Never throws; a bad body yields the WardenError to answer with (PARSE_ERROR, INVALID_REQUEST,
 * TOO_LARGE; errors.ts maps it to the HTTP status and the JSON-RPC error).
 */
export async function readJsonRpcBody(req: IncomingMessage, limit = MAX_REQUEST_BYTES): Promise<BodyResult> {
  const read = await readRawBody(req, limit);
  if (!read.ok) return read;
  let text: string;
  try {
    text = decoder.decode(read.bytes);
  } catch {
    return { ok: false, error: new WardenError('PARSE_ERROR', 'Parse error: the body is not valid UTF-8') };
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    return {
      ok: false,
      error: new WardenError(
        'PARSE_ERROR',
        `Parse error: the body is not JSON (${error instanceof Error ? error.message : String(error)})`,
      ),
    };
  }
  const items = Array.isArray(raw) ? raw : [raw];
  if (Array.isArray(raw) && (raw.length === 0 || raw.length > MAX_BATCH)) {
    return {
      ok: false,
      error: new WardenError(
        'INVALID_REQUEST',
        `Invalid Request: a batch must hold 1 to ${MAX_BATCH} messages`,
      ),
    };
  }
  for (const [index, item] of items.entries()) {
    const parsed = JSONRPCMessageSchema.safeParse(item);
    if (!parsed.success) {
      const where = Array.isArray(raw) ? ` (batch item ${index})` : '';
      return {
        ok: false,
        error: new WardenError(
          'INVALID_REQUEST',
          `Invalid Request: not a JSON-RPC 2.0 request, notification or response${where}`,
        ),
      };
    }
  }
  return { ok: true, body: raw as JSONRPCMessage | JSONRPCMessage[] };
}

type RawResult = { ok: true; bytes: Buffer } | { ok: false; error: WardenError };

/**
 * Reads a request's bytes with raw-body: at most `limit` bytes (a Content-Length over it is refused
 * before reading), and exactly the declared Content-Length. On any failure the rest of the body is
 * drained (raw-body pauses the stream) so the answer can still be sent. raw-body is loaded on first
 * use, so the connect shim, which imports this module for its limits, does not pay for it.
 */
async function readRawBody(req: IncomingMessage, limit: number): Promise<RawResult> {
  const { default: getRawBody } = await import('raw-body');
  try {
    return { ok: true, bytes: await getRawBody(req, { limit, length: req.headers['content-length'] }) };
  } catch (error) {
    req.resume();
    const type = (error as { type?: unknown }).type;
    if (type === 'entity.too.large') return tooLarge(limit);
    const why =
      type === 'request.aborted'
        ? 'the client closed the request before its body ended'
        : type === 'request.size.invalid'
          ? 'the body is shorter or longer than its Content-Length'
          : `the body could not be read (${error instanceof Error ? error.message : String(error)})`;
    return { ok: false, error: new WardenError('INVALID_REQUEST', `Invalid Request: ${why}`) };
  }
}

function tooLarge(limit: number): { ok: false; error: WardenError } {
  return {
    ok: false,
    error: new WardenError('TOO_LARGE', `Request too large: the limit is ${limit} bytes per message`),
  };
}
