import type { Command } from 'commander';
import { resolvePaths } from '../core/paths.ts';

/**
 * `mcp-warden secrets …`: set, list, delete and bind go through the running daemon when one runs
 * (else the same handlers in this process: cli/control.ts), so the dashboard hears of them;
 * `get` reads the keychain itself (values never leave the daemon over its API). Declared here;
 * what they do is in actions/secrets.ts, loaded on use.
 */
export function registerSecretsCommands(program: Command): void {
  const paths = () => resolvePaths(program.opts<{ config?: string }>().config);
  const actions = () => import('./actions/secrets.ts');
  const secrets = program
    .command('secrets')
    .description(
      'secrets in the OS keychain, referenced from the config as ${secret:NAME} (never stored in plain text)',
    );
  secrets
    .command('set')
    .description(
      'store a secret; the value is read from a hidden prompt or from stdin, never from the command line',
    )
    .argument('<name>')
    .option(
      '--server <server>',
      'bind it to this server: only its current exact command (or URL) receives it',
    )
    .action(async (name: string, options: { server?: string }) =>
      (await actions()).setSecret(paths(), name, options),
    );
  secrets
    .command('get')
    .description('say whether a secret is set; --reveal prints its value')
    .argument('<name>')
    .option('--reveal', 'print the value')
    .action(async (name: string, options: { reveal?: boolean }) =>
      (await actions()).getSecret(name, options),
    );
  secrets
    .command('list')
    .description('the names of the stored secrets and their bindings (values are never shown)')
    .action(async () => (await actions()).listSecrets(paths()));
  secrets
    .command('delete')
    .argument('<name>')
    .action(async (name: string) => (await actions()).deleteSecret(paths(), name));
  secrets
    .command('bind')
    .description(
      "give a secret only to a server's current exact command (or URL); run again after reviewing a changed command",
    )
    .argument('<name>')
    .argument('<server>')
    .action(async (name: string, serverName: string) =>
      (await actions()).bindSecret(paths(), name, serverName),
    );
}
