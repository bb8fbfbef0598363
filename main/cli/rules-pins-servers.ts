import { Option, type Command } from 'commander';
import { resolvePaths } from '../core/paths.ts';
import type { ExplainOptions } from './actions/policy.ts';
import { registerPolicySigningCommands } from './policy-signing.ts';

// Declarations only: what each command does is in actions/{rules,pins,servers,policy}.ts,
// loaded when it runs.
const pathsOf = (program: Command) => resolvePaths(program.opts<{ config?: string }>().config);

export function registerRulesCommands(program: Command): void {
  const actions = () => import('./actions/rules.ts');
  const rules = program.command('rules').description('remembered "always allow" decisions');
  rules
    .command('list')
    .option('--json', 'JSON output')
    .action(async (options: { json?: boolean }) => (await actions()).listRules(pathsOf(program), options));
  rules
    .command('revoke')
    .argument('<id>', 'rule number from `rules list`')
    .action(async (id: string) => (await actions()).revokeRule(pathsOf(program), id));
}

export function registerPinsCommands(program: Command): void {
  const actions = () => import('./actions/pins.ts');
  const pins = program.command('pins').description('pinned tool definitions and changes awaiting review');
  pins
    .command('list')
    .option('--diff', 'show the diff and the hash of each pending review')
    .option('--json', 'JSON output')
    .action(async (options: { diff?: boolean; json?: boolean }) =>
      (await actions()).listPins(pathsOf(program), options),
    );
  pins
    .command('approve')
    .description(
      'approve a definition awaiting review: by the hash you reviewed (`pins list --diff` shows it), or shown here first and confirmed',
    )
    .argument('<server>')
    .argument('<name>')
    .addOption(
      new Option('--kind <kind>', 'what is pinned')
        .choices(['tool', 'prompt', 'resourceTemplate'])
        .default('tool'),
    )
    .option('--hash <sha256>', 'the hash of the definition you reviewed; refused if it changed since')
    .action(async (server: string, name: string, options: { kind: string; hash?: string }) =>
      (await actions()).approvePin(pathsOf(program), server, name, options),
    );
}

export function registerServersCommands(program: Command): void {
  const actions = () => import('./actions/servers.ts');
  const servers = program.command('servers').description('configured servers and whether they may run');
  servers.command('list').action(async () => (await actions()).listServers(pathsOf(program)));
  servers
    .command('approve')
    .description("approve a server's exact command (or URL); shown in full first")
    .argument('<name>')
    .option('-y, --yes', 'approve without asking (needed when stdin is not a terminal)')
    .action(async (name: string, options: { yes?: boolean }) =>
      (await actions()).approveServer(pathsOf(program), name, options),
    );
}

export function registerPolicyCommands(program: Command): void {
  const actions = () => import('./actions/policy.ts');
  const policy = program.command('policy').description('the policy in force, and signing org policy');
  registerPolicySigningCommands(policy);
  policy
    .command('status')
    .description(
      'the policy sources in force and the org policy sync: URL, version, last success, last error, expiry',
    )
    .option('--sync', 'check the org policy server now first')
    .action(async (options: { sync?: boolean }) => (await actions()).policyStatus(pathsOf(program), options));
  policy
    .command('explain')
    .description(
      'the OS sandbox in force for a server and the decision for a call of a tool, each with the rule of which source makes it: asks the running daemon (managed, org and user policy, remembered approvals); without a daemon, reads the config and the managed policy',
    )
    .argument('<server>')
    .argument('[tool]')
    .option('--args <json>', "the call's arguments", '{}')
    .option('--annotations <json>', 'the tool\'s annotations, e.g. {"readOnlyHint":true}')
    .action(async (server: string, tool: string | undefined, options: ExplainOptions) =>
      (await actions()).explain(pathsOf(program), server, tool, options),
    );
}
