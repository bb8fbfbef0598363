import { loadConfig } from '../../core/config/load.ts';
import { WardenError } from '../../core/errors.ts';
import type { WardenPaths } from '../../core/paths.ts';
import { assertSecretName, KeychainSecretStore } from '../../core/secrets/secret-store.ts';
import { withControl } from '../control.ts';
import { readSecret as readValue } from '../prompts.ts';

const out = (text: string) => void process.stdout.write(text + '\n');
const warn = (text: string) => void process.stderr.write(`mcp-warden: ${text}\n`);

function configuredServer(paths: WardenPaths, name: string) {
  const config = loadConfig(paths, { createDefault: false });
  const server = config.servers.get(name);
  if (!server) throw new WardenError('NOT_FOUND', `no server "${name}" in ${config.file}`);
  return server;
}

/**
 * `secrets set <name>`: stores a secret read from a hidden prompt or stdin, optionally bound to a
 * server's current exact command (or URL).
 * @throws WardenError USAGE for a name that is not a secret name; NOT_FOUND for an unknown server.
 */
export async function setSecret(
  paths: WardenPaths,
  name: string,
  options: { server?: string },
): Promise<void> {
  assertSecretName(name);
  const server = options.server ? configuredServer(paths, options.server) : undefined;
  const value = await readValue(name);
  const done = await withControl(paths, (api) =>
    api.request('setSecret', {
      params: { name },
      body: { value, ...(server ? { server: server.name } : {}) },
    }),
  );
  done.notes.forEach(warn);
  out(`stored secret "${name}" in the OS keychain${server ? `, bound to server "${server.name}"` : ''}`);
}

/**
 * `secrets get <name>`: says whether a secret is set; with `reveal`, prints its value. Reads the
 * keychain itself (values never leave the daemon over its API).
 * @throws WardenError NOT_FOUND when the keychain has no such secret.
 */
export async function getSecret(name: string, options: { reveal?: boolean }): Promise<void> {
  const value = await new KeychainSecretStore().get(name);
  if (value === undefined) throw new WardenError('NOT_FOUND', `no secret "${name}" in the keychain`);
  out(options.reveal ? value : `secret "${name}" is set (${value.length} characters; --reveal prints it)`);
}

/** `secrets list`: the names of the stored secrets and their bindings (values are never shown). */
export async function listSecrets(paths: WardenPaths): Promise<void> {
  const entries = await withControl(paths, (api) => api.secrets());
  if (!entries.length) out('no secrets');
  for (const { name, boundServer } of entries)
    out(boundServer !== null ? `${name}  (bound to server "${boundServer}")` : name);
}

/** `secrets delete <name>`: removes a secret from the keychain. */
export async function deleteSecret(paths: WardenPaths, name: string): Promise<void> {
  const done = await withControl(paths, (api) => api.deleteSecret(name));
  done.notes.forEach(warn);
  out(`deleted secret "${name}"`);
}

/**
 * `secrets bind <name> <server>`: gives a secret only to a server's current exact command (or URL).
 * @throws WardenError USAGE for a name that is not a secret name.
 */
export async function bindSecret(paths: WardenPaths, name: string, serverName: string): Promise<void> {
  assertSecretName(name);
  const bound = await withControl(paths, (api) => api.bindSecret(name, serverName));
  out(`secret "${name}" is bound to server "${bound.server}": ${bound.identity}`);
}
