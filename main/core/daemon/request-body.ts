import type { IncomingMessage } from 'node:http';
import type { JSONRPCMessage } from '@modelcontextprotocol/server';
import { readBodyBytes } from '../body-bytes.ts';
import { asWardenError, WardenError } from '../errors.ts';
import { jsonRpcKindOf, MAX_MESSAGE_BYTES } from '../bridge/jsonrpc-check.ts';

/** Largest request body the daemon accepts from a client, bytes (4 MiB; MAX_MESSAGE_BYTES). */
export const MAX_REQUEST_BYTES = MAX_MESSAGE_BYTES;

/** Largest JSON-RPC batch accepted in one POST (the MCP SDK's limit). */
export const MAX_BATCH = 100;

export type BodyResult =
  { ok: true; body: JSONRPCMessage | JSONRPCMessage[] } | { ok: false; error: WardenError };

const decoder = new TextDecoder('utf-8', { fatal: true });

/**
 * Reads and checks a POST body: at most MAX_REQUEST_BYTES (readBodyBytes, raw-body; a client
 * that closes early or sends other than its Content-Length gets INVALID_REQUEST), valid UTF-8,
 * JSON, and JSON-RPC 2.0 messages (single or batch): one JSON.parse and one structural check per
 * message (jsonRpcKindOf, which accepts what the MCP SDK's JSONRPCMessageSchema accepts), so
 * nothing downstream validates the envelope again.
 * Never throws; a bad body yields the WardenError to answer with (PARSE_ERROR, INVALID_REQUEST,
 * TOO_LARGE; errors.ts maps it to the HTTP status and the JSON-RPC error).
 */
export async function readJsonRpcBody(req: IncomingMessage, limit = MAX_REQUEST_BYTES): Promise<BodyResult> {
  let bytes: Buffer;
  try {
    bytes = await readBodyBytes(req, limit, tooLarge(limit));
  } catch (error) {
    return { ok: false, error: asWardenError(error) };
  }
  let text: string;
  try {
    text = decoder.decode(bytes);
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
  for (let index = 0; index < items.length; index++) {
    if (jsonRpcKindOf(items[index]) === undefined) {
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

function tooLarge(limit: number): string {
  return `Request too large: the limit is ${limit} bytes per message`;
}
