import type * as SdkClient from '@modelcontextprotocol/client';
import { WardenError } from '../errors.ts';
import { lazyModule } from '../lazy-module.ts';

/**
 * The MCP SDK v2 client package (`@modelcontextprotocol/client`: the Streamable HTTP client
 * transport, its OAuth flow, `SdkHttpError`), loaded when the first url server connects: a
 * daemon of stdio servers never holds it (main/core/lazy-module.ts).
 * @throws WardenError INTERNAL when the package cannot be loaded (a broken installation).
 */
export const sdkClient = lazyModule<typeof SdkClient>(
  '@modelcontextprotocol/client',
  'the MCP Streamable HTTP client',
);

/** How much of a failed response's body an error message quotes, characters. */
const QUOTED_BODY_CHARS = 500;

/**
 * An SDK client transport's HTTP failure, said with its status: v2's `SdkHttpError` message
 * quotes the response body alone ("Error POSTing to endpoint: <body>"), its status sits in
 * `data`. The body stays in the message (where a refused initialize's -32022 is looked for).
 * @returns WardenError UPSTREAM_UNAVAILABLE "the server answered HTTP <status> <statusText>:
 *   <body, at most 500 characters>" (cause: the SDK's error) for an `SdkHttpError` that has a
 *   status; anything else unchanged.
 */
export function withHttpStatus(error: unknown): unknown {
  const client = sdkClient();
  if (!(error instanceof client.SdkHttpError) || typeof error.data?.status !== 'number') return error;
  const text = (error.data as { text?: unknown }).text;
  const body =
    typeof text === 'string' && text.trim() !== '' ? text.slice(0, QUOTED_BODY_CHARS) : '(no body)';
  const status = [error.data.status, error.data.statusText].filter(Boolean).join(' ');
  return new WardenError('UPSTREAM_UNAVAILABLE', `the server answered HTTP ${status}: ${body}`, {
    cause: error,
  });
}
