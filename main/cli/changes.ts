import { openChangeContext } from '../core/change/context.ts';
import {
  describeRecovery,
  recoverChanges,
  type ChangeContext,
  type ChangeOutcome,
} from '../core/change/run-change.ts';
import { describeError } from '../core/errors.ts';
import type { WardenPaths } from '../core/paths.ts';

const warn = (text: string) => void process.stderr.write(`mcp-warden: ${text}\n`);

/** Runs `fn` with a change context of this process (keychain, state.db opened when needed). */
export async function withChangeContext<T>(
  paths: WardenPaths,
  fn: (ctx: ChangeContext) => Promise<T>,
): Promise<T> {
  const { ctx, close } = openChangeContext(paths);
  try {
    return await fn(ctx);
  } finally {
    close();
  }
}

/** Tells the person what a change recovered first, and clean-up that must wait (stderr). */
export function reportOutcome(outcome: ChangeOutcome | undefined): void {
  for (const change of outcome?.recovered ?? []) warn(describeRecovery(change));
  if (outcome?.warning) warn(outcome.warning);
}

/**
 * Before a command runs: recovers what an interrupted change left (undone or finished) and says
 * so on stderr. When it cannot be recovered now (e.g. no keychain), says what is pending and
 * lets the command run: a command that makes a change refuses to start another one.
 */
export async function recoverBeforeCommand(paths: WardenPaths): Promise<void> {
  try {
    const recovered = await withChangeContext(paths, recoverChanges);
    if (recovered) warn(describeRecovery(recovered));
  } catch (error) {
    warn(describeError(error));
  }
}
