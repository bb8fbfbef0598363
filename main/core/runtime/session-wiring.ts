import type { SessionPorts, UpstreamPort } from '../bridge/session-ports.ts';
import { createUpstreamLink } from '../bridge/upstream-link.ts';
import { WarmUpstreams, type WarmStatus } from '../bridge/warm-upstreams.ts';
import type { ServerConfig } from '../config/schema.ts';
import { UpstreamEras } from '../era/upstream-era.ts';
import { WARDEN_VERSION } from '../version.ts';
import { GuardChain } from '../guard/chain.ts';
import { LimitsStep } from '../guard/limits.ts';
import { ApprovalStep, PolicyStep } from '../guard/policy-steps.ts';
import { ToolLists } from '../guard/tool-lists.ts';
import type { Logger } from '../log.ts';
import { meteredRecorder } from '../metrics/metered-audit.ts';
import type { RememberedGrant } from '../policy/engine.ts';
import type { ResultMaskingPort } from '../bridge/result-masking.ts';
import { resultSecretsFor } from '../policy/result-secrets.ts';
import { referencedSecrets } from '../secrets/references.ts';
import type { WardenCore } from './warden-core.ts';

/**
 * Connects BridgeSessions to the running Warden: builds each session's ports
 * (bridge/session-ports.ts) from the WardenCore, and owns what all sessions share, the limits
 * step (its counters are daemon-wide). What a session decides by is read from the state in
 * force (StateInForce) when each call arrives: the policy, the approval timeout, the limits
 * (which follow every change put in force). The server's own settings, tool lists included,
 * are those it was started with: a change to them ends its sessions (Gateway).
 *
 * It also keeps the warm upstreams (WarmUpstreams): one started, initialized process per stdio
 * server that has run here, for the next session. They follow what is in force: a change put in
 * force ends those of servers changed, removed or no longer admitted and starts missing ones;
 * pause ends them all and resume starts them again (status.changed); a secret set, deleted,
 * bound or unbound ends those of the servers referencing it (their environment holds its old
 * value) and starts them again. `daemon.warmUpstreams: false` or `mcpServers.<name>.warm: false`
 * turn them off; url servers never have one.
 */
export class SessionWiring {
  readonly #core: WardenCore;
  readonly #limits: LimitsStep;
  readonly #unfollow: () => void;
  readonly #upstream: Partial<UpstreamPort>;
  readonly #warm: WarmUpstreams;
  readonly #eras: UpstreamEras;
  readonly #unfollowWarm: (() => void)[];
  #primeTimer: NodeJS.Immediate | undefined;
  /** By server name: the secret values injected into it, for results masking (see #injected). */
  readonly #injectedValues = new Map<string, Promise<[string, string][]>>();

