import type Database from 'better-sqlite3';
import { ApprovalBroker } from '../approvals/broker.ts';
import { AuditLog } from '../audit/audit-log.ts';
import { AuditRedaction } from '../audit/audit-redaction.ts';
import { auditHmacKey } from '../secrets/audit-hmac-key.ts';
import { startCheckpointSigning } from '../audit/checkpoint-signing.ts';
import { KeychainAuditKeyStore } from '../secrets/audit-key-store.ts';
import { startRetention } from '../audit/retention-start.ts';
import type { AuditRetention } from '../audit/retention.ts';
import type { ServerConfig, WardenConfig } from '../config/schema.ts';
import { describeError, WardenError } from '../errors.ts';
import { QuotaStore } from '../guard/limits.ts';
import type { Logger } from '../log.ts';
import { WardenMetrics } from '../metrics/warden-metrics.ts';
import type { WardenPaths } from '../paths.ts';
import { PinStore } from '../pins/pin-store.ts';
import { ShadowTracker } from '../pins/shadowing.ts';
import type { PolicyEngine } from '../policy/engine.ts';
import type { ServerIdentity } from '../policy/identity.ts';
import { openStateDb } from '../store/state-db.ts';
import { RememberedRuleStore } from '../store/remembered-rules.ts';
import { ServerApprovalStore } from '../store/server-approvals.ts';
import { SecretBindingStore } from '../store/secret-bindings.ts';
import { DaemonSettingsStore } from '../store/daemon-settings.ts';
import { ProcessGroupStore } from '../store/process-groups.ts';
import { UpstreamRunStore } from '../store/upstream-runs.ts';
import { UpstreamEraStore } from '../store/upstream-eras.ts';
import { UpstreamProcesses } from '../process/upstream-processes.ts';
import { KeychainSecretStore, type SecretStore } from '../secrets/secret-store.ts';
import type { SecretAccess } from '../bridge/upstream-link.ts';
import { OAuthCoordinator } from '../oauth/oauth.ts';
import { HostGrantStore } from '../sandbox/host-grants.ts';
import { SandboxService } from '../sandbox/sandbox-service.ts';
import type { OrgPolicySync } from '../policy/org-sync.ts';
import { admitServer, approveServerIdentity, catalogEntryFor, type ServerAdmission } from './admission.ts';
import { StateInForce, type InForce, type ServerChanges } from './state-in-force.ts';
import { destinationsInForce } from '../forward/destinations.ts';
import { Forwarding } from '../forward/forwarding.ts';

export type { ServerAdmission } from './admission.ts';
export { policySources } from './policy-sources.ts';

/**
 * The assembled Warden, built once at start: the state in force (config and policy, owned by
 * StateInForce), the approval broker, the audit log and the state stores. The gateway, the
 * sessions' ports (runtime/session-ports.ts) and the control API share it. Nothing of it is
 * assigned from outside: what changes while running changes through its methods.
 */
export class WardenCore {
  /** The one owner of the config and policy in force; sessions read and follow it. */
  readonly inForce: StateInForce;
  readonly #logger: Logger;
  readonly #dataDir: string;
  readonly broker = new ApprovalBroker();
  readonly audit: AuditLog;
  /** The Prometheus metrics (`GET /metrics`), fed by the sessions' audit writes and the broker. */
  readonly metrics = new WardenMetrics();
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
  /** The stdio servers that have run on this machine, with their last initialize (warm upstreams). */
  readonly upstreamRuns: UpstreamRunStore;
  /** The protocol era each configured server was found to speak (era/upstream-era.ts). */
  readonly upstreamEras: UpstreamEraStore;
  /** The OS sandbox of stdio servers: wraps their spawn, asks about hosts, audits violations. */
  readonly sandbox: SandboxService;
  readonly #state: Database.Database;
  readonly #settings: DaemonSettingsStore;
  readonly #unfollow: () => void;
  /** Audit retention (audit.retentionDays), pruning off the event loop. */
  readonly #retention: AuditRetention;
  /** Forwarding of audit records to the destinations in force (audit.destinations, managed policy). */
  readonly forwarding: Forwarding;
  readonly #unfollowForwarding: () => void;
  #paused: boolean;
  readonly #listeners = new Set<(event: CoreEvent) => void>();
  readonly #secretListeners = new Set<(name: string) => void>();

