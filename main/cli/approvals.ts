import path from 'node:path';
import { Option, type Command } from 'commander';
import type { z } from 'zod';
import type { approvalRequestSchema, ControlEvent } from '../core/control/contract.ts';

type ApprovalRequest = z.infer<typeof approvalRequestSchema>;
import { connectControlClient } from '../core/control/connect.ts';
import type { ArgumentCondition } from '../core/config/policy-schema.ts';
import { WardenError } from '../core/errors.ts';
import { resolvePaths } from '../core/paths.ts';
import { underDirectoryGlob } from '../core/policy/path-rules.ts';

const client = (program: Command) =>
  connectControlClient(resolvePaths(program.opts<{ config?: string }>().config));

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

export function registerApprovalsCommands(program: Command): void {
  const approvals = program
    .command('approvals')
    .description('calls held for a person: list, watch, approve, deny');
  approvals
    .command('list')
    .description('calls waiting for a decision')
    .option('--json', 'JSON output')
    .action(async (options: { json?: boolean }) => {
      const list = await (await client(program)).approvals();
      if (options.json) process.stdout.write(JSON.stringify(list, null, 2) + '\n');
      else
        process.stdout.write(
          list.length ? list.map(formatApproval).join('\n\n') + '\n' : 'no calls are waiting for approval\n',
        );
    });
  approvals
    .command('watch')
    .description('print each new request in full, and each resolution, until Ctrl-C')
    .option('--json', 'JSON lines')
    .action(async (options: { json?: boolean }) => {
      const control = await client(program);
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
    });
  approvals
    .command('approve')
    .description('allow a held call (it covers exactly the arguments shown)')
    .argument('<id>', 'approval id')
    .addOption(
      new Option('--remember <scope>', 'once, for this session, or always')
        .choices(['once', 'session', 'always'])
        .default('once'),
    )
    .option(
      '--under <dir>',
      'with --remember always: only for a "path" argument under this directory (symbolic links resolved)',
    )
    .option(
      '--when <pointer=glob...>',
      'with --remember always: only when the argument at this JSON pointer matches the glob',
    )
    .action(
      async (
        id: string,
        options: { remember: 'once' | 'session' | 'always'; under?: string; when?: string[] },
      ) => {
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
        const control = await client(program);
        const request = (await control.approvals()).find((r) => r.id === id);
        if (!request)
          throw new WardenError(
            'NOT_FOUND',
            `no pending approval ${id}: it was answered, expired or withdrawn`,
          );
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
      },
    );
  approvals
    .command('deny')
    .description('refuse a held call')
    .argument('<id>', 'approval id')
    .option('--reason <text>', 'told to the client and recorded in the audit log')
    .action(async (id: string, options: { reason?: string }) => {
      const control = await client(program);
      const request = (await control.approvals()).find((r) => r.id === id);
      if (!request)
        throw new WardenError(
          'NOT_FOUND',
          `no pending approval ${id}: it was answered, expired or withdrawn`,
        );
      await control.answer(id, {
        choice: 'deny',
        argumentsHash: request.argumentsHash,
        channel: 'cli',
        ...(options.reason ? { reason: options.reason } : {}),
      });
      process.stdout.write(`denied ${request.server}/${request.tool}\n`);
    });
}
