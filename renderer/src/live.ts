import { useCallback, useEffect, useRef, useState } from 'react';
import type { ApprovalRequest, StatusResponse } from '../../main/core/control/contract.ts';
import type { WardenApi } from '../../main/core/control/warden-api.ts';

/** What every view needs live: the daemon's status, the pending approvals, and change counters. */
export interface LiveState {
  status: StatusResponse | undefined;
  approvals: ApprovalRequest[];
  /** Bumped when audit rows were written (the Activity page re-reads). */
  auditVersion: number;
  /** Bumped when servers, pins or policy changed. */
  statusVersion: number;
  /** The last failure to reach the daemon, if the latest attempt failed. */
  error: string | undefined;
  /** Reads status and approvals again now. */
  refresh: () => void;
}

/** Coalesces bursts of audit events into one re-read, ms. */
const AUDIT_DEBOUNCE_MS = 250;

/** Follows the daemon's event stream; re-reads status and approvals on every (re)connect. */
export function useLive(api: WardenApi): LiveState {
  const [status, setStatus] = useState<StatusResponse>();
  const [approvals, setApprovals] = useState<ApprovalRequest[]>([]);
  const [auditVersion, setAuditVersion] = useState(0);
  const [statusVersion, setStatusVersion] = useState(0);
  const [error, setError] = useState<string>();
  const auditTimer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);

  const refresh = useCallback(() => {
    Promise.all([api.status(), api.approvals()]).then(
      ([s, a]) => {
        setStatus(s);
        setApprovals(a);
        setError(undefined);
      },
      (e: unknown) => setError(message(e)),
    );
  }, [api]);

  useEffect(() => {
    const stop = api.subscribe((event) => {
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
          auditTimer.current = setTimeout(() => setAuditVersion((v) => v + 1), AUDIT_DEBOUNCE_MS);
          break;
        case 'status.changed':
          setStatusVersion((v) => v + 1);
          refresh();
          break;
      }
    }, refresh);
    return () => {
      stop();
      clearTimeout(auditTimer.current);
    };
  }, [api, refresh]);

  return { status, approvals, auditVersion, statusVersion, error, refresh };
}

/** Loads `load()` now and whenever `deps` change; keeps the last good value while reloading. */
export function useLoad<T>(
  load: () => Promise<T>,
  deps: readonly unknown[],
): { data: T | undefined; error: string | undefined; reload: () => void } {
  const [data, setData] = useState<T>();
  const [error, setError] = useState<string>();
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let live = true;
    load().then(
      (value) => {
        if (!live) return;
        setData(value);
        setError(undefined);
      },
      (e: unknown) => live && setError(message(e)),
    );
    return () => {
      live = false;
    };
  }, [...deps, tick]);
  return { data, error, reload: () => setTick((t) => t + 1) };
}

/** An error's message for a person. */
export function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
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
