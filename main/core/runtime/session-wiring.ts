import type { SessionPorts, UpstreamPort } from '../bridge/session-ports.ts';
import { createUpstreamLink } from '../bridge/upstream-link.ts';
import { WarmUpstreams, type WarmStatus } from '../bridge/warm-upstreams.ts';
import type { ServerConfig } from '../config/schema.ts';
import { GuardChain } from '../guard/chain.ts';
import { LimitsStep } from '../guard/limits.ts';
import { ApprovalStep, PolicyStep } from '../guard/policy-steps.ts';
import { ToolLists } from '../guard/tool-lists.ts';
import type { Logger } from '../log.ts';
import type { RememberedGrant } from '../policy/engine.ts';
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
  readonly #unfollowWarm: (() => void)[];
  #primeTimer: NodeJS.Immediate | undefined;

  /** @param upstream overrides of the upstream port (tests: links, backoff). */
  constructor(core: WardenCore, upstream: Partial<UpstreamPort> = {}) {
    this.#core = core;
    this.#upstream = upstream;
    this.#limits = new LimitsStep([...core.inForce.current.limits], core.quota);
    this.#unfollow = core.inForce.subscribe((change) => this.#limits.update([...change.now.limits]));
    const createLink = upstream.createLink ?? ((srv, log) => this.#link(srv, log));
    this.#warm = new WarmUpstreams({
      createLink: (srv, log) => createLink(srv, log),
      configured: (name) => core.config.servers.get(name),
      offReason: (server) => this.#warmOffReason(server),
      lastInitialize: (server) => core.upstreamRuns.lastInitialize(server),
      recordInitialize: (server, params) => core.upstreamRuns.record(server, params),
      logger: core.logger.child({ component: 'warm-upstreams' }),
      ...(upstream.backoff ? { backoff: upstream.backoff } : {}),
    });
    this.#unfollowWarm = [
      core.inForce.subscribe(() => this.#refreshWarm('a change was put in force')),
      core.onEvent((event) => {
        if (event.type === 'status.changed') void this.#refreshWarm('the status changed');
      }),
      core.onSecretChange((name) => void this.#secretChanged(name)),
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
        recordCall: (start) => core.audit.queueCall(start),
        recordOutcome: (id, end) => core.audit.queueOutcome(id, end),
        recordRefusal: (start, error, durationMs) => core.audit.queueRefusal(start, error, durationMs),
        policyVersion: () => core.policyVersion(),
      },
      upstream: {
        createLink: (srv, log) => this.#link(srv, log),
        ...this.#upstream,
        ...(server.kind === 'stdio'
          ? {
              warm: {
                take: (params) => this.#warm.take(server, params),
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

  #link(server: ServerConfig, logger: Logger): ReturnType<UpstreamPort['createLink']> {
    const core = this.#core;
    return createUpstreamLink(server, logger, core.secrets, core.oauth, core.upstreams, (srv, env, log) =>
      core.sandbox.wrap(srv, env, log),
    );
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
