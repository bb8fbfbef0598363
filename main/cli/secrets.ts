import type { Command } from 'commander';
import { loadConfig } from '../core/config/load.ts';
import { WardenError } from '../core/errors.ts';
import { resolvePaths } from '../core/paths.ts';
import { assertSecretName, KeychainSecretStore } from '../core/secrets/secret-store.ts';
import { withControl } from './control.ts';
import { readSecret as readValue } from './prompts.ts';

const out = (text: string) => void process.stdout.write(text + '\n');
const warn = (text: string) => void process.stderr.write(`mcp-warden: ${text}\n`);

function configuredServer(program: Command, name: string) {
  const config = loadConfig(resolvePaths(program.opts<{ config?: string }>().config), {
    createDefault: false,
  });
  const server = config.servers.get(name);
  if (!server) throw new WardenError('NOT_FOUND', `no server "${name}" in ${config.file}`);
  return server;
}

/**
 * `mcp-warden secrets …`: set, list, delete and bind go through the running daemon when one runs
 * (else the same handlers in this process: cli/control.ts), so the dashboard hears of them;
 * `get` reads the keychain itself (values never leave the daemon over its API).
 */
export function registerSecretsCommands(program: Command): void {
  const paths = () => resolvePaths(program.opts<{ config?: string }>().config);
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
    .action(async (name: string, options: { server?: string }) => {
      assertSecretName(name);
      const server = options.server ? configuredServer(program, options.server) : undefined;
      const value = await readValue(name);
      const done = await withControl(paths(), (api) =>
        api.request('setSecret', {
          params: { name },
          body: { value, ...(server ? { server: server.name } : {}) },
        }),
      );
      done.notes.forEach(warn);
      out(`stored secret "${name}" in the OS keychain${server ? `, bound to server "${server.name}"` : ''}`);
    });
  secrets
    .command('get')
    .description('say whether a secret is set; --reveal prints its value')
    .argument('<name>')
    .option('--reveal', 'print the value')
    .action(async (name: string, options: { reveal?: boolean }) => {
      const value = await new KeychainSecretStore().get(name);
      if (value === undefined) throw new WardenError('NOT_FOUND', `no secret "${name}" in the keychain`);
      out(
        options.reveal ? value : `secret "${name}" is set (${value.length} characters; --reveal prints it)`,
      );
    });
  secrets
    .command('list')
    .description('the names of the stored secrets and their bindings (values are never shown)')
    .action(async () => {
      const entries = await withControl(paths(), (api) => api.secrets());
      if (!entries.length) out('no secrets');
      for (const { name, boundServer } of entries)
        out(boundServer !== null ? `${name}  (bound to server "${boundServer}")` : name);
    });
  secrets
    .command('delete')
    .argument('<name>')
    .action(async (name: string) => {
      const done = await withControl(paths(), (api) => api.deleteSecret(name));
      done.notes.forEach(warn);
      out(`deleted secret "${name}"`);
    });
  secrets
    .command('bind')
    .description(
      "give a secret only to a server's current exact command (or URL); run again after reviewing a changed command",
    )
    .argument('<name>')
    .argument('<server>')
    .action(async (name: string, serverName: string) => {
      assertSecretName(name);
      const bound = await withControl(paths(), (api) => api.bindSecret(name, serverName));
      out(`secret "${name}" is bound to server "${bound.server}": ${bound.identity}`);
    });
}