  private constructor(
    inForce: StateInForce,
    audit: AuditLog,
    state: Database.Database,
    secrets: SecretStore,
    logger: Logger,
    dataDir: string,
    paths?: WardenPaths,
  ) {
    this.inForce = inForce;
    this.#logger = logger;
    this.#dataDir = dataDir;
    this.audit = audit;
    this.#state = state;
    this.secretBindings = new SecretBindingStore(state, (name) => this.#secretChanged(name));
    this.secrets = {
      store: notifyingStore(secrets, (name) => this.#secretChanged(name)),
      refusal: (name, server) => this.secretBindings.refusal(name, server),
    };
    this.oauth = new OAuthCoordinator(secrets, logger);
    this.serverApprovals = new ServerApprovalStore(state);
    this.remembered = new RememberedRuleStore(state);
    this.pins = new PinStore(state);
    this.quota = new QuotaStore(state);
    this.#settings = new DaemonSettingsStore(state);
    this.#paused = this.#settings.paused;
    this.upstreamRuns = new UpstreamRunStore(state);
    this.upstreamEras = new UpstreamEraStore(state);
    this.upstreams = new UpstreamProcesses(
      new ProcessGroupStore(state),
      logger.child({ component: 'processes' }),
    );
    this.sandbox = new SandboxService({
      broker: this.broker,
      grants: new HostGrantStore(state),
      recordViolation: (start, error, kind) => {
        this.metrics.sandboxViolation(start.server, kind);
        return this.audit.queueRefusal(start, error);
      },
      sources: () => this.engine.sources,
      locked: (setting) => this.engine.locked(setting),
      approvalTimeoutMs: () => this.inForce.current.approvalTimeoutMs,
      wardenDirs: paths ? [...new Set([paths.configDir, paths.dataDir, paths.stateDir])] : [dataDir],
      ...(paths ? { wardenSandboxDir: paths.sandboxDir } : {}),
      logger: logger.child({ component: 'sandbox' }),
      changed: () => this.emit({ type: 'status.changed' }),
    });
    this.audit.onRecord = (id) => this.emit({ type: 'audit.recorded', id });
    this.metrics.followApprovals(this.broker);
    // Live views refresh on every change put in force (policy status, servers, catalog).
    this.#unfollow = inForce.subscribe(() => this.emit({ type: 'status.changed' }));
    this.#retention = startRetention(
      audit.file,
      () => this.inForce.current.config.auditRetentionDays,
      logger,
    );
    this.forwarding = new Forwarding(audit.outbox, secrets, logger);
    this.metrics.followOutbox(audit.outbox);
    this.#forward(inForce.current);
    this.#unfollowForwarding = inForce.subscribe((change) => this.#forward(change.now));
  }

  /** Puts the audit destinations of `state` in force; a user entry a lock overrides is logged. */
  #forward(state: InForce): void {
    const { destinations, overrides } = destinationsInForce(state.config, state.engine.sources);
    for (const override of overrides) this.#logger.warn({ destination: override.name }, override.note);
    this.forwarding.apply(destinations);
  }

  /** The daemon's logger (parts of the runtime log through children of it). */
  get logger(): Logger {
    return this.#logger;
  }

  /** The user's config in force (StateInForce.current; a reload replaces it). */
  get config(): WardenConfig {
    return this.inForce.current.config;
  }

  /** The merged policy in force (StateInForce.current; a reload replaces it). */
  get engine(): PolicyEngine {
    return this.inForce.current.engine;
  }

