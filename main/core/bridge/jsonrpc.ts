import type { JSONRPCMessage, RequestId } from '@modelcontextprotocol/server';
import { asWardenError, jsonRpcKindOf, type JsonRpcKind } from '../errors.ts';

/**
 * The JSON-RPC error numbers: the MCP SDK's ProtocolErrorCode values (JSON-RPC 2.0 section
 * 5.1), -32000 ConnectionClosed as 2025-11-25 SDK clients know it, -32001 as the SDK's HTTP
 * server transport answers an unknown session. Written out rather than imported: the connect
 * shim loads this module, and the SDK's modules would bring zod with them (test/unit/error-codes.test.ts checks them against it).
 */
const JSON_RPC_CODE: Record<JsonRpcKind, number> = {
  ParseError: -32700,
  InvalidRequest: -32600,
  InvalidParams: -32602,
  InternalError: -32603,
  ConnectionClosed: -32000,
  SessionNotFound: -32001,
};

/** A JSON-RPC error object (JSON-RPC 2.0 section 5.1) with Warden's code in `data.reason`. */
export interface JsonRpcErrorObject {
  code: number;
  message: string;
  data: { source: 'mcp-warden'; reason: string };
}

/**
 * The JSON-RPC error for a thrown value (one of the three mappers of errors.ts): the code's
 * JSON-RPC number, the message naming Warden as its source ("MCP Warden: …" unless it already
 * begins with "MCP Warden"), and the Warden code in `data.reason` (for UNRECOGNIZED, the code
 * received). A value that is not a WardenError is INTERNAL.
 */
export function jsonRpcErrorOf(error: unknown): JsonRpcErrorObject {
  const warden = asWardenError(error);
  return {
    code: JSON_RPC_CODE[jsonRpcKindOf(warden)],
    message: warden.message.startsWith('MCP Warden') ? warden.message : `MCP Warden: ${warden.message}`,
    data: { source: 'mcp-warden', reason: warden.received ?? warden.code },
  };
}

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
 * with any thrown value, mapped by jsonRpcErrorOf: the only way Warden builds one.
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
