import type { JSONRPCMessage, RequestId } from '@modelcontextprotocol/server';
import type { AuditCallEnd, AuditCallStart } from '../audit/audit-log.ts';
import type { ServerConfig } from '../config/schema.ts';
import type { CallScope, GuardDecision, ToolCallContext } from '../guard/chain.ts';
import type { ToolLists } from '../guard/tool-lists.ts';
import type { Logger } from '../log.ts';
import type { Shadow } from '../pins/shadowing.ts';
import type { PinnedListsOptions } from './pinned-lists.ts';
import type { ResultMaskingPort } from './result-masking.ts';
import type { WarmPort } from './supervisor.ts';
import type { UpstreamLink } from './upstream-link.ts';

/**
 * The ports a BridgeSession works through: it knows nothing else of the running Warden
 * (runtime/session-wiring.ts connects them to it; tests pass their own).
 */

/** Where the session's messages to the client go (the Streamable HTTP server transport). */
export interface DownstreamPort {
  /** Sends a message; `relatedRequestId` routes it onto that request's response stream. */
  send(message: JSONRPCMessage, options?: { relatedRequestId?: RequestId }): Promise<void>;
  /** Ends the response stream of a request that will get no answer (it was cancelled). */
  closeRequestStream(id: RequestId): void;
}

/**
 * The tool catalog of the session's server: the pins its complete lists are checked against,
 * the config's tool allow and deny lists, and tool shadowing across the client's servers.
 */
export interface ToolCatalogPort {
  /** Checks a complete list against the pins (PinStore.check). */
  readonly pins: PinnedListsOptions['pins'];
  /** The server's tool lists from the config (`mcpServers.<name>.tools`). */
  readonly toolLists: Pick<ToolLists, 'blockReason'>;
  /**
   * Records the tool names the server now offers the client named `client`.
   * @returns the shadows (tool names also offered by another server) involving this server.
   */
  observeTools(client: string, tools: readonly string[]): readonly Shadow[];
}

/**
 * Decides each `tools/call` after the catalog checks (tool lists and pins, which the session
 * runs itself): policy, limits and approvals. It reads what is in force when each call arrives,
 * so a reload applies to sessions already open. May hold a call (a person's approval) until
 * `call.signal` aborts. A port that throws refuses the call (fail closed).
 */
export interface GuardPort {
  decide(call: ToolCallContext, scope: CallScope): Promise<GuardDecision>;
}

/**
 * What the session writes to the audit log (AuditLog: queueCall, queueOutcome, queueRefusal).
 * Each write may be committed later (batched per turn of the event loop) and return a promise:
 * the session forwards a call once its row is committed, and delivers a result once its
 * outcome (or refusal) is.
 */
export interface CallRecorder {
  /**
   * Records a call before it is forwarded; returns (or resolves with) its row id once committed.
   * Throws or rejects when it cannot (fail closed).
   */
  recordCall(start: AuditCallStart): number | Promise<number>;
  recordOutcome(id: number, end: AuditCallEnd): void | Promise<void>;
  recordRefusal(start: AuditCallStart, error: string, durationMs?: number): number | Promise<number>;
}

/** The audit of the session's calls: the recorder, and the policy version each row names. */
export interface CallAuditPort extends CallRecorder {
  /** The org policy version in force, for audit rows ("org acme v6"); undefined without one. */
  policyVersion(): string | undefined;
}

/** How the session reaches its upstream server (UpstreamSupervisor keeps the link alive). */
export interface UpstreamPort {
  /**
   * A new, unstarted link to the server (stdio child or Streamable HTTP); `era` picks the HTTP
   * link of that era (stdio links carry either).
   */
  createLink(server: ServerConfig, logger: Logger, era?: 'legacy' | 'modern'): UpstreamLink;
  /** Backoff before restart attempt n (0-based), ms (default: circuit-breaker's backoffDelay). */
  backoff?: (attempt: number) => number;
  /** The server's warm upstream (absent: every session spawns its own). */
  warm?: WarmPort;
  /** The server's protocol era (era/upstream-era.ts); absent: legacy (2025-11-25) only. */
  era?: EraPort;
}

/** A session's view of its server's protocol era, probed once per server identity and cached. */
export interface EraPort {
  /** `modern` when the server speaks 2026-07-28, else `legacy`. Never rejects. */
  verdict(): Promise<'legacy' | 'modern'>;
  /** The cached verdict failed (the server answered like another era): probe again next time. */
  forget(why: string): void;
}

/** The ports of one session besides its downstream. */
export interface SessionPorts {
  catalog: ToolCatalogPort;
  guard: GuardPort;
  audit: CallAuditPort;
  upstream: UpstreamPort;
  /** Results masking (result-masking.ts); absent: messages from the server go on unscreened. */
  results?: ResultMaskingPort;
}
