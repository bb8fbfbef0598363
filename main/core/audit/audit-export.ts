import type * as CsvStringify from 'csv-stringify';
import { lazyModule } from '../lazy-module.ts';

/** csv-stringify, loaded by the first CSV export. */
const csv = lazyModule<typeof CsvStringify>('csv-stringify', 'the CSV writer');
import { Readable } from 'node:stream';
import type { AuditRecord } from './audit-reader.ts';

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
 * Records as a byte stream: JSON lines (one record per line) or CSV (RFC 4180, header row,
 * `arguments` as JSON text, formula-looking cells escaped so a spreadsheet does not run them).
 * The records are pulled one at a time as the stream is read.
 */
export function exportStream(records: Iterable<AuditRecord>, format: 'csv' | 'jsonl'): Readable {
  return format === 'csv'
    ? Readable.from(csvRows(records)).pipe(
        csv().stringify({
          header: true,
          columns: CSV_COLUMNS.map((c) => ({ key: c.key, header: c.header })),
          escape_formulas: true,
        }),
      )
    : Readable.from(jsonLines(records));
}

function* jsonLines(records: Iterable<AuditRecord>): Generator<string> {
  for (const record of records) yield JSON.stringify(record) + '\n';
}

function* csvRows(records: Iterable<AuditRecord>): Generator<Record<string, unknown>> {
  for (const record of records) {
    yield { ...record, arguments: record.arguments === null ? null : JSON.stringify(record.arguments) };
  }
}
