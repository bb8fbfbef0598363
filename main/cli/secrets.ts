import type { Command } from 'commander';
import { loadConfig } from '../core/config/load.ts';
import { WardenError } from '../core/errors.ts';
import { resolvePaths } from '../core/paths.ts';
import { describeIdentity, serverIdentity } from '../core/policy/identity.ts';
import { assertSecretName, KeychainSecretStore } from '../core/secrets/secret-store.ts';
import { deleteSecret, setSecret } from '../core/change/secret-changes.ts';
import { SecretBindingStore } from '../core/store/secret-bindings.ts';
import { openStateDb } from '../core/store/state-db.ts';
import { reportOutcome, withChangeContext } from './changes.ts';
import { readSecret as readValue } from './prompts.ts';

const out = (text: string) => void process.stdout.write(text + '\n');

function bindings(program: Command): { store: SecretBindingStore; close: () => void } {
  const db = openStateDb(resolvePaths(program.opts<{ config?: string }>().config).stateDb);
  return { store: new SecretBindingStore(db), close: () => db.close() };
}

function configuredServer(program: Command, name: string) {
  const config = loadConfig(resolvePaths(program.opts<{ config?: string }>().config), {
    createDefault: false,
  });
  const server = config.servers.get(name);
  if (!server) throw new WardenError('NOT_FOUND', `no server "${name}" in ${config.file}`);
  return server;
}

export function registerSecretsCommands(program: Command): void {
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
      reportOutcome(
        await withChangeContext(resolvePaths(program.opts<{ config?: string }>().config), (ctx) =>
          setSecret(ctx, name, value, server),
        ),
      );
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
      const names = await new KeychainSecretStore().list();
      const b = bindings(program);
      try {
        const bound = new Map(b.store.all().map((x) => [x.name, x]));
        if (!names.length) out('no secrets');
        for (const name of names) {
          const binding = bound.get(name);
          out(binding ? `${name}  (bound to server "${binding.server}")` : name);
        }
      } finally {
        b.close();
      }
    });
  secrets
    .command('delete')
    .argument('<name>')
    .action(async (name: string) => {
      reportOutcome(
        await withChangeContext(resolvePaths(program.opts<{ config?: string }>().config), (ctx) =>
          deleteSecret(ctx, name),
        ),
      );
      out(`deleted secret "${name}"`);
    });
  secrets
    .command('bind')
    .description(
      "give a secret only to a server's current exact command (or URL); run again after reviewing a changed command",
    )
    .argument('<name>')
    .argument('<server>')
    .action((name: string, serverName: string) => {
      assertSecretName(name);
      const server = configuredServer(program, serverName);
      const b = bindings(program);
      try {
        b.store.bind(name, server);
      } finally {
        b.close();
      }
      out(
        `secret "${name}" is bound to server "${server.name}": ${describeIdentity(serverIdentity(server))}`,
      );
    });
}
