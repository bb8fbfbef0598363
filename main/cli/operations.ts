import type { Command } from 'commander';
import { connectControlClient } from '../core/control/connect.ts';
import { OPERATIONS, operation, type RequestOperationName } from '../core/control/operations.ts';
import { resolvePaths } from '../core/paths.ts';

const out = (text: string) => void process.stdout.write(text + '\n');

/**
 * A command for every operation whose table entry asks for one (`cli`, operations.ts): it asks
 * the running daemon and prints the answer, one `key: value` line per field of a flat object,
 * else (or with --json) as JSON. Only operations without arguments have one.
 * @throws WardenError DAEMON_UNREACHABLE when no daemon runs; the daemon's errors as they are.
 */
export function registerOperationCommands(program: Command): void {
  for (const name of Object.keys(OPERATIONS) as RequestOperationName[]) {
    const spec = operation(name);
    if (!spec.cli || spec.args.def.items.length || spec.response) continue;
    program
      .command(spec.cli.command)
      .description(spec.cli.description)
      .option('--json', 'JSON output')
      .action(async (options: { json?: boolean }) => {
        const control = await connectControlClient(resolvePaths(program.opts<{ config?: string }>().config));
        const answer: unknown = await control.request(name, {});
        out(options.json ? JSON.stringify(answer, null, 2) : describe(answer));
      });
  }
}

function describe(answer: unknown): string {
  if (answer === null || typeof answer !== 'object' || Array.isArray(answer))
    return JSON.stringify(answer, null, 2);
  const entries = Object.entries(answer);
  if (entries.some(([, v]) => v !== null && typeof v === 'object')) return JSON.stringify(answer, null, 2);
  return entries.map(([k, v]) => `${k}: ${String(v)}`).join('\n');
}
