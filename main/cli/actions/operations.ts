import { connectControlClient } from '../../core/control/connect.ts';
import type { RequestOperationName } from '../../core/control/operations.ts';
import type { WardenPaths } from '../../core/paths.ts';

/**
 * Asks the running daemon for an operation without arguments and prints the answer: one
 * `key: value` line per field of a flat object, else (or with `json`) as JSON.
 * @throws WardenError DAEMON_UNREACHABLE when no daemon runs; the daemon's errors as they are.
 */
export async function printOperation(
  paths: WardenPaths,
  name: RequestOperationName,
  options: { json?: boolean },
): Promise<void> {
  const control = await connectControlClient(paths);
  const answer: unknown = await control.request(name, {});
  process.stdout.write((options.json ? JSON.stringify(answer, null, 2) : describe(answer)) + '\n');
}

function describe(answer: unknown): string {
  if (answer === null || typeof answer !== 'object' || Array.isArray(answer))
    return JSON.stringify(answer, null, 2);
  const entries = Object.entries(answer);
  if (entries.some(([, v]) => v !== null && typeof v === 'object')) return JSON.stringify(answer, null, 2);
  return entries.map(([k, v]) => `${k}: ${String(v)}`).join('\n');
}
