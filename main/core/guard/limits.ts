import type Database from 'better-sqlite3';
import picomatch from 'picomatch';
import type { LimitRule } from '../policy/schema.ts';
import type { CallScope, GuardDecision, GuardStep, ToolCallContext } from './chain.ts';

/** A limit rule and the policy source it came from. */
export interface SourcedLimit {
  rule: LimitRule;
  /** e.g. "managed policy /etc/mcp-warden/managed-policy.json". */
  source: string;
}

/** Daily call counters per limit scope (table quota_usage in state.db); they survive restarts. */
export class QuotaStore {
  readonly #used: Database.Statement<[string, string], { count: number }>;
  readonly #increment: Database.Statement<[string, string], { count: number }>;

  constructor(db: Database.Database) {
    this.#used = db.prepare(`SELECT count FROM quota_usage WHERE day = ? AND scope = ?`);
    this.#increment = db.prepare(
      `INSERT INTO quota_usage (day, scope, count) VALUES (?, ?, 1)
       ON CONFLICT (day, scope) DO UPDATE SET count = count + 1 RETURNING count`,
    );
  }

  /** Calls counted for `scope` on `day` (YYYY-MM-DD, UTC). */
  used(day: string, scope: string): number {
    return this.#used.get(day, scope)?.count ?? 0;
  }

  /** Counts one call; returns the new count. */
  increment(day: string, scope: string): number {
    return this.#increment.get(day, scope)!.count;
  }
}

interface LimitState {
  limit: SourcedLimit;
  scope: string;
  matches: (server: string, tool: string) => boolean;
  tokens: number;
  refilledAt: number;
  inFlight: number;
}

/**
 * Guard step: rate (token bucket: `burst` at once, refilled at `ratePerMinute`), concurrency
 * (calls in flight, released when the call ends) and daily quota (UTC days, persisted) for
 * every limit rule whose server and tool globs match. Limits from all sources apply at once.
 * Every applicable limit is checked before any is consumed, so a refused call uses up nothing.
 * Synchronous, so a burst of concurrent calls is counted exactly.
 */
export class LimitsStep implements GuardStep {
  readonly name = 'limits';
  readonly #states: LimitState[];
  readonly #quota: QuotaStore;
  readonly #now: () => number;

  constructor(limits: SourcedLimit[], quota: QuotaStore, options: { now?: () => number } = {}) {
    this.#quota = quota;
    this.#now = options.now ?? Date.now;
    const now = this.#now();
    this.#states = limits.map((limit, index) => {
      const server = picomatch(limit.rule.server, { dot: true });
      const tool = picomatch(limit.rule.tool, { dot: true });
      return {
        limit,
        scope: `${limit.source}#${index}:${limit.rule.server}/${limit.rule.tool}`,
        matches: (s: string, t: string) => server(s) && tool(t),
        tokens: bucketSize(limit.rule),
        refilledAt: now,
        inFlight: 0,
      };
    });
  }

  decide(call: ToolCallContext, scope: CallScope): GuardDecision | undefined {
    const applicable = this.#states.filter((s) => s.matches(call.server, call.tool));
    if (!applicable.length) return undefined;
    const now = this.#now();
    const day = new Date(now).toISOString().slice(0, 10);
    for (const state of applicable) {
      const { rule, source } = state.limit;
      const where = `for server "${rule.server}", tool "${rule.tool}" (${source})`;
      if (rule.ratePerMinute !== undefined) {
        this.#refill(state, now);
        if (state.tokens < 1) {
          const waitMs = ((1 - state.tokens) / rule.ratePerMinute) * 60_000;
          return deny(
            `rate limit of ${rule.ratePerMinute} calls/minute (burst ${bucketSize(rule)}) ${where} reached; retry in ${(waitMs / 1000).toFixed(1)} s`,
          );
        }
      }
      if (rule.concurrency !== undefined && state.inFlight >= rule.concurrency) {
        return deny(
          `concurrency limit of ${rule.concurrency} calls in flight ${where} reached; retry when one finishes`,
        );
      }
      if (rule.dailyQuota !== undefined && this.#quota.used(day, state.scope) >= rule.dailyQuota) {
        return deny(
          `daily quota of ${rule.dailyQuota} calls ${where} used up for ${day} (UTC); it resets at midnight UTC`,
        );
      }
    }
    for (const state of applicable) {
      const { rule } = state.limit;
      if (rule.ratePerMinute !== undefined) state.tokens -= 1;
      if (rule.dailyQuota !== undefined) this.#quota.increment(day, state.scope);
      if (rule.concurrency !== undefined) {
        state.inFlight += 1;
        scope.onSettled(() => {
          state.inFlight -= 1;
        });
      }
    }
    return undefined;
  }

  #refill(state: LimitState, now: number): void {
    const rule = state.limit.rule;
    const elapsed = now - state.refilledAt;
    state.refilledAt = now;
    state.tokens = Math.min(bucketSize(rule), state.tokens + (elapsed * (rule.ratePerMinute ?? 0)) / 60_000);
  }
}

function bucketSize(rule: LimitRule): number {
  return rule.burst ?? Math.max(1, Math.ceil(rule.ratePerMinute ?? 1));
}

function deny(reason: string): GuardDecision {
  return { action: 'deny', by: 'limits', reason };
}
