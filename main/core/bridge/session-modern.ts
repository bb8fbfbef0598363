import type { JSONRPCMessage, RequestId } from '@modelcontextprotocol/server';
import { WardenError } from '../errors.ts';
import { isInputRequired, undeclaredInputCapabilities } from '../era/input-requests.ts';
import {
  declaredCapabilities,
  MODERN_ERROR,
  MODERN_VERSIONS,
  PROTOCOL_VERSION_META_KEY,
  requestMeta,
  SUBSCRIPTION_ID_META_KEY,
  unsupportedVersionError,
} from '../era/modern.ts';
import type { Exchange, Exchanges } from './exchanges.ts';
import { errorResponseWith } from './jsonrpc.ts';
import { isCheckedNotification } from './jsonrpc-check.ts';

/**
 * What a BridgeSession does differently for a 2026-07-28 session (docs/protocol-eras.md), as
 * functions of the messages: the answer to `server/discover`, the capability check of
 * `input_required` results, the subscription ids of `subscriptions/listen` notifications.
 */

/**
 * Warden's answer to `server/discover` from the server's result (MCP 2026-07-28 server/discover):
 * `supportedVersions` cut to the versions Warden serves, and `cacheScope: "private"` (what Warden
 * offers is filtered per user: server/utilities/caching).
 */
export function discoverAnswer(id: RequestId, result: Record<string, unknown>): JSONRPCMessage {
  const offered = Array.isArray(result.supportedVersions) ? (result.supportedVersions as unknown[]) : [];
  return {
    jsonrpc: '2.0',
    id,
    result: {
      ...result,
      supportedVersions: MODERN_VERSIONS.filter((v) => offered.includes(v)),
      ...('cacheScope' in result ? { cacheScope: 'private' } : {}),
    },
  };
}

/**
 * The -32022 answer to a request of a 2026-07-28 session whose `_meta` claims a protocol version
 * Warden does not serve (spec basic/versioning: the server answers with the versions it
 * supports; Warden's `server/discover` names the same); undefined when the claim is served or
 * absent (the server judges a request without one).
 */
export function unservedVersionAnswer(id: RequestId, params: unknown): JSONRPCMessage | undefined {
  const claimed = requestMeta(params)?.[PROTOCOL_VERSION_META_KEY];
  if (claimed === undefined || (typeof claimed === 'string' && MODERN_VERSIONS.includes(claimed)))
    return undefined;
  return errorResponseWith(
    id,
    unsupportedVersionError(typeof claimed === 'string' ? claimed : JSON.stringify(claimed)),
  );
}

/**
 * For an `input_required` result (MCP 2026-07-28 basic/patterns/mrtr): the capabilities its input
 * requests need that the request `exchange` did not declare (empty when covered); undefined for
 * any other result.
 */
export function inputCapabilityGap(exchange: Exchange, result: unknown): string[] | undefined {
  if (!isInputRequired(result)) return undefined;
  return undeclaredInputCapabilities(result, declaredCapabilities(exchange.params));
}

/** The -32021 answer to a request whose `input_required` result asked for `missing`, and its text. */
export function missingCapabilityAnswer(
  id: RequestId,
  missing: string[],
): { message: JSONRPCMessage; error: string } {
  const error = `the server asked for input the client did not declare it can give (${missing.join(', ')})`;
  return {
    error,
    message: errorResponseWith(id, {
      code: MODERN_ERROR.MissingRequiredClientCapability,
      message: `MCP Warden: ${error}`,
      // A ClientCapabilities object keyed by the missing capabilities (spec basic/index#errors).
      data: {
        source: 'mcp-warden',
        reason: 'MISSING_CLIENT_CAPABILITY',
        requiredCapabilities: Object.fromEntries(missing.map((name) => [name, {}])),
      },
    }),
  };
}

/**
 * A notification of a `subscriptions/listen` stream (MCP 2026-07-28 basic/patterns/subscriptions):
 * its `_meta` subscription id is the id Warden forwarded the listen under; the client must see
 * its own. @returns the rewritten message and the listen request's client id, or undefined.
 */
export function listenNotification(
  message: JSONRPCMessage,
  exchanges: Exchanges,
): { message: JSONRPCMessage; id: RequestId } | undefined {
  if (!isCheckedNotification(message)) return undefined;
  const meta = requestMeta(message.params);
  const subscription = meta?.[SUBSCRIPTION_ID_META_KEY];
  if (subscription === undefined) return undefined;
  const exchange = exchanges.forwardedAs(subscription);
  if (!exchange || exchange.method !== 'subscriptions/listen') return undefined;
  return {
    message: {
      ...message,
      params: { ...message.params, _meta: { ...meta, [SUBSCRIPTION_ID_META_KEY]: exchange.id } },
    },
    id: exchange.id,
  };
}

/** Whether an HTTP failure's text carries the unsupported-protocol-version error (-32022). */
export function unsupportedVersion(detail: string): boolean {
  return detail.includes(String(MODERN_ERROR.UnsupportedProtocolVersion));
}

/** The refusal of a 2025-11-25 initialize by a server of the 2026-07-28 era, with the reason. */
export function initializeRefusal(server: string, detail: string): WardenError {
  return new WardenError(
    'UPSTREAM_UNAVAILABLE',
    `server "${server}" speaks MCP 2026-07-28 and refused this MCP 2025-11-25 initialize (${detail}); MCP Warden does not translate a 2025-11-25 client to it: use a client that speaks MCP 2026-07-28`,
  );
}
