import type { SessionPorts, UpstreamPort } from '../bridge/session-ports.ts';
import { createUpstreamLink } from '../bridge/upstream-link.ts';
import type { ServerConfig } from '../config/schema.ts';
import { GuardChain } from '../guard/chain.ts';
import { LimitsStep } from '../guard/limits.ts';
import { ApprovalStep, PolicyStep } from '../guard/policy-steps.ts';
import { ToolLists } from '../guard/tool-lists.ts';
import type { Logger } from '../log.ts';
import type { RememberedGrant } from '../policy/engine.ts';
import type { WardenCore } from './warden-core.ts';

/**
 * Connects BridgeSessions to the running Warden: builds each session's ports
 * (bridge/session-ports.ts) from the WardenCore, and owns what all sessions share, the limits
 * step (its counters are daemon-wide). What a session decides by is read from the state in
 * force (StateInForce) when each call arrives: the policy, the approval timeout, the limits
 * (which follow every change put in force). The server's own settings, tool lists included,
 * are those it was started with: a change to them ends its sessions (Gateway).
 */
export class SessionWiring {
  readonly #core: WardenCore;
  readonly #limits: LimitsStep;
  readonly #unfollow: () => void;
  readonly #upstream: Partial<UpstreamPort>;

  /** @param upstream overrides of the upstream port (tests: links, backoff). */
  constructor(core: WardenCore, upstream: Partial<UpstreamPort> = {}) {
    this.#core = core;
    this.#upstream = upstream;
    this.#limits = new LimitsStep([...core.inForce.current.limits], core.quota);
    this.#unfollow = core.inForce.subscribe((change) => this.#limits.update([...change.now.limits]));
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
        createLink: (srv, log) => createUpstreamLink(srv, log, core.secrets, core.oauth, core.upstreams),
        ...this.#upstream,
      },
    };
  }

  /** Stops following the state in force. */
  close(): void {
    this.#unfollow();
  }
}
