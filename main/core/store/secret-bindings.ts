import type Database from 'better-sqlite3';
import { commandHint } from '../command-hint.ts';
import type { ServerConfig } from '../config/schema.ts';
import { describeIdentity, identityHash, serverIdentity } from '../policy/identity.ts';

export interface SecretBinding {
  name: string;
  server: string;
  identityHash: string;
  boundAt: string;
}

/**
 * Secrets bound to one server identity (table secret_bindings in state.db): a bound secret is
 * given only to that server, and not after its command, argv or URL changed until a person binds
 * it again. Unbound secrets go to any server whose config references them.
 */
export class SecretBindingStore {
  readonly #get: Database.Statement<
    [string],
    { name: string; server: string; identity_hash: string; bound_at: string }
  >;
  readonly #put: Database.Statement;
  readonly #delete: Database.Statement<[string]>;
  readonly #all: Database.Statement<
    [],
    { name: string; server: string; identity_hash: string; bound_at: string }
  >;

  readonly #changed: ((name: string) => void) | undefined;

  /** @param changed told the name of every secret whose binding was made or removed here. */
  constructor(db: Database.Database, changed?: (name: string) => void) {
    this.#changed = changed;
    this.#get = db.prepare(`SELECT * FROM secret_bindings WHERE name = ?`);
    this.#put = db.prepare(
      `INSERT OR REPLACE INTO secret_bindings (name, server, identity_hash, bound_at) VALUES (?, ?, ?, ?)`,
    );
    this.#delete = db.prepare(`DELETE FROM secret_bindings WHERE name = ?`);
    this.#all = db.prepare(`SELECT * FROM secret_bindings ORDER BY name`);
  }

  bind(name: string, server: ServerConfig): SecretBinding {
    const binding = {
      name,
      server: server.name,
      identityHash: identityHash(serverIdentity(server)),
      boundAt: new Date().toISOString(),
    };
    this.#put.run(binding.name, binding.server, binding.identityHash, binding.boundAt);
    this.#changed?.(name);
    return binding;
  }

  /** The binding of secret `name`, if any. */
  get(name: string): SecretBinding | undefined {
    const r = this.#get.get(name);
    return r
      ? { name: r.name, server: r.server, identityHash: r.identity_hash, boundAt: r.bound_at }
      : undefined;
  }

  /** Records a binding as it is (bind() computes one; this puts a stored one back). */
  put(binding: SecretBinding): void {
    this.#put.run(binding.name, binding.server, binding.identityHash, binding.boundAt);
    this.#changed?.(binding.name);
  }

  unbind(name: string): void {
    this.#delete.run(name);
    this.#changed?.(name);
  }

  all(): SecretBinding[] {
    return this.#all
      .all()
      .map((r) => ({ name: r.name, server: r.server, identityHash: r.identity_hash, boundAt: r.bound_at }));
  }

  /** Why `server` may not receive secret `name`, or undefined when it may. */
  refusal(name: string, server: ServerConfig): string | undefined {
    const row = this.#get.get(name);
    if (!row) return undefined;
    if (row.server !== server.name) return `it is bound to server "${row.server}"`;
    if (row.identity_hash !== identityHash(serverIdentity(server))) {
      return (
        `server "${server.name}" changed since the secret was bound to it (now \`${describeIdentity(serverIdentity(server))}\`); ` +
        `review the command and bind it again with \`${commandHint(['mcp-warden', 'secrets', 'bind'], [name, server.name])}\``
      );
    }
    return undefined;
  }
}
