import type Database from 'better-sqlite3';
import { WardenError } from '../errors.ts';
import { nameGlob } from '../policy/name-glob.ts';
import type { LimitRule } from '../config/policy-schema.ts';
import type { SourcedLimit } from '../policy/engine.ts';
import type { CallScope, GuardDecision, GuardStep, ToolCallContext } from './chain.ts';

/**
 * Daily call counters per limit scope (table `quota_usage` in state.db), so a daily quota
 * survives restarts. `day` is a UTC calendar day, YYYY-MM-DD; `scope` is the key LimitsStep
 * gives each rule (see there). Statements are prepared once; every method is synchronous.
 * @throws SqliteError from better-sqlite3 when the database cannot be read or written.
 */
export class QuotaStore {
  readonly #used: Database.Statement<[string, string], { count: number }>;
  readonly #increment: Database.Statement<[string, string], { count: number }>;
  readonly #release: Database.Statement<[string, string]>;
  readonly #incrementAll: (day: string, scopes: readonly string[]) => number[];

  constructor(db: Database.Database) {
    this.#used = db.prepare(`SELECT count FROM quota_usage WHERE day = ? AND scope = ?`);
    this.#increment = db.prepare(
      `INSERT INTO quota_usage (day, scope, count) VALUES (?, ?, 1)
       ON CONFLICT (day, scope) DO UPDATE SET count = count + 1 RETURNING count`,
    );
    this.#release = db.prepare(
      `UPDATE quota_usage SET count = count - 1 WHERE day = ? AND scope = ? AND count > 0`,
    );
    this.#incrementAll = db.transaction((day: string, scopes: readonly string[]) =>
      scopes.map((scope) => this.increment(day, scope)),
    );
  }

  /** Calls counted for `scope` on `day`; 0 when none were. */
  used(day: string, scope: string): number {
    return this.#used.get(day, scope)?.count ?? 0;
  }

  /** Counts one call for `scope` on `day`; returns the new count. */
  increment(day: string, scope: string): number {
    const row = this.#increment.get(day, scope);
    if (!row) throw new WardenError('STORE_FAILED', `quota_usage returned no count for ${day} ${scope}`);
    return row.count;
  }

  /**
   * Counts one call for each of `scopes` on `day` in one transaction (all or none); returns the
   * new counts in order.
   */
  incrementAll(day: string, scopes: readonly string[]): number[] {
    return scopes.length ? this.#incrementAll(day, scopes) : [];
  }

  /**
   * Gives back one call counted for `scope` on `day` (never below 0), for a caller that counted a
   * call which then did not run. LimitsStep itself never needs it: it counts only after every
   * limit passed (see there).
   */
  release(day: string, scope: string): void {
    this.#release.run(day, scope);
  }
}

/** Options of LimitsStep. */
export interface LimitsOptions {
  /** The clock, ms since the epoch (default Date.now). */
  now?: () => number;
}

/** One rule's live state. Rate and concurrency state is in memory; the daily count is in QuotaStore. */
interface LimitState {
  rule: LimitRule;
  /** The rule's key in quota_usage. */
  scope: string;
  /** `for server "fs", tool "write_file" (user config /x/config.json)`, for messages. */
  where: string;
  matches: (server: string, tool: string) => boolean;
  /** Token bucket capacity (the burst), used when the rule has a rate. */
  capacity: number;
  tokens: number;
  refilledAt: number;
  inFlight: number;
}

/** Float slack so a bucket refilled to 0.9999999… tokens by rounding still counts as one. */
const EPSILON = 1e-9;
const DAY_MS = 86_400_000;

/**
 * Guard step: rate, concurrency and daily quota limits.
 *
 * Every limit rule whose `server` and `tool` name globs (policy/name-glob.ts) match the call
 * applies, from all policy sources at once, so the most restrictive wins. A rule is one shared scope: a rule
 * `server: "fs", tool: "*"` counts every fs tool together; `tool: "write_file"` counts that tool
 * alone. Per rule:
 * - `ratePerMinute` (+ `burst`): a token bucket of `burst ?? max(1, ceil(ratePerMinute))` tokens,
 *   full at start, refilled at ratePerMinute/60 000 tokens per ms; a call takes one token.
 * - `concurrency`: calls in flight; a slot is taken when the call passes and given back through
 *   `scope.onSettled` when the call ends (answered, failed, cancelled or refused by a later step).
 * - `dailyQuota`: calls per UTC calendar day, counted in QuotaStore so it survives restarts.
 *   The quota scope key is `<source>: <server glob>/<tool glob>` (the pair as a JSON array when
 *   either glob holds a "/"), with ` #2`, ` #3`… for a repeated glob pair in the same source, so
 *   adding or reordering other rules keeps the counts.
 *
 * Every applicable limit is checked before any is consumed: a refused call takes nothing from
 * any limit. A call that passes is counted here, before the steps after this one; a call the
 * approval step then refuses (a person says no, no one answers) has used a token and a day's
 * call, since it did reach a person, and its concurrency slot comes back when the chain settles
 * the scope. `decide` is synchronous, so a burst of concurrent calls is counted exactly.
 */
