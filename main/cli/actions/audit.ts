import fs from 'node:fs';
import type { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { exportStream, type ExportFormat } from '../../core/audit/audit-export.ts';
import { AuditReader, type AuditRecord } from '../../core/audit/audit-reader.ts';
import { describeError, WardenError } from '../../core/errors.ts';

/** In-flight calls `tail --follow` keeps watching for their outcome, at most. */
const MAX_WATCHED = 1000;

/** The options of `audit tail`. */
export interface TailOptions {
  lines: number;
  follow?: boolean;
  json?: boolean;
}

/** The options of `audit export`. */
export interface ExportOptions {
  format: ExportFormat;
  output?: string;
  since?: number;
}

/**
 * `mcp-warden audit tail`: the latest calls of the audit log `dbFile` (opened read-only), then,
 * with `follow`, each new call and each outcome until SIGINT, SIGTERM or a closed stdout.
 * @param pollMs how often `follow` looks for new rows, ms.
 */
export async function auditTail(dbFile: string, options: TailOptions, pollMs: number): Promise<void> {
  const reader = AuditReader.open(dbFile);
  try {
    await tail(reader, options, pollMs);
  } finally {
    reader.close();
  }
}

/**
 * `mcp-warden audit export`: every recorded call of `dbFile` as JSON lines, CSV or OCSF events.
 * @throws WardenError USAGE when the output file cannot be written; AUDIT_FAILED when the export fails.
 */
export async function auditExport(dbFile: string, options: ExportOptions): Promise<void> {
  const reader = AuditReader.open(dbFile);
  try {
    await exportRecords(reader, options);
  } finally {
    reader.close();
  }
}

async function tail(reader: AuditReader, options: TailOptions, pollMs: number): Promise<void> {
  const print = (record: AuditRecord): void => {
    process.stdout.write((options.json ? JSON.stringify(record) : formatRecord(record)) + '\n');
  };
  const initial = reader.latest(options.lines);
  initial.forEach(print);
  if (!options.follow) return;

  let lastId = initial.at(-1)?.id ?? reader.latest(1).at(-1)?.id ?? 0;
  // Calls printed while in flight: printed again when they end.
  const watched = new Set(initial.filter((r) => r.outcome === null).map((r) => r.id));
  const poll = (): void => {
    const ended = reader.byIds([...watched]).filter((r) => r.outcome !== null);
    for (const record of ended) {
      watched.delete(record.id);
      print(record);
    }
    for (const record of reader.after(lastId)) {
      lastId = record.id;
      if (record.outcome === null && watched.size < MAX_WATCHED) watched.add(record.id);
      print(record);
    }
  };

  await new Promise<void>((resolve, reject) => {
    const stop = (error?: unknown): void => {
      clearInterval(timer);
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      process.stdout.off('error', onStdoutError);
      if (error === undefined) resolve();
      else reject(error instanceof Error ? error : new Error(describeError(error)));
    };
    const onSignal = (): void => stop();
    // The reader of our stdout went away (e.g. `| head`): stop quietly.
    const onStdoutError = (error: NodeJS.ErrnoException): void =>
      stop(error.code === 'EPIPE' ? undefined : error);
    const timer = setInterval(() => {
      try {
        poll();
      } catch (error) {
        stop(error);
      }
    }, pollMs);
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    process.stdout.on('error', onStdoutError);
  });
}

async function exportRecords(reader: AuditReader, options: ExportOptions): Promise<void> {
  const records = reader.iterate(options.since === undefined ? {} : { since: options.since });
  const source = exportStream(records, options.format);
  let destination: Writable = process.stdout;
  if (options.output !== undefined) {
    try {
      const fd = fs.openSync(options.output, 'w', 0o600);
      destination = fs.createWriteStream('', { fd });
    } catch (error) {
      throw new WardenError('USAGE', `cannot write ${options.output}: ${describeError(error)}`, {
        cause: error,
      });
    }
  }
  try {
    await pipeline(source, destination, { end: destination !== process.stdout });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EPIPE') return;
    if (error instanceof WardenError) throw error;
    throw new WardenError('AUDIT_FAILED', `export failed: ${describeError(error)}`, { cause: error });
  }
}

/**
 * One line of `audit tail`, e.g.
 * `#12  2025-06-01T12:00:00.000Z  claude-code  everything/echo  allow  ok  3.2 ms  config`.
 * Text from clients and upstreams is put on one line with control characters replaced, so it
 * cannot move the cursor or recolour the terminal.
 */
export function formatRecord(record: AuditRecord): string {
  const duration = record.durationMs === null ? '-' : `${Number(record.durationMs.toFixed(1))} ms`;
  const detail =
    record.decision === 'deny' ? (record.reason ?? record.error) : (record.error ?? record.reason);
  const fields = [
    `#${record.id}`,
    record.ts,
    oneLine(record.clientName ?? '-', 40),
    oneLine(`${record.server}/${record.tool}`, 120),
    record.decision,
    record.outcome ?? 'running',
    duration,
  ];
  if (detail) fields.push(oneLine(detail, 200));
  return fields.join('  ');
}

function oneLine(text: string, max: number): string {
  const flat = text.replace(/[\p{Cc}\p{Zl}\p{Zp}]+/gu, ' ').trim();
  return flat.length > max ? flat.slice(0, max - 1) + '…' : flat;
}
