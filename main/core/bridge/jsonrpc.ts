import type { JSONRPCMessage, RequestId } from '@modelcontextprotocol/sdk/types.js';
import { jsonRpcErrorOf, type JsonRpcErrorObject } from '../errors.ts';

/**
 * The upstream answered one of Warden's own requests with a JSON-RPC error (JSON-RPC 2.0
 * section 5.1): `code` and `data` are the server's. Not a Warden error: it is what the server
 * said, kept as it said it.
 */
export class JsonRpcError extends Error {
  readonly code: number;
  readonly data: unknown;

  constructor(message: string, code: number, data?: unknown) {
    super(message);
    this.name = 'JsonRpcError';
    this.code = code;
    this.data = data;
  }
}

/**
 * The JSON-RPC error response answering request `id` (null when the request's id is not known)
 * with any thrown value, mapped by jsonRpcErrorOf (errors.ts): the only way Warden builds one.
 */
export function errorResponseFor(id: RequestId | null, error: unknown): JSONRPCMessage {
  return errorResponseWith(id, jsonRpcErrorOf(error));
}

/**
 * The JSON-RPC error response answering request `id` with an error object already mapped (by
 * jsonRpcErrorOf here, or by the daemon, whose answer the shim passes on).
 */
export function errorResponseWith(
  id: RequestId | null,
  error: JsonRpcErrorObject | { code: number; message: string; data?: unknown },
): JSONRPCMessage {
  return { jsonrpc: '2.0', id, error } as JSONRPCMessage;
}

/** A key for a JSON-RPC id usable in a Map (1 and "1" are different ids). */
export function idKey(id: RequestId): string {
  return typeof id === 'number' ? `n:${id}` : `s:${id}`;
}
