import type { ServerResponse } from 'node:http';
import type { RequestId } from '@modelcontextprotocol/server';
import { errorResponseFor } from '../bridge/jsonrpc.ts';
import { httpStatusOf, type WardenError } from '../errors.ts';

/** Answers `body` as JSON with `status`. */
export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** Answers with `error` as a JSON-RPC error response (to request `id`, if known) and its HTTP status. */
export function sendJsonRpcError(res: ServerResponse, error: WardenError, id: RequestId | null = null): void {
  sendJson(res, httpStatusOf(error), errorResponseFor(id, error));
}
