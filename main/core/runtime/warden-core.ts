import type Database from 'better-sqlite3';
import { ApprovalBroker } from '../approvals/broker.ts';
import { AuditLog } from '../audit/audit-log.ts';
import { commandHint } from '../command-hint.ts';
import type { ServerConfig, WardenConfig } from '../config/schema.ts';
import { describeError, WardenError } from '../errors.ts';
import { QuotaStore } from '../guard/limits.ts';
import type { Logger } from '../log.ts';
import type { WardenPaths } from '../paths.ts';
import { PinStore } from '../pins/pin-store.ts';
import { ShadowTracker } from '../pins/shadowing.ts';
import { PolicyEngine, ruleText } from '../policy/engine.ts';
import {
  commandBinaryHash,
  describeIdentity,
  identityHash,
  serverIdentity,
  type ServerIdentity,
} from '../policy/identity.ts';
import type { PolicySource } from '../config/policy-schema.ts';
import { loadMachinePolicy, managedPolicyPath } from '../policy/sources.ts';
import { readPlatformManagedPolicy } from '../policy/platform-managed.ts';
import { openStateDb } from '../store/state-db.ts';
import { RememberedRuleStore } from '../store/remembered-rules.ts';
import { ServerApprovalStore } from '../store/server-approvals.ts';
import { SecretBindingStore } from '../store/secret-bindings.ts';
import { DaemonSettingsStore } from '../store/daemon-settings.ts';
import { ProcessGroupStore } from '../store/process-groups.ts';
import { UpstreamProcesses } from '../process/upstream-processes.ts';
import { KeychainSecretStore, type SecretStore } from '../secrets/secret-store.ts';
import type { SecretAccess } from '../bridge/upstream-link.ts';
import { OAuthCoordinator } from '../oauth/oauth.ts';
import { OrgPolicySync } from '../policy/org-sync.ts';
import { watchFileChanges } from '../watch-file.ts';

/** Whether a configured server may run, and why. */
export type ServerAdmission =
  | { allowed: true; identity: ServerIdentity; trusted: boolean; by: string }
  | { allowed: false; identity: ServerIdentity; reason: string };

/**
 * Everything the daemon's guard needs, built once at start: the merged policy, the approval
 * broker, the audit log and the state stores. The gateway, the sessions and the control API
 * share it.
 */
export class WardenCore {
  /** The user's config in force; replaced when the file changes (see Gateway.applyConfig). */
  config: WardenConfig;
  /** The merged policy in force; replaced when a new org policy is accepted. */
  engine: PolicyEngine;
  /** Org policy sync, when the managed policy names an org policy. */
  orgSync: OrgPolicySync | undefined;
  readonly #managedPolicyFile: string | undefined;
  readonly #logger: Logger;
  readonly #dataDir: string;
  readonly broker = new ApprovalBroker();
  readonly audit: AuditLog;
  readonly serverApprovals: ServerApprovalStore;
  readonly remembered: RememberedRuleStore;
  readonly pins: PinStore;
  readonly shadows = new ShadowTracker();
  readonly quota: QuotaStore;
  readonly secretBindings: SecretBindingStore;
  /** How upstream links resolve `${secret:NAME}` references. */
  readonly secrets: SecretAccess;
  /** OAuth flows for remote upstreams; tokens in the keychain. */
  readonly oauth: OAuthCoordinator;
  /** The process trees of stdio upstreams, recorded in state.db until they are over. */
  readonly upstreams: UpstreamProcesses;
  readonly #state: Database.Database;
  readonly #settings: DaemonSettingsStore;
  #paused: boolean;
  readonly #listeners = new Set<(event: CoreEvent) => void>();