  /** Org policy sync, when the managed policy names an org policy. */
  get orgSync(): OrgPolicySync | undefined {
    return this.inForce.orgSync;
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

  /**
   * Follows changes of secrets made through this daemon: a value set or deleted in the keychain
   * (through `secrets.store`), a binding made or removed. Told the secret's name, after the
   * change. Values changed in the keychain by other programs are not seen.
   * @returns a function that stops following.
   */
  onSecretChange(listener: (name: string) => void): () => void {
    this.#secretListeners.add(listener);
    return () => this.#secretListeners.delete(listener);
  }

  #secretChanged(name: string): void {
    for (const listener of this.#secretListeners) {
      try {
        listener(name);
      } catch (error) {
        this.#logger.debug({ err: error }, 'secret listener failed');
      }
    }
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
    const inForce = new StateInForce(config, {
      ...(options.managedPolicyFile ? { managedPolicyFile: options.managedPolicyFile } : {}),
      dataDir: paths.dataDir,
      logger,
    });
    const secrets = options.secrets ?? new KeychainSecretStore();
    const audit = AuditLog.open(paths.auditDb, {
      synchronous: config.auditSynchronous,
      redaction: new AuditRedaction({
        hmacKey: auditHmacKey(new KeychainAuditKeyStore(), logger.child({ component: 'audit' })),
      }),
      chain: { org: () => /^org (\S+)/.exec(inForce.policyVersion() ?? '')?.[1] },
    });
    void startCheckpointSigning(audit, logger, new KeychainAuditKeyStore());
    try {
      return new WardenCore(
        inForce,
        audit,
        openStateDb(paths.stateDb),
        secrets,
        logger,
        paths.dataDir,
        paths,
      );
    } catch (error) {
      audit.close();
      throw error;
    }
  }

  /** May this configured server run under what is in force now? See admitServer. */
  admit(server: ServerConfig): ServerAdmission {
    return admitServer(server, this.inForce.current, this.serverApprovals);
  }

  /**
   * Records a person's approval of a server's current identity (see approveServerIdentity).
   * @param expectedHash the identity hash the person reviewed; guards against a config change in between.
   * @throws WardenError NOT_FOUND for an unknown server, CONFLICT when the identity changed.
   */
  approveServer(
    name: string,
    expectedHash: string | undefined,
    by: string,
  ): { identity: ServerIdentity; hash: string } {
    const approved = approveServerIdentity(this.inForce.current, this.serverApprovals, {
      name,
      expectedHash,
      by,
    });
    this.emit({ type: 'status.changed' });
    return approved;
  }

  /** Puts an edited config in force (StateInForce.applyConfig). */
  applyConfig(next: WardenConfig): Promise<ServerChanges> {
    return this.inForce.applyConfig(next);
  }

  /**
   * Reads the managed policy again and puts the result in force (StateInForce.reloadPolicy).
   * When it became unreadable or invalid, fails closed: every server and every tool call is
   * refused, naming the error, until it is fixed.
   */
  reloadPolicy(): Promise<void> {
    return this.inForce.reloadPolicy();
  }

  /**
   * Starts syncing the org policy the managed policy names (if any): the cached last good
   * document is in force when this resolves; the network check continues in the background.
   */
  startOrgSync(): Promise<void> {
    return this.inForce.startOrgSync();
  }

  /** The name of the org catalog entry (in force) whose exact command and args (or URL) match, if any. */
  catalogEntry(identity: ServerIdentity): string | undefined {
    return catalogEntryFor(identity, this.inForce.current.catalog);
  }

  /** Where Warden keeps its data (client config backups live in `backups/` under it). */
  get dataDir(): string {
    return this.#dataDir;
  }

  /** The org policy version in force, for audit rows ("org acme v6"), or undefined. */
  policyVersion(): string | undefined {
    return this.inForce.policyVersion();
  }

  close(): void {
    this.#unfollow();
    this.#retention.stop();
    this.#unfollowForwarding();
    this.forwarding.close();
    this.inForce.close();
    this.broker.withdrawAll('MCP Warden is shutting down');
    this.metrics.close();
    this.sandbox.close();
    this.audit.close();
    this.#state.close();
  }
}

/** `store`, telling `changed` the name of every secret set or deleted through it. */
function notifyingStore(store: SecretStore, changed: (name: string) => void): SecretStore {
  return {
    get: (name) => store.get(name),
    list: () => store.list(),
    set: async (name, value) => {
      await store.set(name, value);
      changed(name);
    },
    delete: async (name) => {
      const deleted = await store.delete(name);
      if (deleted) changed(name);
      return deleted;
    },
  };
}

/** What the core tells live views (control API event stream). */
export type CoreEvent = { type: 'audit.recorded'; id: number } | { type: 'status.changed' };
