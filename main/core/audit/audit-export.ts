import type * as CsvStringify from 'csv-stringify';
import { lazyModule } from '../lazy-module.ts';

/** csv-stringify, loaded by the first CSV export. */
const csv = lazyModule<typeof CsvStringify>('csv-stringify', 'the CSV writer');
import os from 'node:os';
import { Readable } from 'node:stream';
import { WARDEN_VERSION } from '../version.ts';
import type { AuditRecord } from './audit-reader.ts';
import { toOcsfApiActivity, type OcsfContext } from './ocsf.ts';

/** The formats of `audit export`. */
export type ExportFormat = 'csv' | 'jsonl' | 'ocsf';

/** CSV columns of an export: the database's column names, in its order. */
export const CSV_COLUMNS: ReadonlyArray<{ key: keyof AuditRecord; header: string }> = [
  { key: 'id', header: 'id' },
  { key: 'ts', header: 'ts' },
  { key: 'sessionId', header: 'session_id' },
  { key: 'clientName', header: 'client_name' },
  { key: 'clientVersion', header: 'client_version' },
  { key: 'server', header: 'server' },
  { key: 'tool', header: 'tool' },
  { key: 'requestId', header: 'request_id' },
  { key: 'arguments', header: 'arguments' },
  { key: 'decision', header: 'decision' },
  { key: 'reason', header: 'reason' },
  { key: 'outcome', header: 'outcome' },
  { key: 'error', header: 'error' },
  { key: 'durationMs', header: 'duration_ms' },
  { key: 'policyVersion', header: 'policy_version' },
];

/**
 * Records as a byte stream: JSON lines (one record per line), CSV (RFC 4180, header row,
 * `arguments` as JSON text, formula-looking cells escaped so a spreadsheet does not run them) or
 * OCSF (JSON lines of OCSF 1.8.0 API Activity events, ocsf.ts; the arguments are not in them).
 * The records are pulled one at a time as the stream is read.
 * @param context for `ocsf`: the OS user, hostname and version the events name (default: this
 *   process's, see {@link localOcsfContext}).
 */
export function exportStream(
  records: Iterable<AuditRecord>,
  format: ExportFormat,
  context: OcsfContext = localOcsfContext(),
): Readable {
  if (format === 'csv') {
    return Readable.from(csvRows(records)).pipe(
      csv().stringify({
        header: true,
        columns: CSV_COLUMNS.map((c) => ({ key: c.key, header: c.header })),
        escape_formulas: true,
      }),
    );
  }
  return Readable.from(
    format === 'ocsf'
      ? jsonLines(records, (r) => toOcsfApiActivity(r, context))
      : jsonLines(records, (r) => r),
  );
}

/** The OS user (name and POSIX uid), hostname and Warden version of this process, for OCSF events. */
export function localOcsfContext(): OcsfContext {
  const info = os.userInfo();
  return {
    user: { name: info.username, ...(info.uid >= 0 ? { uid: String(info.uid) } : {}) },
    hostname: os.hostname(),
    version: WARDEN_VERSION,
  };
}

function* jsonLines(
  records: Iterable<AuditRecord>,
  shape: (record: AuditRecord) => unknown,
): Generator<string> {
  for (const record of records) yield JSON.stringify(shape(record)) + '\n';
}

function* csvRows(records: Iterable<AuditRecord>): Generator<Record<string, unknown>> {
  for (const record of records) {
    yield { ...record, arguments: record.arguments === null ? null : JSON.stringify(record.arguments) };
  }
}
