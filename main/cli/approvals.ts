import { Option, type Command } from 'commander';
import { resolvePaths } from '../core/paths.ts';
import type { ApproveOptions } from './actions/approvals.ts';

/** `mcp-warden approvals …`: declared here; what they do is in actions/approvals.ts, loaded on use. */
export function registerApprovalsCommands(program: Command): void {
  const paths = () => resolvePaths(program.opts<{ config?: string }>().config);
  const actions = () => import('./actions/approvals.ts');
  const approvals = program
    .command('approvals')
    .description('calls held for a person: list, watch, approve, deny');
  approvals
    .command('list')
    .description('calls waiting for a decision')
    .option('--json', 'JSON output')
    .action(async (options: { json?: boolean }) => (await actions()).listApprovals(paths(), options));
  approvals
    .command('watch')
    .description('print each new request in full, and each resolution, until Ctrl-C')
    .option('--json', 'JSON lines')
    .action(async (options: { json?: boolean }) => (await actions()).watchApprovals(paths(), options));
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
    .action(async (id: string, options: ApproveOptions) => (await actions()).approve(paths(), id, options));
  approvals
    .command('deny')
    .description('refuse a held call')
    .argument('<id>', 'approval id')
    .option('--reason <text>', 'told to the client and recorded in the audit log')
    .action(async (id: string, options: { reason?: string }) => (await actions()).deny(paths(), id, options));
}
