import type { OrgPolicySource, PolicySource } from '../config/policy-schema.ts';
import type { WardenConfig } from '../config/schema.ts';
import { describeError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { PolicyEngine, type SourcedLimit } from '../policy/engine.ts';
import type { CatalogEntry } from '../policy/org-policy.ts';
import { OrgPolicySync } from '../policy/org-sync.ts';
import { loadMachinePolicy } from '../policy/sources.ts';
import { combineSources, failClosedEngine, policySources } from './policy-sources.ts';

/**
 * What is in force at one moment: the user's config and the policy merged from its sources,
 * with what sessions read of it per call. A snapshot never changes; a reload puts a new one in
 * force (StateInForce).
 */
export interface InForce {
  /** 1 for the state at start; one more for every change put in force. */
  readonly version: number;
  /** The user's config: servers, their tool lists, the user's policy source. */
  readonly config: WardenConfig;
  /** The merged policy (managed > org > user), or the fail-closed one (see failClosedEngine). */
  readonly engine: PolicyEngine;
  /** Every limit rule of every source (PolicyEngine.limits). */
  readonly limits: readonly SourcedLimit[];
  /** How long a held call waits for a person, ms (PolicyEngine.approvalTimeoutMs). */
  readonly approvalTimeoutMs: number;
  /** The org catalog of the org policy in force (servers IT approved); empty without one. */
  readonly catalog: readonly CatalogEntry[];
}

/** What set a change off: the config file, the managed policy, or the org policy sync. */
export type InForceCause = 'config' | 'managed policy' | 'org policy';

/** Names of the config's servers that a change added, changed (any setting) or removed. */
export interface ServerChanges {
  added: string[];
  changed: string[];
  removed: string[];
}

/** One change put in force, as subscribers are told of it. */
export interface InForceChange {
  readonly cause: InForceCause;
  readonly before: InForce;
  readonly now: InForce;
  readonly servers: ServerChanges;
}

/**
 * A subscriber. It is called in the same tick as the change is put in force (so nothing runs in
 * between under a mix of the two); the reload that made the change resolves once every promise a
 * subscriber returned has settled. A subscriber that throws or rejects is logged and ignored.
 */
export type InForceListener = (change: InForceChange) => void | Promise<void>;

export interface StateInForceOptions {
  /** Another managed policy file than the OS default (tests). */
  managedPolicyFile?: string;
  /** Where the org policy sync keeps its last good document. */
  dataDir: string;
  logger: Logger;
}

/**
 * The one owner of what is in force: the config, the policy sources (managed file, org policy,
 * the config's `policy`), and what follows from them (limits, approval timeout).
 *
 * Every reload (an edited config, a changed managed policy, a newly accepted org policy) runs
 * one at a time and is all or nothing: the next snapshot is built completely, then put in force
 * in one assignment and published to subscribers. A config that does not parse never gets here
 * (the previous one stays in force, see watchInForce); a managed policy that became unreadable
 * puts the fail-closed policy in force, naming the error, until it is fixed.
 */
export class StateInForce {
  #current: InForce;
  #orgSync: OrgPolicySync | undefined;
  /** The org policy settings #orgSync was started for (JSON), undefined before any. */
  #orgSyncFor: string | undefined;
  #queue: Promise<void> = Promise.resolve();
  #closed = false;
  readonly #listeners = new Set<InForceListener>();
  readonly #opts: StateInForceOptions;
  readonly #log: Logger;

  /**
   * Reads the policy sources for `config` (the org policy follows with startOrgSync).
   * @throws WardenError POLICY_INVALID when the managed policy cannot be read or is not valid.
   */
  constructor(config: WardenConfig, options: StateInForceOptions) {
    this.#opts = options;
    this.#log = options.logger;
    const engine = new PolicyEngine(policySources(config, options.managedPolicyFile));
    this.#current = snapshot(1, config, engine, []);
  }

  /** The snapshot in force now. Read it when deciding, not once at start. */
  get current(): InForce {
    return this.#current;
  }

  /** The org policy sync, when the managed policy names an org policy and it was started. */
  get orgSync(): OrgPolicySync | undefined {
    return this.#orgSync;
  }

  /** The managed policy file given at start; undefined means the OS default. */
  get managedPolicyFile(): string | undefined {
    return this.#opts.managedPolicyFile;
  }

  /** The org policy version in force, for audit rows ("org acme v6"), or undefined. */
  policyVersion(): string | undefined {
    const status = this.#orgSync?.status();
    return status?.version ? `org ${status.org ?? '?'} v${status.version}` : undefined;
  }

  /**
   * Follows every change put in force (see InForceListener).
   * @returns a function that stops following.
   */
  subscribe(listener: InForceListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * Puts an edited config in force with the policy read again for it (the config's `policy` is
   * the user's source; the managed file is read again too).
   * @returns the servers it added, changed and removed (nothing, once closed).
   */
  applyConfig(next: WardenConfig): Promise<ServerChanges> {
    return this.#enqueue(() => this.#reload('config', next));
  }

  /**
   * Reads the managed policy again and puts the result in force, with the org policy and the
   * config. When it names another org policy (URL, keys…), the org sync starts over with it
   * first, so its cached document is part of the same change.
   */
  async reloadPolicy(cause: InForceCause = 'managed policy'): Promise<void> {
    await this.#enqueue(() => this.#reload(cause, undefined));
  }

  /**
   * Starts syncing the org policy the managed policy names (if any): its cached last good
   * document is in force when this resolves; the network check continues in the background.
   */
  async startOrgSync(): Promise<void> {
    await this.#enqueue(async () => {
      const managed = this.#current.engine.sources.find((s) => s.kind === 'managed');
      if (managed?.document.orgPolicy) await this.#reload('org policy', undefined);
    });
  }

  /** Stops the org sync; reloads asked for later change nothing. */
  close(): void {
    this.#closed = true;
    this.#orgSync?.stop();
  }

  #enqueue<T>(job: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(job);
    this.#queue = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  async #reload(cause: InForceCause, nextConfig: WardenConfig | undefined): Promise<ServerChanges> {
    if (this.#closed) return { added: [], changed: [], removed: [] };
    const config = nextConfig ?? this.#current.config;
    let managed: PolicySource | undefined;
    try {
      managed = loadMachinePolicy(this.#opts.managedPolicyFile);
    } catch (error) {
      const reason = `MCP Warden refuses everything until the managed policy is fixed: ${describeError(error)}`;
      this.#log.error({ err: describeError(error) }, 'managed policy invalid: failing closed');
      const origin = this.#opts.managedPolicyFile ?? 'managed policy';
      return this.#publish(cause, config, failClosedEngine(origin, reason));
    }
    await this.#followOrgPolicy(managed?.document.orgPolicy);
    if (this.#closed) return { added: [], changed: [], removed: [] };
    const sources = combineSources(managed, this.#orgSync?.source(), config);
    const engine = new PolicyEngine(sources);
    this.#log.info({ cause, sources: sources.map((s) => `${s.kind} ${s.origin}`) }, 'policy reloaded');
    return this.#publish(cause, config, engine);
  }

  /** (Re)starts the org sync when the managed policy names other org policy settings than before. */
  async #followOrgPolicy(settings: OrgPolicySource | undefined): Promise<void> {
    const key = JSON.stringify(settings);
    if (key === this.#orgSyncFor) return;
    this.#orgSync?.stop();
    this.#orgSync = undefined;
    this.#orgSyncFor = key;
    if (!settings) return;
    const sync = new OrgPolicySync({
      config: settings,
      dataDir: this.#opts.dataDir,
      logger: this.#log.child({ component: 'org-policy' }),
      onChange: () => void this.reloadPolicy('org policy'),
    });
    this.#orgSync = sync;
    await sync.start();
  }

  async #publish(cause: InForceCause, config: WardenConfig, engine: PolicyEngine): Promise<ServerChanges> {
    const before = this.#current;
    const now = snapshot(before.version + 1, config, engine, this.#orgSync?.catalog() ?? []);
    const servers = serverChanges(before.config, config);
    this.#current = now;
    const change: InForceChange = { cause, before, now, servers };
    await Promise.all(
      [...this.#listeners].map(async (listener) => {
        try {
          await listener(change);
        } catch (error) {
          this.#log.error({ err: describeError(error), cause }, 'a follower of the state in force failed');
        }
      }),
    );
    return servers;
  }
}

function snapshot(
  version: number,
  config: WardenConfig,
  engine: PolicyEngine,
  catalog: readonly CatalogEntry[],
): InForce {
  return Object.freeze({
    version,
    config,
    engine,
    limits: Object.freeze(engine.limits()),
    approvalTimeoutMs: engine.approvalTimeoutMs,
    catalog: Object.freeze([...catalog]),
  });
}

/** Servers added, changed (any setting: command, URL, env, tool lists…) and removed. */
export function serverChanges(before: WardenConfig, next: WardenConfig): ServerChanges {
  const added: string[] = [];
  const changed: string[] = [];
  const removed = [...before.servers.keys()].filter((name) => !next.servers.has(name));
  for (const server of next.servers.values()) {
    const old = before.servers.get(server.name);
    if (!old) added.push(server.name);
    else if (JSON.stringify(old) !== JSON.stringify(server)) changed.push(server.name);
  }
  return { added, changed, removed };
}
