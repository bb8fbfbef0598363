import { performance } from 'node:perf_hooks';
import type { AuditCallEnd, AuditCallStart, AuditLog } from '../audit/audit-log.ts';
import type { CallRecorder } from '../bridge/session-ports.ts';
import type { WardenMetrics } from './warden-metrics.ts';

/**
 * A session's audit recorder (CallRecorder) over the audit log's queued writes that also feeds
 * the metrics from what every call already writes: the start row (its labels), the outcome or
 * refusal (the counter and duration histogram) and each write's latency from queueing to
 * commit. A call is counted once its row is committed; a write that fails counts nothing and
 * rejects as the audit log's does.
 * @param audit the audit log's queued writes (AuditLog.queueCall, queueOutcome, queueRefusal).
 */
export function meteredRecorder(
  audit: Pick<AuditLog, 'queueCall' | 'queueOutcome' | 'queueRefusal'>,
  metrics: WardenMetrics,
): CallRecorder {
  return {
    recordCall: (start: AuditCallStart) => {
      const queued = performance.now();
      return audit.queueCall(start).then((id) => {
        metrics.auditWrite('call', performance.now() - queued);
        metrics.callStarted(id, start.server, start.tool, start.decision);
        return id;
      });
    },
    recordOutcome: (id: number, end: AuditCallEnd) => {
      const queued = performance.now();
      return audit.queueOutcome(id, end).then(() => {
        metrics.auditWrite('outcome', performance.now() - queued);
        metrics.callEnded(id, end.outcome, end.durationMs);
      });
    },
    recordRefusal: (start: AuditCallStart, error: string, durationMs?: number) => {
      const queued = performance.now();
      return audit.queueRefusal(start, error, durationMs).then((id) => {
        metrics.auditWrite('refusal', performance.now() - queued);
        metrics.refused(start.server, start.tool, start.reason, durationMs ?? 0);
        return id;
      });
    },
  };
}