  private constructor(
    config: WardenConfig,
    engine: PolicyEngine,
    audit: AuditLog,
    state: Database.Database,
    secrets: SecretStore,
    logger: Logger,
    managedPolicyFile: string | undefined,
    dataDir: string,
  ) {
    this.config = config;
    this.engine = engine;
    this.#managedPolicyFile = managedPolicyFile;
    this.#logger = logger;
    this.#dataDir = dataDir;
    this.audit = audit;
    this.#state = state;
    this.secretBindings = new SecretBindingStore(state);
    this.secrets = { store: secrets, refusal: (name, server) => this.secretBindings.refusal(name, server) };
    this.oauth = new OAuthCoordinator(secrets, logger);
    this.serverApprovals = new ServerApprovalStore(state);
    this.remembered = new RememberedRuleStore(state);
    this.pins = new PinStore(state);
    this.quota = new QuotaStore(state);
    this.#settings = new DaemonSettingsStore(state);
    this.#paused = this.#settings.paused;
    this.upstreams = new UpstreamProcesses(
      new ProcessGroupStore(state),
      logger.child({ component: 'processes' }),
    );
    this.audit.onRecord = (id) => this.emit({ type: 'audit.recorded', id });
  }

  /**
   * While true no server runs: sessions are refused and running upstreams were stopped. Kept in
   * state.db, so a restarted daemon (or tray app) comes back paused.
   */
  get paused(): boolean {
    return this.#paused;
  }

  /**
   * Pauses or resumes: recorded durably first (so a crash right after cannot forget a pause),
   * then in force, then told to live views (status.changed). Ending the running sessions is the
   * gateway's part (see ControlRuntime.pauseAll).
   * @throws WardenError STORE_FAILED when state.db cannot record it (nothing changes then).
   */
  setPaused(paused: boolean): void {
    try {
      this.#settings.paused = paused;
    } catch (error) {
      throw new WardenError(
        'STORE_FAILED',
        `could not ${paused ? 'pause' : 'resume'}: state.db did not record it (${describeError(error)})`,
        { cause: error },
      );
    }
    this.#paused = paused;
    this.#logger.info({ paused }, paused ? 'paused: no server runs' : 'resumed');
    this.emit({ type: 'status.changed' });
  }

