import type { Command } from 'commander';
import type { RequestOperationName } from '../core/control/operations.ts';
import { resolvePaths } from '../core/paths.ts';

/** A control operation that has a command of its own. */
export interface OperationCommand {
  operation: RequestOperationName;
  command: string;
  description: string;
}

/**
 * The operations whose table entry asks for a command (`cli` in core/control/operations.ts; only
 * operations without arguments and with a JSON answer have one), copied here so that declaring
 * the commands does not load the operation table and its schemas (zod). test/unit/cli-lazy.test.ts
 * checks that this list is exactly what the table asks for.
 */
export const OPERATION_COMMANDS: readonly OperationCommand[] = [
  {
    operation: 'status',
    command: 'status',
    description:
      "the daemon's status: its servers, pending approvals, pause, org policy and event-loop delay",
  },
  {
    operation: 'measureEventLoop',
    command: 'measure-event-loop',
    description:
      "start measuring the daemon's event-loop delay anew (read it with `status`); prints the window it ends",
  },
  {
    operation: 'version',
    command: 'version',
    description: "the running daemon's version, process id and control API version",
  },
];

/**
 * A command for every entry of OPERATION_COMMANDS: it asks the running daemon and prints the
 * answer (actions/operations.ts, loaded on use).
 * @throws WardenError DAEMON_UNREACHABLE when no daemon runs; the daemon's errors as they are.
 */
export function registerOperationCommands(program: Command): void {
  for (const { operation, command, description } of OPERATION_COMMANDS) {
    program
      .command(command)
      .description(description)
      .option('--json', 'JSON output')
      .action(async (options: { json?: boolean }) => {
        const paths = resolvePaths(program.opts<{ config?: string }>().config);
        await (await import('./actions/operations.ts')).printOperation(paths, operation, options);
      });
  }
}
