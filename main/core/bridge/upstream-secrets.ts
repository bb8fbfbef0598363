import type { ServerConfig } from '../config/schema.ts';
import { resolveSecrets } from '../secrets/references.ts';
import type { SecretStore } from '../secrets/secret-store.ts';

/** How a link gets the values of `${secret:NAME}` references (none: references stay unresolved). */
export interface SecretAccess {
  store: SecretStore;
  /** Why this server may not receive the secret, or undefined. */
  refusal: (name: string, server: ServerConfig) => string | undefined;
}

/**
 * The server's config with its `${secret:NAME}` references resolved (unchanged without
 * `secrets`), and the values (to redact them from logs).
 * @throws what resolveSecrets throws (a refused or missing secret).
 */
export async function resolved<T extends ServerConfig>(
  server: T,
  secrets: SecretAccess | undefined,
): Promise<{ server: T; values: Map<string, string> }> {
  if (!secrets) return { server, values: new Map() };
  const result = await resolveSecrets(server, secrets.store, (name) => secrets.refusal(name, server));
  return { server: result.server as T, values: result.values };
}
