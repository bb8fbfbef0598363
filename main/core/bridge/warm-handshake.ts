import canonicalize from 'canonicalize';
import type { InitializeRequest } from '@modelcontextprotocol/server';

/** The params of an MCP `initialize` request (MCP 2025-11-25, basic/lifecycle#initialization). */
export type InitializeParams = InitializeRequest['params'];

/**
 * The part of an initialize that decides what the server answers and how it behaves for the
 * session: every param except `clientInfo` (protocolVersion, capabilities, `_meta` and anything
 * else a client sends), as canonical JSON (RFC 8785), so key order does not matter.
 * @throws TypeError (from `canonicalize`) for a value JSON cannot carry (never for parsed JSON).
 */
export function handshakeKey(params: InitializeParams): string {
  const { clientInfo: _clientInfo, ...rest } = params;
  return canonicalize(rest) ?? '{}';
}

/**
 * Whether a warm upstream initialized with `warm` may answer a session that sent `client`: the
 * two must be the same in everything but clientInfo (see handshakeKey). A server that was
 * initialized for the earlier client saw that client's clientInfo, not this one's.
 */
export function sameHandshake(warm: InitializeParams, client: InitializeParams): boolean {
  return handshakeKey(warm) === handshakeKey(client);
}
