/**
 * Answering held calls as a person does in a terminal: the real CLI (`mcp-warden approvals …`)
 * against the test user's daemon.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { ApprovalRequest } from '../../main/core/approvals/broker.ts';
import { CLI, waitFor, type WardenEnv } from './warden-env.ts';

const run = promisify(execFile);

/** Runs the CLI as the test user; resolves with its stdout, rejects on a non-zero exit. */
export async function cli(w: WardenEnv, ...args: string[]): Promise<string> {
  return (await run(CLI, args, { env: w.env })).stdout;
}

/** The calls waiting for a person (`approvals list --json`). */
export async function pending(w: WardenEnv): Promise<ApprovalRequest[]> {
  return JSON.parse(await cli(w, 'approvals', 'list', '--json')) as ApprovalRequest[];
}

/** Waits (up to 15 s) for the held call whose `path` argument is `file`. */
export async function heldCall(w: WardenEnv, file: string): Promise<ApprovalRequest> {
  return waitFor(
    async () => (await pending(w)).find((r) => r.arguments?.path === file),
    15_000,
    `an approval request for ${file}`,
  );
}
