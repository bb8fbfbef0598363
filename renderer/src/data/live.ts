import { useEffect, useRef, useState } from 'react';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import type { ApprovalRequest, StatusResponse } from '../../../main/core/control/contract.ts';
import type { WardenApi } from '../../../main/core/control/warden-api.ts';
import { message } from './message.ts';
import { isNewestAuditPage, queryKeys, STATUS_READS } from './queries.ts';

/** What every view needs live: the daemon's status and the pending approvals. */
export interface LiveState {
  status: StatusResponse | undefined;
  approvals: ApprovalRequest[];
  /** The last failure to reach the daemon, if the latest attempt failed. */
  error: string | undefined;
  /** Reads status and approvals again now. */
  refresh: () => void;
}

/** Coalesces bursts of audit events into one re-read, ms. */
const AUDIT_DEBOUNCE_MS = 250;

/**
 * Follows the daemon's event stream into the query cache: approvals are added and removed as
 * they are requested and resolved, `status.changed` re-reads status, pins and policy, audit rows
 * re-read the newest audit page (debounced), and every (re)connect re-reads everything (events
 * may have been missed meanwhile).
 */
export function useLive(api: WardenApi): LiveState {
  const client = useQueryClient();
  const status = useQuery({ queryKey: queryKeys.status, queryFn: () => api.status() });
  const approvals = useQuery({ queryKey: queryKeys.approvals, queryFn: () => api.approvals() });
  const auditTimer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);

  useEffect(() => {
    const setApprovals = (change: (list: ApprovalRequest[]) => ApprovalRequest[]): void =>
      void client.setQueryData<ApprovalRequest[]>(queryKeys.approvals, (list) => change(list ?? []));
    const stop = api.subscribe(
      (event) => {
        switch (event.type) {
          case 'approval.requested':
            setApprovals((list) =>
              list.some((a) => a.id === event.request.id) ? list : [...list, event.request],
            );
            break;
          case 'approval.resolved':
            setApprovals((list) => list.filter((a) => a.id !== event.id));
            break;
          case 'audit.recorded':
            clearTimeout(auditTimer.current);
            auditTimer.current = setTimeout(
              () => void client.invalidateQueries({ predicate: (q) => isNewestAuditPage(q.queryKey) }),
              AUDIT_DEBOUNCE_MS,
            );
            break;
          case 'status.changed':
            for (const queryKey of [...STATUS_READS, queryKeys.approvals])
              void client.invalidateQueries({ queryKey });
            break;
        }
      },
      () => void client.invalidateQueries(),
    );
    return () => {
      stop();
      clearTimeout(auditTimer.current);
    };
  }, [api, client]);

  const failed = status.error ?? approvals.error;
  return {
    status: status.data,
    approvals: approvals.data ?? [],
    error: failed ? message(failed) : undefined,
    refresh: () => {
      void client.invalidateQueries({ queryKey: queryKeys.status });
      void client.invalidateQueries({ queryKey: queryKeys.approvals });
    },
  };
}

/** The current location fragment as a route ("/servers"), updated on hashchange. */
export function useRoute(): string {
  const read = (): string => window.location.hash.replace(/^#/, '') || '/servers';
  const [route, setRoute] = useState(read);
  useEffect(() => {
    const onChange = (): void => setRoute(read());
    window.addEventListener('hashchange', onChange);
    return () => window.removeEventListener('hashchange', onChange);
  }, []);
  return route;
}