export class LimitsStep implements GuardStep {
  readonly name = 'limits';
  #states: LimitState[];
  readonly #quota: QuotaStore;
  readonly #now: () => number;

  constructor(limits: SourcedLimit[], quota: QuotaStore, options: LimitsOptions = {}) {
    this.#quota = quota;
    this.#now = options.now ?? Date.now;
    this.#states = this.#build(limits, []);
  }

  /**
   * Replaces the limits (the policy changed while running). A limit whose source and rule did
   * not change keeps its state (tokens, calls in flight); new ones start full.
   */
  update(limits: SourcedLimit[]): void {
    this.#states = this.#build(limits, this.#states);
  }

  #build(limits: SourcedLimit[], previous: LimitState[]): LimitState[] {
    const start = this.#now();
    const seen = new Map<string, number>();
    return limits.map(({ rule, source }) => {
      // "a/b" + "c" and "a" + "b/c" must not share counts: globs holding "/" are JSON-quoted.
      const pair = /\//.test(rule.server + rule.tool)
        ? JSON.stringify([rule.server, rule.tool])
        : `${rule.server}/${rule.tool}`;
      const base = `${source}: ${pair}`;
      const occurrence = (seen.get(base) ?? 0) + 1;
      seen.set(base, occurrence);
      const scope = occurrence === 1 ? base : `${base} #${occurrence}`;
      const kept = previous.find((p) => p.scope === scope && JSON.stringify(p.rule) === JSON.stringify(rule));
      if (kept) return kept;
      const server = nameGlob(rule.server);
      const tool = nameGlob(rule.tool);
      const capacity = rule.burst ?? Math.max(1, Math.ceil(rule.ratePerMinute ?? 1));
      return {
        rule,
        scope,
        where: `for server "${rule.server}", tool "${rule.tool}" (${source})`,
        matches: (s: string, t: string) => server(s) && tool(t),
        capacity,
        tokens: capacity,
        refilledAt: start,
        inFlight: 0,
      };
    });
  }

  decide(call: ToolCallContext, scope: CallScope): GuardDecision | undefined {
    const applicable = this.#states.filter((s) => s.matches(call.server, call.tool));
    if (!applicable.length) return undefined;
    const now = this.#now();
    const day = utcDay(now);

    for (const state of applicable) {
      const reason = this.#refusal(state, now, day);
      if (reason) return { action: 'deny', by: 'limits', reason };
    }

    // All passed: consume. The database write is the only part that can fail, so it goes first
    // (one transaction); a failure leaves every limit untouched and the chain refuses the call.
    this.#quota.incrementAll(
      day,
      applicable.filter((s) => s.rule.dailyQuota !== undefined).map((s) => s.scope),
    );
    for (const state of applicable) {
      if (state.rule.ratePerMinute !== undefined) state.tokens -= 1;
      if (state.rule.concurrency !== undefined) {
        state.inFlight += 1;
        scope.onSettled(() => {
          state.inFlight -= 1;
        });
      }
    }
    return undefined;
  }

  /** Why `state`'s rule refuses a call now, or undefined. Refills the bucket; consumes nothing. */
  #refusal(state: LimitState, now: number, day: string): string | undefined {
    const { rule, where } = state;
    if (rule.ratePerMinute !== undefined) {
      this.#refill(state, now);
      if (state.tokens + EPSILON < 1) {
        const waitMs = ((1 - state.tokens) / rule.ratePerMinute) * 60_000;
        return `rate limit of ${rule.ratePerMinute} calls/minute (burst ${state.capacity}) ${where} reached; retry in ${formatSeconds(waitMs)}`;
      }
    }
    if (rule.concurrency !== undefined && state.inFlight >= rule.concurrency) {
      return `concurrency limit of ${plural(rule.concurrency, 'call')} in flight ${where} reached; retry when one of them ends`;
    }
    if (rule.dailyQuota !== undefined && this.#quota.used(day, state.scope) >= rule.dailyQuota) {
      const resetsInMs = DAY_MS - (now % DAY_MS);
      return `daily quota of ${plural(rule.dailyQuota, 'call')} ${where} used up for ${day} (UTC); it resets at midnight UTC, in ${formatDuration(resetsInMs)}`;
    }
    return undefined;
  }

  #refill(state: LimitState, now: number): void {
    // A clock that went back refills nothing (and takes nothing away).
    const elapsed = Math.max(0, now - state.refilledAt);
    state.refilledAt = now;
    state.tokens = Math.min(
      state.capacity,
      state.tokens + (elapsed * (state.rule.ratePerMinute ?? 0)) / 60_000,
    );
  }
}

/** The UTC calendar day of `ms`, YYYY-MM-DD. */
function utcDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** Seconds with one decimal, rounded up so "retry in" is never too early: "4.2 s". */
function formatSeconds(ms: number): string {
  return `${(Math.ceil(Math.round(ms) / 100) / 10).toFixed(1)} s`;
}

/** A coarse duration until a reset: "3 h 12 min", "2 min", "24 h". */
function formatDuration(ms: number): string {
  const minutes = Math.ceil(ms / 60_000);
  const h = Math.floor(minutes / 60);
  const m = minutes % 60;
  if (!h) return `${m} min`;
  return m ? `${h} h ${m} min` : `${h} h`;
}
