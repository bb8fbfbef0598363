import path from 'node:path';
import type { z } from 'zod';
import type { ArgumentCondition } from '../../core/config/policy-schema.ts';
import { connectControlClient } from '../../core/control/connect.ts';
import type { approvalRequestSchema, ControlEvent } from '../../core/control/contract.ts';
import { WardenError } from '../../core/errors.ts';
import type { WardenPaths } from '../../core/paths.ts';
import { underDirectoryGlob } from '../../core/policy/path-rules.ts';

type ApprovalRequest = z.infer<typeof approvalRequestSchema>;

/** The options of `approvals approve`. */
export interface ApproveOptions {
  remember: 'once' | 'session' | 'always';
  under?: string;
  when?: string[];
}

/** A held call in full: nothing is cut (long arguments are printed whole). */
export function formatApproval(r: ApprovalRequest): string {
  const secondsLeft = Math.max(0, Math.round((Date.parse(r.expiresAt) - Date.now()) / 1000));
  return [
    `approval ${r.id}  (expires in ${secondsLeft} s)`,
    `  client:      ${r.client.name ?? 'unknown'} ${r.client.version ?? ''}`.trimEnd(),
    `  server/tool: ${r.server} / ${r.tool}`,
    `  asked by:    ${r.rule.source}${r.rule.text ? ` — ${r.rule.text}` : ''}`,
    `  annotations: ${r.annotations ? JSON.stringify(r.annotations) : 'none'}`,
    `  arguments:`,
    ...JSON.stringify(r.arguments ?? {}, null, 2)
      .split('\n')
      .map((line) => `    ${line}`),
    `  answers:     ${r.choices.join(', ')}`,
  ].join('\n');
}

/** `approvals list`: the calls waiting for a decision, in full or as JSON. */
export async function listApprovals(paths: WardenPaths, options: { json?: boolean }): Promise<void> {
  const list = await (await connectControlClient(paths)).approvals();
  if (options.json) process.stdout.write(JSON.stringify(list, null, 2) + '\n');
  else
    process.stdout.write(
      list.length ? list.map(formatApproval).join('\n\n') + '\n' : 'no calls are waiting for approval\n',
    );
}

/** `approvals watch`: each new request in full, and each resolution, until SIGINT or SIGTERM. */
export async function watchApprovals(paths: WardenPaths, options: { json?: boolean }): Promise<void> {
  const control = await connectControlClient(paths);
  const abort = new AbortController();
  process.once('SIGINT', () => abort.abort());
  process.once('SIGTERM', () => abort.abort());
  const seen = new Set<string>();
  function print(event: ControlEvent): void {
    if (event.type !== 'approval.requested' && event.type !== 'approval.resolved') return;
    if (event.type === 'approval.requested') {
      if (seen.has(event.request.id)) return;
      seen.add(event.request.id);
    }
    if (options.json) process.stdout.write(JSON.stringify(event) + '\n');
    else if (event.type === 'approval.requested')
      process.stdout.write(formatApproval(event.request) + '\n\n');
    else process.stdout.write(`approval ${event.id}: ${JSON.stringify(event.outcome)}\n\n`);
  }
  await control.events(print, abort.signal, async () => {
    for (const request of await control.approvals()) print({ type: 'approval.requested', request });
  });
}

/**
 * `approvals approve <id>`: allows a held call, once, for its session or always (then with the
 * conditions `--under` and `--when` give).
 * @throws WardenError USAGE for a malformed `--when` or conditions without `--remember always`;
 *   NOT_FOUND when no such approval is pending.
 */
export async function approve(paths: WardenPaths, id: string, options: ApproveOptions): Promise<void> {
  const conditions: ArgumentCondition[] = [];
  if (options.under)
    conditions.push({ pointer: '/path', glob: underDirectoryGlob(path.resolve(options.under)) });
  for (const spec of options.when ?? []) {
    const at = spec.indexOf('=');
    if (at <= 0) throw new WardenError('USAGE', `--when expects <pointer>=<glob>, got "${spec}"`);
    conditions.push({ pointer: spec.slice(0, at), glob: spec.slice(at + 1) });
  }
  if (conditions.length && options.remember !== 'always')
    throw new WardenError('USAGE', '--under and --when need --remember always');
  const control = await connectControlClient(paths);
  const request = (await control.approvals()).find((r) => r.id === id);
  if (!request)
    throw new WardenError('NOT_FOUND', `no pending approval ${id}: it was answered, expired or withdrawn`);
  const choice =
    options.remember === 'once'
      ? 'allow-once'
      : options.remember === 'session'
        ? 'allow-session'
        : 'allow-always';
  await control.answer(id, {
    choice,
    argumentsHash: request.argumentsHash,
    channel: 'cli',
    ...(conditions.length ? { conditions } : {}),
  });
  process.stdout.write(`allowed ${request.server}/${request.tool} (${choice})\n`);
}

/**
 * `approvals deny <id>`: refuses a held call, with the reason told to the client.
 * @throws WardenError NOT_FOUND when no such approval is pending.
 */
export async function deny(paths: WardenPaths, id: string, options: { reason?: string }): Promise<void> {
  const control = await connectControlClient(paths);
  const request = (await control.approvals()).find((r) => r.id === id);
  if (!request)
    throw new WardenError('NOT_FOUND', `no pending approval ${id}: it was answered, expired or withdrawn`);
  await control.answer(id, {
    choice: 'deny',
    argumentsHash: request.argumentsHash,
    channel: 'cli',
    ...(options.reason ? { reason: options.reason } : {}),
  });
  process.stdout.write(`denied ${request.server}/${request.tool}\n`);
}
