import {
  keepPreviousData,
  QueryClient,
  useQuery,
  type QueryKey,
  type UseQueryResult,
} from '@tanstack/react-query';
import type { AuditQuery } from '../../../main/core/control/contract.ts';
import type { WardenApi } from '../../../main/core/control/warden-api.ts';
import { message } from './message.ts';

/**
 * The cache keys of the WardenApi reads, one per read (audit per query). Invalidation by prefix:
 * `policy` covers the three policy reads, `audit` every audit page.
 */
export const queryKeys = {
  status: ['status'],
  approvals: ['approvals'],
  pins: ['pins'],
  clients: ['clients'],
  secrets: ['secrets'],
  policy: ['policy'],
  effectivePolicy: ['policy', 'effective'],
  policyStatus: ['policy', 'status'],
  rules: ['policy', 'rules'],
  audit: ['audit'],
  auditPage: (query: AuditQuery) => ['audit', query] as const,
  /** Not under `audit`: recomputing the chain is not worth doing for every row written. */
  auditChain: ['chain'],
} satisfies Record<string, QueryKey | ((...args: never[]) => QueryKey)>;

/**
 * What the daemon changed, by event, to the reads that must run again: `status.changed` (servers,
 * pins, policy) re-reads status, pins and the policy; an audit row the newest audit pages.
 */
export const STATUS_READS: readonly QueryKey[] = [queryKeys.status, queryKeys.pins, queryKeys.policy];

/**
 * The UI's query cache. Fresh data comes from the daemon's events and from invalidation after a
 * change, so a failed read is shown at once (no retries) and focus does not re-read; a page that
 * mounts reads again (stale at once), keeping what it showed until the answer arrives.
 */
export function createQueryClient(): QueryClient {
  return new QueryClient({
    defaultOptions: {
      queries: { retry: false, refetchOnWindowFocus: false, refetchOnReconnect: false, staleTime: 0 },
    },
  });
}

/** A read's result as the pages show it: the last good value and the latest failure's message. */
export interface Loaded<T> {
  data: T | undefined;
  error: string | undefined;
}

function loaded<T>(query: UseQueryResult<T>): Loaded<T> {
  return { data: query.data, error: query.error ? message(query.error) : undefined };
}

/** WardenApi.pins, re-read on status.changed. */
export const usePins = (api: WardenApi) =>
  loaded(useQuery({ queryKey: queryKeys.pins, queryFn: () => api.pins() }));

/** WardenApi.clients. */
export const useClients = (api: WardenApi) =>
  loaded(useQuery({ queryKey: queryKeys.clients, queryFn: () => api.clients() }));

/** WardenApi.secrets (names only). */
export const useSecrets = (api: WardenApi) =>
  loaded(useQuery({ queryKey: queryKeys.secrets, queryFn: () => api.secrets() }));

/** WardenApi.effectivePolicy, re-read on status.changed. */
export const useEffectivePolicy = (api: WardenApi) =>
  loaded(useQuery({ queryKey: queryKeys.effectivePolicy, queryFn: () => api.effectivePolicy() }));

/** WardenApi.policyStatus, re-read on status.changed. */
export const usePolicyStatus = (api: WardenApi) =>
  loaded(useQuery({ queryKey: queryKeys.policyStatus, queryFn: () => api.policyStatus() }));

/** WardenApi.rules (remembered approvals), re-read on status.changed. */
export const useRules = (api: WardenApi) =>
  loaded(useQuery({ queryKey: queryKeys.rules, queryFn: () => api.rules() }));

/**
 * One page of WardenApi.audit. The newest page (no `before`) is re-read when audit rows are
 * written; a page further back stays as it was read. The previous page stays shown while a new
 * filter loads.
 */
export const useAuditPage = (api: WardenApi, query: AuditQuery) =>
  loaded(
    useQuery({
      queryKey: queryKeys.auditPage(query),
      queryFn: () => api.audit(query),
      placeholderData: keepPreviousData,
    }),
  );

/** Whether a cached audit page is the newest one (its query has no `before`). */
export function isNewestAuditPage(key: QueryKey): boolean {
  const query = key[1] as AuditQuery | undefined;
  return key[0] === 'audit' && query?.before === undefined;
}

/** How often the Activity page re-reads the chain state, ms. */
export const CHAIN_REFRESH_MS = 60_000;

/** WardenApi.auditChain: read when the page mounts, then every CHAIN_REFRESH_MS. */
export const useAuditChain = (api: WardenApi) =>
  loaded(
    useQuery({
      queryKey: queryKeys.auditChain,
      queryFn: () => api.auditChain(),
      refetchInterval: CHAIN_REFRESH_MS,
    }),
  );
