import type { ToolVerdict } from '../policy/engine.ts';

/**
 * The guard's per-call chain: an ordered list of steps that each may decide a `tools/call`.
 * The first step that returns a decision ends the chain; when no step decides, the call is
 * allowed. Steps may be async (an approval prompt will be); the fast path stays synchronous.
 */

/** What the guard knows about one `tools/call` (MCP 2025-11-25, server/tools). */
export interface ToolCallContext {
  /** Downstream session id (Mcp-Session-Id). */
  sessionId: string;
  /** `clientInfo` from the client's initialize request. */
  client: { name?: string; version?: string };
  /** Server name as configured in `mcpServers`. */
  server: string;
  tool: string;
  /** The `arguments` object of the request, as sent (not yet redacted). */
  arguments: Record<string, unknown> | undefined;
  /** JSON-RPC id of the downstream request. */
  requestId: string | number;
  /** The tool's annotations from the server's (pin-checked) tools/list, if known. */
  annotations?: Record<string, unknown> | undefined;
  /** Aborted when the client cancels the call or goes away while it is held. */
  signal?: AbortSignal;
  /** Called about every few seconds while the call waits for a person (elapsed and total, ms). */
  onWaiting?: (elapsedMs: number, timeoutMs: number) => void;
  /**
   * True when the call belongs to no session (2026-07-28 over Streamable HTTP: each request
   * stands alone): a "this session" approval then counts once.
   */
  sessionless?: boolean;
  /** Set by the policy step for the steps after it. */
  verdict?: ToolVerdict;
}

/** A step's verdict. `by` names the rule and its source, for the audit log and the refusal message. */
export type GuardDecision = { action: 'allow'; by: string } | { action: 'deny'; by: string; reason: string };

/**
 * The life of one call as the guard sees it: steps that hold something for the call (a
 * concurrency slot) register how to give it back; the session runs those callbacks once, when
 * the call ends (answered, failed, cancelled or refused by a later step).
 */
export class CallScope {
  #onSettled: (() => void)[] = [];
  #settled = false;

  onSettled(release: () => void): void {
    if (this.#settled) release();
    else this.#onSettled.push(release);
  }

  settle(): void {
    if (this.#settled) return;
    this.#settled = true;
    for (const release of this.#onSettled.splice(0)) release();
  }
}

export interface GuardStep {
  /** A short stable name, e.g. "tool-lists". */
  readonly name: string;
  /** Returns a decision to end the chain, or undefined to pass to the next step. */
  decide(
    call: ToolCallContext,
    scope: CallScope,
  ): GuardDecision | undefined | Promise<GuardDecision | undefined>;
}

/** The decision when no step decides. */
export const DEFAULT_ALLOW: GuardDecision = { action: 'allow', by: 'default' };

/** Runs steps in order; see the module doc. Never throws: a throwing step denies (fail closed). */
export class GuardChain {
  readonly #steps: GuardStep[];

  constructor(steps: GuardStep[]) {
    this.#steps = steps;
  }

  /** Runs the steps; on a deny the scope is settled at once (nothing stays held). */
  async decide(call: ToolCallContext, scope: CallScope = new CallScope()): Promise<GuardDecision> {
    const decision = await this.#run(call, scope);
    if (decision.action === 'deny') scope.settle();
    return decision;
  }

  async #run(call: ToolCallContext, scope: CallScope): Promise<GuardDecision> {
    for (const step of this.#steps) {
      let decision: GuardDecision | undefined;
      try {
        const result = step.decide(call, scope);
        decision = result instanceof Promise ? await result : result;
      } catch (error) {
        return {
          action: 'deny',
          by: step.name,
          reason: `the guard step "${step.name}" failed (${error instanceof Error ? error.message : String(error)}), so the call was refused`,
        };
      }
      if (decision) return decision;
    }
    return DEFAULT_ALLOW;
  }
}
