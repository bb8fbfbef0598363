import { describeRecovery, type ChangeContext, type ChangeOutcome } from '../../change/run-change.ts';
import { deleteSecret, setSecret } from '../../change/secret-changes.ts';
import type { ServerConfig, WardenConfig } from '../../config/schema.ts';
import { describeError, WardenError } from '../../errors.ts';
import { describeIdentity, serverIdentity } from '../../policy/identity.ts';
import { referencedSecrets } from '../../secrets/references.ts';
import { assertSecretName, type SecretStore } from '../../secrets/secret-store.ts';
import type { SecretBindingStore } from '../../store/secret-bindings.ts';
import type { SecretEntry } from '../contract.ts';
import type { ControlHandlers } from '../invoke.ts';

/** What the secrets handlers use: the daemon's own, or a CLI process's (local-api.ts). */
export interface SecretsPorts {
  /** The config in force (servers that reference or receive secrets). */
  config(): WardenConfig;
  /** The OS keychain. */
  store: SecretStore;
  /** Bindings in state.db. */
  bindings(): SecretBindingStore;
  /** Where multi-step changes run (journal, keychain, state.db). */
  changeContext(): ChangeContext;
  /** Tells live views (status.changed). */
  changed(): void;
}

type SecretsHandlers = Pick<ControlHandlers, 'secrets' | 'setSecret' | 'deleteSecret' | 'bindSecret'>;

/** Secrets in the OS keychain: names, bindings and users (never values); set, delete, bind. */
export function secretsHandlers(ports: SecretsPorts): SecretsHandlers {
  return {
    secrets: () => listSecrets(ports),
    setSecret: async ({ params: { name }, body }) => {
      assertName(name);
      const server = body.server === undefined ? undefined : configuredServer(ports.config(), body.server);
      const outcome = await setSecret(ports.changeContext(), name, body.value, server);
      ports.changed();
      return { ok: true, notes: notesOf(outcome) };
    },
    deleteSecret: async ({ params: { name } }) => {
      assertName(name);
      const outcome = await deleteSecret(ports.changeContext(), name);
      ports.changed();
      return { ok: true, notes: notesOf(outcome) };
    },
    bindSecret: ({ params: { name }, body }) => {
      assertName(name);
      const server = configuredServer(ports.config(), body.server);
      ports.bindings().bind(name, server);
      ports.changed();
      return { server: server.name, identity: describeIdentity(serverIdentity(server)) };
    },
  };
}

/** What a change recovered first, and clean-up that must wait: one sentence each. */
export function notesOf(outcome: ChangeOutcome | undefined): string[] {
  return [
    ...(outcome?.recovered ?? []).map(describeRecovery),
    ...(outcome?.warning ? [outcome.warning] : []),
  ];
}

function configuredServer(config: WardenConfig, name: string): ServerConfig {
  const server = config.servers.get(name);
  if (!server) throw new WardenError('NOT_FOUND', `no server "${name}" in ${config.file}`);
  return server;
}

function assertName(name: string): void {
  try {
    assertSecretName(name);
  } catch (error) {
    throw new WardenError('INVALID_REQUEST', describeError(error), { cause: error });
  }
}

async function listSecrets(ports: SecretsPorts): Promise<SecretEntry[]> {
  const names = new Set(await ports.store.list());
  const bindings = new Map(
    ports
      .bindings()
      .all()
      .map((b) => [b.name, b]),
  );
  const config = ports.config();
  const usedBy = new Map<string, string[]>();
  for (const server of config.servers.values())
    for (const name of referencedSecrets(server))
      usedBy.set(name, [...(usedBy.get(name) ?? []), server.name]);
  return [...names].sort().map((name) => {
    const binding = bindings.get(name);
    const bound = binding ? config.servers.get(binding.server) : undefined;
    return {
      name,
      boundTo: binding
        ? `${binding.server}${bound ? `: ${describeIdentity(serverIdentity(bound))}` : ''}`
        : null,
      boundServer: binding?.server ?? null,
      usedBy: usedBy.get(name) ?? [],
    };
  });
}
