import type { ApprovalBroker, ApprovalChoice } from '../approvals/broker.ts';
import { choicesFor } from '../approvals/broker.ts';
import { describeError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { ruleText, type PolicyEngine, type RememberedGrant } from '../policy/engine.ts';
import type { ArgumentCondition } from '../config/policy-schema.ts';
import type { RememberedRuleStore } from '../store/remembered-rules.ts';
import type { CallScope, GuardDecision, GuardStep, ToolCallContext } from './chain.ts';

/** How often a held call tells the client it is still waiting, ms. */
export const WAITING_NOTICE_MS = 5000;

/**
 * Guard step: the tool's pinned definition must be approved. A tool that is new or changed
 * since it was pinned is hidden and refused until a person approves it.
 */
export class PinsStep implements GuardStep {
  readonly name = 'pins';
  readonly #blockReason: (tool: string) => string | undefined;

  /** @param blockReason why a tool may not be called now (pending review, unknown), or undefined. */
  constructor(blockReason: (tool: string) => string | undefined) {
    this.#blockReason = blockReason;
  }

  decide(call: ToolCallContext): GuardDecision | undefined {
    const reason = this.#blockReason(call.tool);
    return reason ? { action: 'deny', by: 'tool pins', reason } : undefined;
  }
}

/**
 * Guard step: the policy engine's verdict. A deny ends the chain; allow and ask are recorded on
 * the call for the steps after it (limits, then ApprovalStep).
 */
export class PolicyStep implements GuardStep {
  readonly name = 'policy';
  readonly #engine: () => PolicyEngine;
  readonly #trusted: boolean;
  readonly #grants: () => readonly RememberedGrant[];

  /** @param engine the engine in force now (it changes when a new org policy is accepted). */
  constructor(engine: () => PolicyEngine, trusted: boolean, grants: () => readonly RememberedGrant[]) {
    this.#engine = engine;
    this.#trusted = trusted;
    this.#grants = grants;
  }

  decide(call: ToolCallContext): GuardDecision | undefined {
    const verdict = this.#engine().decideTool({
      server: call.server,
      tool: call.tool,
      arguments: call.arguments ?? {},
      annotations: call.annotations,
      trusted: this.#trusted,
      remembered: this.#grants(),
    });
    call.verdict = verdict;
    if (verdict.action === 'deny')
      return { action: 'deny', by: ruleText(verdict.by), reason: verdict.reason };
    return undefined;
  }
}

/**
 * Guard step (last): settles the policy verdict. `allow` allows; `ask` holds the call and asks a
 * person through the approval broker. A timeout denies (fail closed); the client's cancellation
 * withdraws the request. "Allow for this session" and "always allow" are remembered where the
 * rule that asked permits it.
 */
export class ApprovalStep implements GuardStep {
  readonly name = 'approval';
  readonly #broker: ApprovalBroker;
  readonly #timeoutMs: () => number;
  readonly #remembered: RememberedRuleStore;
  readonly #sessionGrants: RememberedGrant[];
  readonly #log: Logger;

  /**
   * @param options.timeoutMs how long a held call waits for a person, ms: a number, or a function
   *   read when each call is held (the approval timeout in force then; a reload changes it).
   */
  constructor(options: {
    broker: ApprovalBroker;
    timeoutMs: number | (() => number);
    remembered: RememberedRuleStore;
    sessionGrants: RememberedGrant[];
    logger: Logger;
  }) {
    this.#broker = options.broker;
    const timeoutMs = options.timeoutMs;
    this.#timeoutMs = typeof timeoutMs === 'number' ? () => timeoutMs : timeoutMs;
    this.#remembered = options.remembered;
    this.#sessionGrants = options.sessionGrants;
    this.#log = options.logger;
  }

  async decide(call: ToolCallContext, _scope: CallScope): Promise<GuardDecision> {
    const verdict = call.verdict;
    if (!verdict) return { action: 'deny', by: 'approval', reason: 'no policy verdict was reached' };
    if (verdict.action === 'allow') return { action: 'allow', by: ruleText(verdict.by) };
    if (verdict.action === 'deny')
      return { action: 'deny', by: ruleText(verdict.by), reason: verdict.reason };

    const timeoutMs = this.#timeoutMs();
    const started = Date.now();
    const ticker = call.onWaiting
      ? setInterval(() => call.onWaiting?.(Date.now() - started, timeoutMs), WAITING_NOTICE_MS)
      : undefined;
    try {
      call.onWaiting?.(0, timeoutMs);
      const outcome = await this.#broker.request(
        {
          sessionId: call.sessionId,
          client: call.client,
          server: call.server,
          tool: call.tool,
          arguments: call.arguments,
          annotations: call.annotations,
          rule: { source: verdict.by.source, text: verdict.by.text || ruleText(verdict.by) },
          choices: choicesFor(verdict.remember),
        },
        { timeoutMs, ...(call.signal ? { signal: call.signal } : {}) },
      );
      if (outcome.kind === 'timeout') {
        return {
          action: 'deny',
          by: 'approval timeout',
          reason: `no one approved it within ${Math.round(outcome.afterMs / 1000)} s (${ruleText(verdict.by)} asks for approval; unanswered requests are refused)`,
        };
      }
      if (outcome.kind === 'withdrawn')
        return { action: 'deny', by: 'approval withdrawn', reason: outcome.reason };
      const { answer } = outcome;
      if (answer.choice === 'deny') {
        return {
          action: 'deny',
          by: `person via ${answer.by}`,
          reason: `a person denied it via ${answer.by}${answer.reason ? `: ${answer.reason}` : ''}`,
        };
      }
      // Without a session (2026-07-28 over HTTP) "this session" degrades to once: fail closed.
      const choice = answer.choice === 'allow-session' && call.sessionless ? 'allow-once' : answer.choice;
      this.#remember(call, choice, answer.conditions, answer.by);
      return { action: 'allow', by: `${describeChoice(choice)} by a person via ${answer.by}` };
    } finally {
      if (ticker) clearInterval(ticker);
    }
  }

  #remember(
    call: ToolCallContext,
    choice: ApprovalChoice,
    conditions: ArgumentCondition[] | undefined,
    by: string,
  ): void {
    if (choice === 'allow-session') {
      this.#sessionGrants.push({
        id: `session-${this.#sessionGrants.length + 1}`,
        server: call.server,
        tool: call.tool,
        scope: 'session',
      });
    } else if (choice === 'allow-always') {
      try {
        const rule = this.#remembered.add({
          server: call.server,
          tool: call.tool,
          ...(conditions ? { conditions } : {}),
          createdBy: by,
        });
        this.#log.info({ rule: rule.id, tool: call.tool }, 'remembered an "always allow" decision');
      } catch (error) {
        this.#log.error({ err: describeError(error) }, 'could not store a remembered decision');
      }
    }
  }
}

function describeChoice(choice: ApprovalChoice): string {
  switch (choice) {
    case 'allow-once':
      return 'allowed once';
    case 'allow-session':
      return 'allowed for this session';
    case 'allow-always':
      return 'always allowed';
    default:
      return choice;
  }
}
