import { WardenError } from '../errors.ts';

/**
 * Environment variable of the fault-injection hook, for crash tests of multi-step changes:
 * `N` kills this process (SIGKILL, no cleanup runs) right after the Nth durable write of a
 * change (counted from its start, the recovery of an earlier one included); `N:error` throws
 * instead, as a failing disk or keychain would. Read here only, at each write.
 */
export const FAULT_ENV_VAR = 'MCP_WARDEN_FAULT_AFTER_WRITES';

let writes = 0;

/** Starts counting the writes of a new change. */
export function startFaultCount(): void {
  writes = 0;
}

/**
 * Marks one durable write of a change (a journal update, a keychain write, a file written,
 * linked, renamed or removed, a state.db row). With {@link FAULT_ENV_VAR} unset it only counts.
 * @param what the write just made, for the injected error's message.
 * @throws WardenError FAULT_INJECTED at the write `N:error` names.
 */
export function faultPoint(what: string): void {
  writes += 1;
  const spec = process.env[FAULT_ENV_VAR];
  if (!spec) return;
  const match = /^(\d+)(:error)?$/.exec(spec);
  if (!match || Number(match[1]) !== writes) return;
  if (match[2]) throw new WardenError('FAULT_INJECTED', `injected failure after write ${writes} (${what})`);
  process.kill(process.pid, 'SIGKILL');
}
