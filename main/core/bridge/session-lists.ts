import type { JSONRPCRequest } from '@modelcontextprotocol/server';
import type { PinKind } from '../pins/definition-hash.ts';
import type { PinnedLists } from './pinned-lists.ts';

/** The list each list_changed notification is about (resource templates change with resources). */
export const LIST_CHANGED: Readonly<Record<string, PinKind>> = {
  'notifications/tools/list_changed': 'tool',
  'notifications/prompts/list_changed': 'prompt',
  'notifications/resources/list_changed': 'resourceTemplate',
};

/**
 * For a request that singles out one prompt or resource (`prompts/get`, `resources/read`,
 * `resources/subscribe`, `completion/complete`, and the URIs a 2026-07-28 `subscriptions/listen`
 * watches), how to learn whether what it names is hidden:
 * the check makes the list complete first (PinnedLists.ensure), then resolves with the reason
 * it is hidden, or undefined. Undefined for every other request (nothing to check). A
 * completion for a hidden prompt or resource template would leak what it hides, so it is
 * checked too. The check rejects when the list cannot be read (the request is refused then).
 */
export function hiddenCheck(
  lists: PinnedLists,
  request: JSONRPCRequest,
): (() => Promise<string | undefined>) | undefined {
  const params = request.params ?? {};
  switch (request.method) {
    case 'prompts/get':
      return () => hiddenPrompt(lists, params.name);
    case 'resources/read':
    case 'resources/subscribe':
      return () => hiddenResource(lists, params.uri);
    case 'subscriptions/listen':
      // MCP 2026-07-28 basic/patterns/subscriptions: each URI it watches is judged like a read.
      return async () => {
        const filter = params.notifications as { resourceSubscriptions?: unknown } | undefined;
        const uris = filter?.resourceSubscriptions;
        if (!Array.isArray(uris)) return undefined;
        for (const uri of uris) {
          const reason = await hiddenResource(lists, uri);
          if (reason !== undefined) return reason;
        }
        return undefined;
      };
    case 'completion/complete':
      return async () => {
        const { type, name, uri } = (params.ref ?? {}) as { type?: unknown; name?: unknown; uri?: unknown };
        if (type === 'ref/prompt') return hiddenPrompt(lists, name);
        if (type === 'ref/resource') return hiddenResource(lists, uri);
        return undefined;
      };
    default:
      return undefined;
  }
}

async function hiddenPrompt(lists: PinnedLists, name: unknown): Promise<string | undefined> {
  if (typeof name !== 'string') return undefined;
  await lists.ensure('prompt');
  return lists.hiddenReason('prompt', name);
}

async function hiddenResource(lists: PinnedLists, uri: unknown): Promise<string | undefined> {
  if (typeof uri !== 'string') return undefined;
  await lists.ensure('resourceTemplate');
  return lists.hiddenResourceReason(uri);
}
