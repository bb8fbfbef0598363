import type { z } from 'zod';
import { exportStream } from '../../audit/audit-export.ts';
import { AuditReader, type AuditFilter } from '../../audit/audit-reader.ts';
import type { auditQuerySchema } from '../contract.ts';
import type { ControlHandlers } from '../invoke.ts';

/** Where the audit log is: a read-only connection sees every committed row (WAL). */
export interface AuditPorts {
  auditFile: string;
}

/** The audit log: a filtered page, and the filtered log as a download. */
export function auditHandlers({ auditFile }: AuditPorts): Pick<ControlHandlers, 'audit' | 'exportAudit'> {
  return {
    audit: ({ query }) => {
      const reader = AuditReader.open(auditFile);
      try {
        return reader.query(auditFilter(query), query.limit);
      } finally {
        reader.close();
      }
    },
    exportAudit: ({ query: { format, ...query } }) => {
      const reader = AuditReader.open(auditFile);
      try {
        const stream = exportStream(reader.iterateFiltered(auditFilter(query)), format);
        stream.once('close', () => reader.close());
        return Promise.resolve({
          contentType: format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson; charset=utf-8',
          filename: `mcp-warden-audit.${format}`,
          stream,
        });
      } catch (error) {
        reader.close();
        throw error;
      }
    },
  };
}

function auditFilter(query: Omit<z.output<typeof auditQuerySchema>, 'limit'>): AuditFilter {
  return {
    ...(query.client ? { client: query.client } : {}),
    ...(query.server ? { server: query.server } : {}),
    ...(query.tool ? { tool: query.tool } : {}),
    ...(query.decision ? { decision: query.decision } : {}),
    ...(query.outcome ? { outcome: query.outcome } : {}),
    ...(query.since ? { sinceMs: Date.parse(query.since) } : {}),
    ...(query.until ? { untilMs: Date.parse(query.until) } : {}),
    ...(query.q ? { text: query.q } : {}),
    ...(query.before ? { beforeId: query.before } : {}),
  };
}
