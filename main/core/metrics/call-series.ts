import type { AuditDecision, AuditOutcome } from '../audit/audit-log.ts';

/** Each outcome's slot in {@link CallSeries.counts}; a Record, so a new AuditOutcome must be added here. */
const OUTCOME_INDEX: Readonly<Record<AuditOutcome, number>> = {
  ok: 0,
  tool_error: 1,
  error: 2,
  refused: 3,
  cancelled: 4,
  input_required: 5,
};

/** Every outcome of a call, in the order of {@link CallSeries.counts}. */
export const OUTCOMES: readonly AuditOutcome[] = (Object.keys(OUTCOME_INDEX) as AuditOutcome[]).sort(
  (a, b) => OUTCOME_INDEX[a] - OUTCOME_INDEX[b],
);

/** Tool series kept per server and decision; later tools are counted under {@link OTHER_TOOL}. */
export const MAX_TOOLS_PER_SERVER = 500;

/** The tool label of calls past {@link MAX_TOOLS_PER_SERVER} (a client may name any tool). */
export const OTHER_TOOL = '(other)';

/**
 * A Prometheus histogram with fixed bounds (seconds), kept as per-bucket counts: observing adds
 * to one slot and allocates nothing. Read cumulatively, as the text format has it.
 */
export class FixedHistogram {
  readonly bounds: readonly number[];
  /** counts[i]: observations in (bounds[i-1], bounds[i]]; the last slot is above every bound. */
  readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(bounds: readonly number[]) {
    this.bounds = bounds;
    this.counts = new Float64Array(bounds.length + 1);
  }

  /** @param value seconds (any finite number; NaN is ignored). */
  observe(value: number): void {
    if (Number.isNaN(value)) return;
    const bounds = this.bounds;
    let i = 0;
    while (i < bounds.length && value > bounds[i]!) i++;
    this.counts[i]!++;
    this.sum += value;
    this.count++;
  }

  /** The cumulative count at or below each bound, then +Inf. */
  cumulative(): { le: string; value: number }[] {
    const out: { le: string; value: number }[] = [];
    let running = 0;
    this.bounds.forEach((bound, i) => {
      running += this.counts[i]!;
      out.push({ le: String(bound), value: running });
    });
    out.push({ le: '+Inf', value: running + this.counts[this.bounds.length]! });
    return out;
  }
}

/** The calls of one server, tool and decision: counts by outcome and their durations. */
export class CallSeries {
  readonly server: string;
  readonly tool: string;
  readonly decision: AuditDecision;
  /** By outcome, in the order of {@link OUTCOMES}. */
  readonly counts = new Float64Array(OUTCOMES.length);
  readonly duration: FixedHistogram;

  constructor(server: string, tool: string, decision: AuditDecision, bounds: readonly number[]) {
    this.server = server;
    this.tool = tool;
    this.decision = decision;
    this.duration = new FixedHistogram(bounds);
  }

  /** A call of this series ended with `outcome` after `seconds`. */
  ended(outcome: AuditOutcome, seconds: number): void {
    this.counts[OUTCOME_INDEX[outcome]]!++;
    this.duration.observe(seconds);
  }
}

/**
 * The call series by server, tool and decision, created on first use (nested maps: a lookup
 * builds no key string). At most {@link MAX_TOOLS_PER_SERVER} tools per server and decision.
 */
export class CallSeriesStore {
  readonly #bounds: readonly number[];
  readonly #byServer = new Map<string, { allow: Map<string, CallSeries>; deny: Map<string, CallSeries> }>();

  /** @param bounds the duration histogram's bucket bounds, seconds. */
  constructor(bounds: readonly number[]) {
    this.#bounds = bounds;
  }

  /** The series of these labels (created when new). */
  series(server: string, tool: string, decision: AuditDecision): CallSeries {
    let byDecision = this.#byServer.get(server);
    if (!byDecision) this.#byServer.set(server, (byDecision = { allow: new Map(), deny: new Map() }));
    const tools = byDecision[decision];
    let series = tools.get(tool);
    if (!series) {
      const name = tools.size >= MAX_TOOLS_PER_SERVER ? OTHER_TOOL : tool;
      series = tools.get(name) ?? new CallSeries(server, name, decision, this.#bounds);
      tools.set(name, series);
    }
    return series;
  }

  /** Every series, in the order they were made. */
  *all(): Generator<CallSeries> {
    for (const byDecision of this.#byServer.values()) {
      yield* byDecision.allow.values();
      yield* byDecision.deny.values();
    }
  }
}
