import type { ServerConfig } from '../config/schema.ts';
import { WardenError } from '../errors.ts';
import type { SecretStore } from './secret-store.ts';

/** `${secret:NAME}` in an env value, a header value or an argument. */
export const SECRET_REFERENCE = /\$\{secret:([A-Za-z0-9][A-Za-z0-9_.-]{0,127})\}/g;

/** Names of the secrets a server's config references, sorted, unique. */
export function referencedSecrets(server: ServerConfig): string[] {
  const texts =
    server.kind === 'stdio'
      ? [...server.args, ...Object.values(server.env)]
      : [server.url, ...Object.values(server.headers)];
  const names = new Set<string>();
  for (const text of texts) for (const match of text.matchAll(SECRET_REFERENCE)) names.add(match[1]!);
  return [...names].sort();
}

/**
 * The server's config with every `${secret:NAME}` replaced by its value from the store, and the
 * values used (to redact them from anything Warden writes). Resolved at spawn / connect time.
 * @param allowed whether this server may receive a secret (bindings); returns a reason to refuse.
 * @throws WardenError SECRET_MISSING naming the server and the secret, SECRET_NOT_BOUND when a
 *   bound secret is for another server identity, KEYCHAIN_UNAVAILABLE.
 */
export async function resolveSecrets(
  server: ServerConfig,
  store: SecretStore,
  allowed: (name: string) => string | undefined = () => undefined,
): Promise<{ server: ServerConfig; values: Map<string, string> }> {
  const names = referencedSecrets(server);
  if (!names.length) return { server, values: new Map() };
  const values = new Map<string, string>();
  for (const name of names) {
    const refusal = allowed(name);
    if (refusal)
      throw new WardenError(
        'SECRET_NOT_BOUND',
        `server "${server.name}" may not use secret "${name}": ${refusal}`,
      );
    const value = await store.get(name);
    if (value === undefined) {
      throw new WardenError(
        'SECRET_MISSING',
        `server "${server.name}" needs secret "${name}", which is not in the keychain; set it with \`mcp-warden secrets set ${name}\``,
      );
    }
    values.set(name, value);
  }
  const fill = (text: string): string =>
    text.replace(SECRET_REFERENCE, (_m, name: string) => values.get(name)!);
  const fillAll = (record: Record<string, string>) =>
    Object.fromEntries(Object.entries(record).map(([k, v]) => [k, fill(v)]));
  const resolved: ServerConfig =
    server.kind === 'stdio'
      ? { ...server, args: server.args.map(fill), env: fillAll(server.env) }
      : { ...server, url: fill(server.url), headers: fillAll(server.headers) };
  return { server: resolved, values };
}

/** Replaces every occurrence of a secret value in `text` by `[secret:NAME]`. */
export function redactValues(text: string, values: ReadonlyMap<string, string>): string {
  let out = text;
  for (const [name, value] of values) if (value.length >= 4) out = out.split(value).join(`[secret:${name}]`);
  return out;
}
