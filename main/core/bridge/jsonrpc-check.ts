import type {
  JSONRPCErrorResponse,
  JSONRPCMessage,
  JSONRPCNotification,
  JSONRPCRequest,
  JSONRPCResultResponse,
  RequestId,
} from '@modelcontextprotocol/server';

/**
 * Largest JSON-RPC message Warden takes from a client, bytes (4 MiB): one HTTP request body
 * (MAX_REQUEST_BYTES) or one line on stdio and the local socket (MAX_LINE_BYTES).
 */
export const MAX_MESSAGE_BYTES = 4 * 1024 * 1024;

/** The `_meta` key that ties a message to a task (MCP 2025-11-25, tasks). */
const RELATED_TASK = 'io.modelcontextprotocol/related-task';

const has = Object.hasOwn;

type JsonObject = Record<string, unknown>;

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A JSON-RPC id as MCP takes it: a string or a safe integer (never null, never a fraction). */
function isId(value: unknown): value is RequestId {
  return typeof value === 'string' || Number.isSafeInteger(value);
}

function keyCount(value: JsonObject): number {
  let count = 0;
  for (const key in value) if (has(value, key)) count++;
  return count;
}

/**
 * A `result`: an object whose `_meta`, when present, is an object. The SDK's ResultSchema types
 * only `io.modelcontextprotocol/serverInfo` in it, and takes any value there (`.catch`), so no key
 * of a result's `_meta` is checked; the request keys (progressToken, related task) are not
 * result keys.
 */
function isResult(value: unknown): boolean {
  return isObject(value) && (!has(value, '_meta') || isObject(value._meta));
}

/** `params`: an object whose `_meta`, when present, is an object with well-typed known keys. */
function isParams(value: unknown): boolean {
  if (!isObject(value)) return false;
  if (!has(value, '_meta')) return true;
  const meta = value._meta;
  if (!isObject(meta)) return false;
  if (has(meta, 'progressToken') && !isId(meta.progressToken)) return false;
  if (has(meta, RELATED_TASK)) {
    const related = meta[RELATED_TASK];
    if (!isObject(related) || typeof related.taskId !== 'string') return false;
  }
  return true;
}

/** What a JSON-RPC message is, as far as its transport is concerned. */
export type JsonRpcMessageKind = 'request' | 'notification' | 'response';

/**
 * What a parsed JSON value is as a JSON-RPC 2.0 message of MCP 2025-11-25 (basic, "Messages"), in
 * one structural pass with no allocation: `request` (jsonrpc, id, method, params?), `notification`
 * (jsonrpc, method, params?), `response` (jsonrpc, id, result, or jsonrpc, id?, error {code,
 * message, data?}), or undefined when it is none of them. It accepts exactly what the MCP SDK's
 * JSONRPCMessageSchema (zod) accepts: no member beyond those, `jsonrpc` "2.0", ids strings or safe
 * integers, `params` objects whose `_meta` (if any) is an object with a string or integer
 * `progressToken` and a related task `{ taskId: string }`, `result` objects whose `_meta` (if any)
 * is an object; an error's code a safe integer.
 * (test/unit/jsonrpc-check.test.ts checks the two agree on arbitrary input.)
 */
export function jsonRpcKindOf(value: unknown): JsonRpcMessageKind | undefined {
  if (!isObject(value) || value.jsonrpc !== '2.0') return undefined;
  const keys = keyCount(value);
  const hasId = has(value, 'id');
  if (hasId && !isId(value.id)) return undefined;
  if (has(value, 'method')) {
    if (typeof value.method !== 'string') return undefined;
    const hasParams = has(value, 'params');
    if (hasParams && !isParams(value.params)) return undefined;
    if (keys !== 2 + (hasParams ? 1 : 0) + (hasId ? 1 : 0)) return undefined;
    return hasId ? 'request' : 'notification';
  }
  if (has(value, 'result')) {
    return hasId && keys === 3 && isResult(value.result) ? 'response' : undefined;
  }
  if (has(value, 'error')) {
    if (keys !== 2 + (hasId ? 1 : 0)) return undefined;
    const error = value.error;
    return isObject(error) && Number.isSafeInteger(error.code) && typeof error.message === 'string'
      ? 'response'
      : undefined;
  }
  return undefined;
}

/**
 * Whether a message already checked by jsonRpcKindOf is a request (it has both a method and an
 * id): a membership test, not a second validation.
 */
export function isCheckedRequest(message: JSONRPCMessage): message is JSONRPCRequest {
  return 'method' in message && 'id' in message;
}

/**
 * Whether a message already checked by jsonRpcKindOf is a notification (a method, no id): a
 * membership test, not a second validation.
 */
export function isCheckedNotification(message: JSONRPCMessage): message is JSONRPCNotification {
  return 'method' in message && !('id' in message);
}

/** Whether a message already checked by jsonRpcKindOf is a response (a result or an error). */
export function isCheckedResponse(
  message: JSONRPCMessage,
): message is JSONRPCResultResponse | JSONRPCErrorResponse {
  return 'result' in message || 'error' in message;
}

/** Whether a message already checked by jsonRpcKindOf is a result response (it has a `result`). */
export function isCheckedResult(message: JSONRPCMessage): message is JSONRPCResultResponse {
  return 'result' in message;
}

/** Whether a message already checked by jsonRpcKindOf is an error response (it has an `error`). */
export function isCheckedError(message: JSONRPCMessage): message is JSONRPCErrorResponse {
  return 'error' in message;
}
