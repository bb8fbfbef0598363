import type { IncomingMessage } from 'node:http';

/**
 * The URL of a request to the daemon, or undefined when its request target cannot be read as one
 * (e.g. an absolute-form target with a malformed host, `GET http://[ HTTP/1.1`). Only the path
 * and query are used; the Host header, not the target, says which host was asked for.
 */
export function requestUrl(req: IncomingMessage): URL | undefined {
  try {
    return new URL(req.url ?? '/', 'http://127.0.0.1');
  } catch {
    return undefined;
  }
}

/**
 * The server an MCP endpoint path names: `/mcp/<name, percent-encoded>` (a trailing "/" is
 * allowed). The inverse of server-name.ts `mcpEndpointPath`.
 * @returns `{ name }`; `{ malformed: true }` when the segment is not valid percent-encoded
 *   UTF-8; undefined when the path is not an MCP endpoint path at all.
 */
export function endpointServerName(pathname: string): { name: string } | { malformed: true } | undefined {
  const segment = /^\/mcp\/([^/]+)\/?$/.exec(pathname)?.[1];
  if (segment === undefined) return undefined;
  const name = decodeSegment(segment);
  return name === undefined ? { malformed: true } : { name };
}

/**
 * One percent-encoded path segment, decoded (RFC 3986, section 2.1; UTF-8), or undefined when it
 * is malformed: a `%` not followed by two hex digits, or bytes that are not UTF-8.
 */
export function decodeSegment(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}
