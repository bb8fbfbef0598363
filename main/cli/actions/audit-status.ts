import { AuditReader } from '../../core/audit/audit-reader.ts';
import type { OutboxDestinationStatus } from '../../core/audit/outbox.ts';
import { loadConfig } from '../../core/config/load.ts';
import { describeError } from '../../core/errors.ts';
import { destinationsInForce, type DestinationInForce } from '../../core/forward/destinations.ts';
import { destinationTarget } from '../../core/forward/forwarding.ts';
import type { WardenPaths } from '../../core/paths.ts';
import { loadMachinePolicy } from '../../core/policy/sources.ts';

/** One destination of `audit status --json`. Times are ISO 8601 UTC or null. */
export interface AuditStatusEntry {
  destination: string;
  /** `otlp` | `syslog`; null when it is no longer configured (its records wait). */
  type: string | null;
  target: string | null;
  /** `managed` | `user`; null when not configured. */
  source: string | null;
  locked: boolean;
  /** Records waiting in the outbox. */
  depth: number;
  oldestWaitingAt: string | null;
  delivered: number;
  lastSuccessAt: string | null;
  lastErrorAt: string | null;
  lastError: string | null;
  /** Failed attempts since the last success. */
  failures: number;
}

/**
 * `mcp-warden audit status [--json]`: per audit destination, the outbox depth, the last success
 * and the last error, read from the audit log `dbFile` (read-only: works whether or not the
 * daemon runs), with the destinations the config and the managed policy put in force.
 * @throws WardenError AUDIT_FAILED when there is no audit log yet.
 */
export function auditStatus(dbFile: string, paths: WardenPaths, options: { json?: boolean }): void {
  const { configured, problem } = configuredDestinations(paths);
  const reader = AuditReader.open(dbFile);
  let states: OutboxDestinationStatus[];
  try {
    states = reader.outbox(configured.map((d) => d.name));
  } finally {
    reader.close();
  }
  const entries = states.map((state) =>
    entry(
      state,
      configured.find((d) => d.name === state.destination),
    ),
  );
  if (options.json) {
    process.stdout.write(JSON.stringify({ destinations: entries, ...(problem ? { problem } : {}) }) + '\n');
    return;
  }
  if (problem) process.stdout.write(`note: ${problem}\n`);
  if (entries.length === 0) {
    process.stdout.write(
      'no audit destinations: set "audit.destinations" in the config (docs/forwarding.md)\n',
    );
    return;
  }
  for (const e of entries) process.stdout.write(formatEntry(e) + '\n');
}

/** The destinations in force by the config and managed policy files, or why they could not be read. */
function configuredDestinations(paths: WardenPaths): { configured: DestinationInForce[]; problem?: string } {
  try {
    const config = loadConfig(paths, { createDefault: false });
    const managed = loadMachinePolicy();
    return { configured: destinationsInForce(config, managed ? [managed] : []).destinations };
  } catch (error) {
    return { configured: [], problem: `the destinations in force are not known: ${describeError(error)}` };
  }
}

function entry(state: OutboxDestinationStatus, inForce: DestinationInForce | undefined): AuditStatusEntry {
  const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());
  return {
    destination: state.destination,
    type: inForce?.destination.type ?? null,
    target: inForce ? destinationTarget(inForce.destination) : null,
    source: inForce?.source ?? null,
    locked: inForce?.locked ?? false,
    depth: state.depth,
    oldestWaitingAt: iso(state.oldestMs),
    delivered: state.delivered,
    lastSuccessAt: iso(state.lastSuccessMs),
    lastErrorAt: iso(state.lastErrorMs),
    lastError: state.lastError,
    failures: state.failures,
  };
}

/**
 * e.g. `siem  syslog tcp://10.0.0.5:514 (managed policy, locked)  0 waiting  1204 delivered
 * last success 2026-01-02T10:00:00.000Z  last error -`.
 */
export function formatEntry(e: AuditStatusEntry): string {
  const where = e.type
    ? `${e.type} ${e.target} (${e.source === 'managed' ? 'managed policy' : 'config'}${e.locked ? ', locked' : ''})`
    : '(no longer configured; its records wait)';
  const waiting = e.depth ? `${e.depth} waiting since ${e.oldestWaitingAt}` : '0 waiting';
  const error = e.lastError
    ? `last error ${e.lastErrorAt}: ${e.lastError.replace(/[\p{Cc}]+/gu, ' ')}${e.failures ? ` (${e.failures} failed attempts since the last success)` : ''}`
    : 'last error -';
  return [
    e.destination,
    where,
    waiting,
    `${e.delivered} delivered`,
    `last success ${e.lastSuccessAt ?? '-'}`,
    error,
  ].join('  ');
}
