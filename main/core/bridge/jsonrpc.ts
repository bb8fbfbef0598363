import type { JSONRPCMessage, RequestId } from '@modelcontextprotocol/sdk/types.js';
import { isWardenError, type WardenErrorCode } from '../errors.ts';

/**
 * JSON-RPC error codes Warden answers with (JSON-RPC 2.0 section 5.1, and the MCP SDK's
 * ErrorCode for connection-level failures).
 */
export const JsonRpcCode = {
  ParseError: -32700,
  InvalidRequest: -32600,
  MethodNotFound: -32601,
  InvalidParams: -32602,
  InternalError: -32603,
  /** The upstream connection is gone or unavailable (SDK ErrorCode.ConnectionClosed). */
  ConnectionClosed: -32000,
} as const;

const CODE_FOR: Partial<Record<WardenErrorCode, number>> = {
  UPSTREAM_UNAVAILABLE: JsonRpcCode.ConnectionClosed,
  UPSTREAM_CRASHED: JsonRpcCode.ConnectionClosed,
  CIRCUIT_OPEN: JsonRpcCode.ConnectionClosed,
  SERVER_UNKNOWN: JsonRpcCode.InvalidRequest,
  REFUSED: JsonRpcCode.InvalidParams,
};

/**
 * The upstream answered one of Warden's own requests with a JSON-RPC error (JSON-RPC 2.0
 * section 5.1): `code` and `data` are the server's.
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

/** A JSON-RPC error response; `data.reason` carries Warden's error code when there is one. */
export function errorResponse(
  id: RequestId | null,
  code: number,
  message: string,
  reason?: string,
): JSONRPCMessage {
  return {
    jsonrpc: '2.0',
    id,
    error: { code, message, ...(reason ? { data: { source: 'mcp-warden', reason } } : {}) },
  } as JSONRPCMessage;
}

/** Maps any thrown value to the JSON-RPC error answering request `id` (the one edge mapping). */
export function errorResponseFor(id: RequestId, error: unknown): JSONRPCMessage {
  if (isWardenError(error)) {
    return errorResponse(
      id,
      CODE_FOR[error.code] ?? JsonRpcCode.InternalError,
      `MCP Warden: ${error.message}`,
      error.code,
    );
  }
  const message = error instanceof Error ? error.message : String(error);
  return errorResponse(id, JsonRpcCode.InternalError, `MCP Warden: ${message}`);
}

/** A key for a JSON-RPC id usable in a Map (1 and "1" are different ids). */
export function idKey(id: RequestId): string {
  return typeof id === 'number' ? `n:${id}` : `s:${id}`;
}
