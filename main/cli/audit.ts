import { InvalidArgumentError, Option, type Command } from 'commander';
import { resolvePaths } from '../core/paths.ts';
import type { ExportOptions, TailOptions } from './actions/audit.ts';
import type { VerifyOptions } from './actions/audit-verify.ts';

/** How often `audit tail --follow` looks for new rows, ms. */
export const FOLLOW_POLL_MS = 500;

/**
 * `mcp-warden audit tail|status|export|verify`: reads the audit log (read-only, so it works while the daemon
 * runs). The file is `--db <file>` when given, else the OS data dir's audit.db. stdout carries
 * only records; errors are WardenErrors, printed by index.ts. The reading is in actions/audit.ts,
 * loaded when a command runs.
 */
export function registerAuditCommands(program: Command): void {
  const audit = program
    .command('audit')
    .description('read the audit log: every tools/call Warden received, allowed or refused')
    .option('--db <file>', 'audit database file (default: audit.db in the OS data dir)');
  const dbFile = (): string =>
    audit.opts<{ db?: string }>().db ?? resolvePaths(program.opts<{ config?: string }>().config).auditDb;

  audit
    .command('tail')
    .description(
      'print the latest calls, one line each: #id, time (UTC), client, server/tool, decision, outcome, duration, error or reason',
    )
    .addOption(new Option('-n, --lines <n>', 'how many calls').argParser(parseCount).default(10))
    .option(
      '-f, --follow',
      `keep printing calls as they are recorded and end (checks every ${FOLLOW_POLL_MS} ms; Ctrl-C stops)`,
    )
    .option('--json', 'print JSON lines, one record each, instead of text')
    .action(async (options: TailOptions) =>
      (await import('./actions/audit.ts')).auditTail(dbFile(), options, FOLLOW_POLL_MS),
    );

  audit
    .command('status')
    .description(
      'per audit destination (audit.destinations, managed policy): records waiting in the outbox, last success, last error',
    )
    .option('--json', 'print one JSON object instead of text')
    .action(async (options: { json?: boolean }) => {
      const paths = resolvePaths(program.opts<{ config?: string }>().config);
      (await import('./actions/audit-status.ts')).auditStatus(dbFile(), paths, options);
    });

  audit
    .command('export')
    .description(
      'write every recorded call as JSON lines, CSV or OCSF (in CSV, cells starting with = + - @ are\n' +
        "prefixed with ' so spreadsheets do not run them; JSON lines are exact; ocsf: one OCSF 1.8.0\n" +
        'API Activity event (class_uid 6003) per line, for a SIEM)',
    )
    .addOption(
      new Option('--format <format>', 'output format')
        .choices(['jsonl', 'csv', 'ocsf'])
        .makeOptionMandatory(),
    )
    .option('-o, --output <file>', 'write to this file (created with mode 0600) instead of stdout')
    .addOption(
      new Option(
        '--since <time>',
        'only calls received at or after this ISO 8601 time, e.g. 2025-06-01T08:00:00Z',
      ).argParser(parseSince),
    )
    .action(async (options: ExportOptions) =>
      (await import('./actions/audit.ts')).auditExport(dbFile(), options),
    );

  audit
    .command('verify')
    .description(
      'recompute the hash chain and check every signed checkpoint (read-only; the daemon may run):\n' +
        'prints "N/N checkpoints valid, rows 1..K verified", or each edited, swapped or deleted row,\n' +
        'truncated tail and bad checkpoint, and exits 1',
    )
    .option('--json', 'print the report as JSON')
    .option(
      '--key <vkey>',
      "check signatures with this verifier key (<name>+<hash>+<key>) instead of the keychain's",
    )
    .action(async (options: VerifyOptions) =>
      (await import('./actions/audit-verify.ts')).auditVerify(dbFile(), options),
    );
}

function parseCount(value: string): number {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError('expected a whole number, e.g. 20');
  return Number(value);
}

function parseSince(value: string): number {
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) {
    throw new InvalidArgumentError(
      'expected an ISO 8601 time, e.g. 2025-06-01 (UTC midnight) or 2025-06-01T08:00:00Z',
    );
  }
  return ms;
}
