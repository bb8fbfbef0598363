import {
  CLIENT_CAPABILITIES_META_KEY,
  CLIENT_INFO_META_KEY,
  PROTOCOL_VERSION_META_KEY,
  SUBSCRIPTION_ID_META_KEY,
} from '@modelcontextprotocol/server';

/**
 * The modern revision Warden speaks (MCP 2026-07-28): no initialize, each request carries its
 * version, capabilities and client identity in `_meta` (spec basic/versioning, basic/index#_meta).
 */
export const MODERN_PROTOCOL_VERSION = '2026-07-28';

/** The revisions Warden serves on its modern path, newest first (what `server/discover` names). */
export const MODERN_VERSIONS: readonly string[] = [MODERN_PROTOCOL_VERSION];

/** The era of one protocol party: `legacy` = 2025-11-25 and before, `modern` = 2026-07-28 on. */
export type ProtocolEra = 'legacy' | 'modern';

/** The 2026-07-28 error codes (spec changelog, minor 6 and 12; ProtocolErrorCode of the SDK v2). */
export const MODERN_ERROR = {
  /** A `Mcp-*` header disagrees with the body (HTTP 400). */
  HeaderMismatch: -32020,
  /** The request needs a client capability its `clientCapabilities` did not declare. */
  MissingRequiredClientCapability: -32021,
  /** The request's protocol version is not served. */
  UnsupportedProtocolVersion: -32022,
} as const;

/**
 * The HTTP status of a JSON-RPC error response that answers a 2026-07-28 request on Streamable
 * HTTP (spec basic/transports/streamable-http, basic/index#statelessness; the SDK v2 server's
 * table): 404 for method not found (-32601), 400 for a parse error, an invalid request, a header
 * mismatch (-32020), a missing client capability (-32021) and an unsupported protocol version
 * (-32022); 200 for every other code (the error is the payload, not an HTTP failure).
 */
export function modernErrorHttpStatus(code: number): number {
  return MODERN_ERROR_HTTP_STATUS.get(code) ?? 200;
}

const MODERN_ERROR_HTTP_STATUS: ReadonlyMap<number, number> = new Map([
  [-32700, 400],
  [-32600, 400],
  [-32601, 404],
  [MODERN_ERROR.HeaderMismatch, 400],
  [MODERN_ERROR.MissingRequiredClientCapability, 400],
  [MODERN_ERROR.UnsupportedProtocolVersion, 400],
]);

/**
 * The -32022 error of a 2026-07-28 request whose claimed protocol version Warden does not serve
 * (spec basic/versioning): `data.supported` lists MODERN_VERSIONS, `data.requested` echoes the
 * claim.
 */
export function unsupportedVersionError(requested: string): {
  code: number;
  message: string;
  data: Record<string, unknown>;
} {
  return {
    code: MODERN_ERROR.UnsupportedProtocolVersion,
    message: `Unsupported protocol version: ${requested} (MCP Warden serves ${MODERN_VERSIONS.join(', ')})`,
    data: { supported: [...MODERN_VERSIONS], requested, source: 'mcp-warden' },
  };
}

/**
 * A result as the 2026-07-28 schema requires it: with `resultType` (spec basic/index#result-type;
 * `"complete"` when the result does not say otherwise). Warden's own results (refusals, lists)
 * get it here; a server's own `resultType` is kept.
 */
export function withResultType(result: Record<string, unknown>): Record<string, unknown> {
  return 'resultType' in result ? result : { ...result, resultType: 'complete' };
}

export {
  CLIENT_CAPABILITIES_META_KEY,
  CLIENT_INFO_META_KEY,
  PROTOCOL_VERSION_META_KEY,
  SUBSCRIPTION_ID_META_KEY,
};

/** The request `_meta` object of `params`, when it is one. */
export function requestMeta(params: unknown): Record<string, unknown> | undefined {
  if (!params || typeof params !== 'object') return undefined;
  const meta = (params as { _meta?: unknown })._meta;
  return meta && typeof meta === 'object' && !Array.isArray(meta)
    ? (meta as Record<string, unknown>)
    : undefined;
}

/**
 * The protocol version a request claims in `_meta["io.modelcontextprotocol/protocolVersion"]`
 * when it is a modern one (2026-07-28 or later, compared as the spec's date strings), else
 * undefined: a request without the claim is legacy traffic (spec basic/versioning).
 */
export function modernClaim(params: unknown): string | undefined {
  const version = requestMeta(params)?.[PROTOCOL_VERSION_META_KEY];
  return typeof version === 'string' && version >= MODERN_PROTOCOL_VERSION ? version : undefined;
}

/**
 * Whether a client's first request opens the modern era: `server/discover`, or any request
 * whose `_meta` claims a modern protocol version. `initialize` never does (it is the legacy
 * handshake by definition).
 */
export function opensModernEra(method: string, params: unknown): boolean {
  if (method === 'initialize') return false;
  return method === 'server/discover' || modernClaim(params) !== undefined;
}

/** A client's self-reported identity from a modern request's `_meta` (never trusted for decisions). */
export function modernClientInfo(params: unknown): { name?: string; version?: string } {
  const info = requestMeta(params)?.[CLIENT_INFO_META_KEY];
  if (!info || typeof info !== 'object') return {};
  const { name, version } = info as { name?: unknown; version?: unknown };
  return {
    ...(typeof name === 'string' && name ? { name } : {}),
    ...(typeof version === 'string' && version ? { version } : {}),
  };
}

/** The client capabilities a modern request declared in its `_meta` (empty when none). */
export function declaredCapabilities(params: unknown): Record<string, unknown> {
  const caps = requestMeta(params)?.[CLIENT_CAPABILITIES_META_KEY];
  return caps && typeof caps === 'object' && !Array.isArray(caps) ? (caps as Record<string, unknown>) : {};
}

/**
 * The `_meta` Warden's own modern requests upstream carry (its tools/list to check pins, its
 * probe): the version, no client capabilities (Warden answers no input requests of its own),
 * and Warden as the client.
 */
export function wardenEnvelope(version: string): Record<string, unknown> {
  return {
    [PROTOCOL_VERSION_META_KEY]: MODERN_PROTOCOL_VERSION,
    [CLIENT_CAPABILITIES_META_KEY]: {},
    [CLIENT_INFO_META_KEY]: { name: 'mcp-warden', version },
  };
}