  /**
   * Follows what live views need to refresh: audit rows written, status changes (pause, server
   * approvals, pins, policy). Listeners must not throw (a throwing one is ignored).
   * @returns a function that stops following.
   */
  onEvent(listener: (event: CoreEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Tells every listener (see onEvent). */
  emit(event: CoreEvent): void {
    for (const listener of this.#listeners) {
      try {
        listener(event);
      } catch (error) {
        this.#logger.debug({ err: error }, 'event listener failed');
      }
    }
  }

  /**
   * Loads the policy sources (managed file, user config) and opens the databases.
   * @throws WardenError POLICY_INVALID, AUDIT_FAILED or STORE_FAILED.
   */
  static open(
    config: WardenConfig,
    paths: WardenPaths,
    logger: Logger,
    options: { managedPolicyFile?: string; secrets?: SecretStore } = {},
  ): WardenCore {
    const engine = new PolicyEngine(policySources(config, options.managedPolicyFile));
    const audit = AuditLog.open(paths.auditDb, { synchronous: config.auditSynchronous });
    try {
      return new WardenCore(
        config,
        engine,
        audit,
        openStateDb(paths.stateDb),
        options.secrets ?? new KeychainSecretStore(),
        logger,
        options.managedPolicyFile,
        paths.dataDir,
      );
    } catch (error) {
      audit.close();
      throw error;
    }
  }

  /**
   * May this configured server run? A deny rule refuses; an allow rule admits; otherwise the
   * exact identity must have been approved by a person (`mcp-warden servers approve <name>`).
   */
  admit(server: ServerConfig): ServerAdmission {
    const identity = serverIdentity(server);
    const verdict = this.engine.decideServer(identity, () =>
      identity.kind === 'stdio' ? commandBinaryHash(identity.command) : undefined,
    );
    if (verdict.action === 'deny') return { allowed: false, identity, reason: verdict.reason };
    const entry = this.catalogEntry(identity);
    if (entry) return { allowed: true, identity, trusted: false, by: `org catalog entry "${entry}"` };
    const managed = this.engine.sources.find((source) => source.kind === 'managed');
    if (managed?.document.catalogOnly) {
      return {
        allowed: false,
        identity,
        reason:
          `server "${server.name}" (\`${describeIdentity(identity)}\`) is not in the org catalog, and ` +
          `${managed.origin} allows only catalog servers (see \`mcp-warden policy status\`)`,
      };
    }
    if (verdict.action === 'allow')
      return { allowed: true, identity, trusted: verdict.trusted, by: ruleText(verdict.by) };
    const locked = this.engine.locks.get('serverApprovals');
    if (locked) {
      return {
        allowed: false,
        identity,
        reason:
          `server "${server.name}" (\`${describeIdentity(identity)}\`) is not allowed by managed or org policy, ` +
          `and ${locked} locks server approvals: ask IT to add it to the org catalog`,
      };
    }
    if (this.serverApprovals.isApproved(server.name, identity)) {
      return { allowed: true, identity, trusted: false, by: 'approved by a person' };
    }
    const previous = this.serverApprovals.lastApproved(server.name);
    const now = describeIdentity(identity);
    const reason = previous
      ? `server "${server.name}" changed since it was approved: it was \`${previous}\`, now it is \`${now}\`. ` +
        `Review the new command and approve it with \`${commandHint(['mcp-warden', 'servers', 'approve'], [server.name])}\``
      : `server "${server.name}" (\`${now}\`) is not allowed by any policy and no one has approved it. ` +
        `Review the command and approve it with \`${commandHint(['mcp-warden', 'servers', 'approve'], [server.name])}\``;
    return { allowed: false, identity, reason };
  }

  /**
   * Records a person's approval of a server's current identity.
   * @param expectedHash the identity hash the person reviewed; guards against a config change in between.
   * @throws WardenError NOT_FOUND for an unknown server, CONFLICT when the identity changed.
   */
  approveServer(
    name: string,
    expectedHash: string | undefined,
    by: string,
  ): { identity: ServerIdentity; hash: string } {
    const server = this.config.servers.get(name);
    if (!server) throw new WardenError('NOT_FOUND', `no server "${name}" in ${this.config.file}`);
    const locked = this.engine.locks.get('serverApprovals');
    if (locked)
      throw new WardenError('CONFLICT', `${locked} locks server approvals: only IT can allow servers here`);
    const identity = serverIdentity(server);
    const hash = identityHash(identity);
    if (expectedHash !== undefined && expectedHash !== hash) {
      throw new WardenError(
        'CONFLICT',
        `server "${name}" is no longer the command that was reviewed; review it again`,
      );
    }
    this.serverApprovals.approve(name, identity, by);
    this.emit({ type: 'status.changed' });
    return { identity, hash };
  }

  /**
   * Reads the managed policy again and puts the result in force (with the org policy and the
   * user's config). When the managed policy became unreadable or invalid, fails closed: every
   * server and every tool call is refused, naming the error, until it is fixed. When it names
   * another org policy URL or other keys, the org sync starts over with them.
   */
  async reloadPolicy(): Promise<void> {
    const previousOrg = JSON.stringify(
      this.engine.sources.find((s) => s.kind === 'managed')?.document.orgPolicy,
    );
    let sources: PolicySource[];
    try {
      sources = policySources(this.config, this.#managedPolicyFile, this.orgSync?.source());
    } catch (error) {
      const reason = `MCP Warden refuses everything until the managed policy is fixed: ${describeError(error)}`;
      this.#logger.error({ err: describeError(error) }, 'managed policy invalid: failing closed');
      this.engine = new PolicyEngine([
        {
          kind: 'managed',
          origin: this.#managedPolicyFile ?? 'managed policy',
          document: {
            servers: [
              { action: 'deny', command: '**' },
              { action: 'deny', url: '**' },
            ],
            rules: [{ server: '*', tool: '*', action: 'deny', reason }],
          },
        },
      ]);
      this.emit({ type: 'status.changed' });
      return;
    }
    this.engine = new PolicyEngine(sources);
    this.#logger.info({ sources: sources.map((s) => `${s.kind} ${s.origin}`) }, 'policy reloaded');
    const managedOrg = JSON.stringify(sources.find((s) => s.kind === 'managed')?.document.orgPolicy);
    if (managedOrg !== previousOrg) {
      this.orgSync?.stop();
      this.orgSync = undefined;
      await this.startOrgSync();
      const sync = this.orgSync as OrgPolicySync | undefined;
      if (sync)
        this.engine = new PolicyEngine(policySources(this.config, this.#managedPolicyFile, sync.source()));
    }
    this.emit({ type: 'status.changed' });
  }

  /**
   * Watches the managed policy file while running (stat polled every `intervalMs`, so a file
   * replaced, created or deleted is seen too) and reloads the policy when it changes.
   * @returns a function that stops watching.
   */
  watchManagedPolicy(intervalMs = MANAGED_POLICY_POLL_MS): () => void {
    const file = this.#managedPolicyFile ?? managedPolicyPath();
    let reloading = Promise.resolve();
    const reload = (): Promise<void> =>
      (reloading = reloading.then(() => this.reloadPolicy()).catch(() => undefined));
    const unwatchFile = watchFileChanges(file, intervalMs, () => {
      this.#logger.info({ file }, 'managed policy changed');
      return reload();
    });
    // macOS managed preferences and Windows Group Policy: read again every minute.
    let platformTimer: NodeJS.Timeout | undefined;
    if (!this.#managedPolicyFile && (process.platform === 'darwin' || process.platform === 'win32')) {
      const read = (): string => {
        try {
          return JSON.stringify(readPlatformManagedPolicy() ?? null);
        } catch (error) {
          return `error: ${describeError(error)}`;
        }
      };
      let last = read();
      platformTimer = setInterval(() => {
        const now = read();
        if (now === last) return;
        last = now;
        this.#logger.info('platform managed policy changed');
        void reload();
      }, PLATFORM_POLICY_POLL_MS);
      platformTimer.unref();
    }
    return () => {
      unwatchFile();
      clearInterval(platformTimer);
    };
  }

  /**
   * Starts syncing the org policy the managed policy names (if any): the cached last good
   * document is in force when this resolves; the network check continues in the background.
   */
  async startOrgSync(): Promise<void> {
    const managed = this.engine.sources.find((s) => s.kind === 'managed');
    const config = managed?.document.orgPolicy;
    if (!config) return;
    this.orgSync = new OrgPolicySync({
      config,
      dataDir: this.#dataDir,
      logger: this.#logger.child({ component: 'org-policy' }),
      onChange: () => void this.reloadPolicy(),
    });
    await this.orgSync.start();
  }

  /** The name of the org catalog entry whose exact command and args (or URL) match, if any. */
  catalogEntry(identity: ServerIdentity): string | undefined {
    const match = (this.orgSync?.catalog() ?? []).find((entry) =>
      identity.kind === 'http'
        ? entry.url === identity.url
        : entry.command === identity.command &&
          JSON.stringify(entry.args ?? []) === JSON.stringify(identity.args),
    );
    return match?.name;
  }

  /** Where Warden keeps its data (client config backups live in `backups/` under it). */
  get dataDir(): string {
    return this.#dataDir;
  }

  /** The org policy version in force, for audit rows ("org acme v6"), or undefined. */
  policyVersion(): string | undefined {
    const status = this.orgSync?.status();
    return status?.version ? `org ${status.org ?? '?'} v${status.version}` : undefined;
  }

  close(): void {
    this.orgSync?.stop();
    this.broker.withdrawAll('MCP Warden is shutting down');
    this.audit.close();
    this.#state.close();
  }
}

/** How often the managed policy file is checked for changes, ms. */
export const MANAGED_POLICY_POLL_MS = 2000;
/** How often macOS managed preferences / Windows Group Policy are read again, ms. */
export const PLATFORM_POLICY_POLL_MS = 60_000;

/** What the core tells live views (control API event stream). */
export type CoreEvent = { type: 'audit.recorded'; id: number } | { type: 'status.changed' };

/** The policy sources in force: the managed file (if any) and the user's config. */
export function policySources(
  config: WardenConfig,
  managedPolicyFile?: string,
  org?: PolicySource,
): PolicySource[] {
  const managed = loadMachinePolicy(managedPolicyFile);
  return [
    ...(managed ? [managed] : []),
    ...(org ? [org] : []),
    { kind: 'user', origin: config.file, document: config.policy },
  ];
}