  /** @param upstream overrides of the upstream port (tests: links, backoff). */
  constructor(core: WardenCore, upstream: Partial<UpstreamPort> = {}) {
    this.#core = core;
    this.#upstream = upstream;
    this.#limits = new LimitsStep([...core.inForce.current.limits], core.quota);
    this.#unfollow = core.inForce.subscribe((change) => this.#limits.update([...change.now.limits]));
    const createLink = upstream.createLink ?? ((srv, log, era) => this.#link(srv, log, era));
    this.#warm = new WarmUpstreams({
      createLink: (srv, log) => createLink(srv, log),
      configured: (name) => core.config.servers.get(name),
      offReason: (server) => this.#warmOffReason(server),
      lastInitialize: (server) => core.upstreamRuns.lastInitialize(server),
      recordInitialize: (server, params) => core.upstreamRuns.record(server, params),
      logger: core.logger.child({ component: 'warm-upstreams' }),
      ...(upstream.backoff ? { backoff: upstream.backoff } : {}),
    });
    this.#eras = new UpstreamEras({
      store: core.upstreamEras,
      createLink: (srv, log) => createLink(srv, log, 'modern'),
      version: WARDEN_VERSION,
      logger: core.logger.child({ component: 'upstream-eras' }),
    });
    this.#unfollowWarm = [
      core.inForce.subscribe(() => this.#refreshWarm('a change was put in force')),
      core.onEvent((event) => {
        if (event.type === 'status.changed') void this.#refreshWarm('the status changed');
      }),
      core.onSecretChange((name) => void this.#secretChanged(name)),
      core.onSecretChange((name) => this.#injectedChanged(name)),
    ];
    // Servers that ran before get theirs once the daemon is up (after this tick's start-up).
    this.#primeTimer = setImmediate(() => void this.#refreshWarm('the daemon started'));
  }

  /**
   * A person restarted the server: its warm upstream is ended and a new one started.
   * @returns when the old one's processes are gone.
   */
  async restartWarm(name: string): Promise<void> {
    await this.#warm.end([name], 'a person restarted the server');
    const server = this.#core.config.servers.get(name);
    if (server) this.#warm.prime(server);
  }

  /** The protocol era of `server` (probed once per server identity, then cached). Never rejects. */
  eraOf(server: ServerConfig): Promise<'legacy' | 'modern'> {
    return this.#eras.verdict(server);
  }

  /** The warm upstream of the named server: ready, starting, waiting or off, and why. */
  warmStatus(server: string): WarmStatus {
    return this.#warm.status(server);
  }

  /**
   * The ports of one new session of `server`.
   * @param trusted whether server policy trusts this server's annotations (its admission).
   */
  portsFor(server: ServerConfig, trusted: boolean, logger: Logger): SessionPorts {
    const core = this.#core;
    const inForce = core.inForce;
    const sessionGrants: RememberedGrant[] = [];
    const guard = new GuardChain([
      new PolicyStep(
        () => inForce.current.engine,
        trusted,
        () => [...core.remembered.grants(), ...sessionGrants],
      ),
      this.#limits,
      new ApprovalStep({
        broker: core.broker,
        timeoutMs: () => inForce.current.approvalTimeoutMs,
        remembered: core.remembered,
        sessionGrants,
        logger,
      }),
    ]);
    return {
      catalog: {
        pins: core.pins,
        toolLists: new ToolLists(server, inForce.current.config.file),
        observeTools: (client, tools) => core.shadows.observe(client, server.name, tools),
      },
      guard,
      audit: {
        ...meteredRecorder(core.audit, core.metrics),
        policyVersion: () => core.policyVersion(),
      },
      results: this.#resultsPort(server),
      upstream: {
        createLink: (srv, log, era) => this.#link(srv, log, era),
        era: {
          verdict: () => this.#eras.verdict(server),
          forget: (why) => this.#eras.forget(server.name, why),
        },
        ...this.#upstream,
        ...(server.kind === 'stdio'
          ? {
              warm: {
                take: (params) => this.#warm.take(server, params),
                coming: (params) => this.#warm.coming(server, params),
                initialized: (params) => this.#warm.initialized(server, params),
              },
            }
          : {}),
      },
    };
  }

  /**
   * Stops following the state in force and ends the warm upstreams (daemon stop).
   * @returns when their processes are gone.
   */
  close(): Promise<void> {
    this.#unfollow();
    for (const unfollow of this.#unfollowWarm) unfollow();
    clearImmediate(this.#primeTimer);
    return this.#warm.close();
  }

  #link(
    server: ServerConfig,
    logger: Logger,
    era: 'legacy' | 'modern' = 'legacy',
  ): ReturnType<UpstreamPort['createLink']> {
    const core = this.#core;
    return createUpstreamLink(
      server,
      logger,
      core.secrets,
      core.oauth,
      core.upstreams,
      era,
      (srv, env, log) => core.sandbox.wrap(srv, env, log),
    );
  }

  /** Results masking for a session of `server`: the action in force, the values injected into it. */
  #resultsPort(server: ServerConfig): ResultMaskingPort {
    return {
      decision: () => resultSecretsFor(this.#core.inForce.current.engine.sources, server),
      injected: () => this.#injected(server),
    };
  }

  /**
   * The `${secret:…}` values Warden injects into `server`, read from the keychain once and kept;
   * a secret changed is read again and its earlier value kept too (running processes hold it).
   * @throws (rejects) WardenError KEYCHAIN_UNAVAILABLE; a failed read is tried again next time.
   */
  #injected(server: ServerConfig, previous?: [string, string][]): Promise<[string, string][]> {
    const cached = this.#injectedValues.get(server.name);
    if (cached && previous === undefined) return cached;
    const names = referencedSecrets(server);
    const loading = (async () => {
      const values = [...(previous ?? [])];
      for (const name of names) {
        const value = await this.#core.secrets.store.get(name);
        if (value !== undefined && !values.some(([n, v]) => n === name && v === value))
          values.push([name, value]);
      }
      return values;
    })();
    loading.catch(() => {
      if (this.#injectedValues.get(server.name) === loading) this.#injectedValues.delete(server.name);
    });
    this.#injectedValues.set(server.name, loading);
    return loading;
  }

  /** A secret changed: servers referencing it get its new value looked for as well as the old. */
  #injectedChanged(name: string): void {
    for (const [serverName, values] of this.#injectedValues) {
      const server = this.#core.config.servers.get(serverName);
      if (!server || !referencedSecrets(server).includes(name)) continue;
      values.then(
        (previous) => void this.#injected(server, previous).catch(() => undefined),
        () => undefined,
      );
    }
  }

  /** Why no warm upstream may be kept for `server` now, or undefined. */
  #warmOffReason(server: ServerConfig): string | undefined {
    const core = this.#core;
    if (server.kind !== 'stdio') return 'a url server has no process to keep ready';
    if (!core.config.warmUpstreams) return 'turned off by daemon.warmUpstreams';
    if (server.warm === false) return 'turned off by "warm": false in its config';
    if (core.paused) return 'MCP Warden is paused';
    const admission = core.admit(server);
    return admission.allowed ? undefined : `not admitted: ${admission.reason}`;
  }

  #refreshWarm(why: string): Promise<void> {
    this.#primeTimer = undefined;
    return this.#warm.refresh(this.#core.config.servers.values(), why);
  }

  /** A secret changed: the warm upstreams of servers referencing it hold its old value. */
  async #secretChanged(name: string): Promise<void> {
    const using = [...this.#core.config.servers.values()].filter((s) => referencedSecrets(s).includes(name));
    if (!using.length) return;
    await this.#warm.end(
      using.map((s) => s.name),
      `secret "${name}" changed`,
    );
    for (const server of using) this.#warm.prime(server);
  }
}
