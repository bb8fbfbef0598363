import { collectDefaultMetrics, Gauge, Histogram, Registry, type Metric } from 'prom-client';
import type { ApprovalBroker } from '../approvals/broker.ts';
import type { AuditDecision, AuditOutcome } from '../audit/audit-log.ts';
import { CallSeriesStore, FixedHistogram, OUTCOMES, type CallSeries } from './call-series.ts';
import { REFUSAL_REASONS, refusalReason, type RefusalReason } from './refusal-reason.ts';

/** What an upstream server is doing, as `mcp_warden_upstream_status{state}` tells it. */
export type UpstreamState = 'up' | 'down' | 'circuit_open' | 'idle';

/** Every {@link UpstreamState}, in the order the gauge lists them. */
export const UPSTREAM_STATES: readonly UpstreamState[] = ['up', 'down', 'circuit_open', 'idle'];

/** Which audit write a latency is of: the row before forwarding, an outcome, a refusal. */
export type AuditWriteKind = 'call' | 'outcome' | 'refusal';

/**
 * What the metrics read when they are scraped (not on any call's path): the daemon's servers,
 * its open sessions and its pending approvals. Set by the gateway (see {@link WardenMetrics.observe}).
 */
export interface MetricSources {
  /** Each configured server and its upstream's state now. */
  upstreams(): Iterable<{ server: string; state: UpstreamState }>;
  /** The client name (clientInfo.name, or "unknown" before initialize) of each open session. */
  sessionClients(): Iterable<string>;
}

/** One value of a gauge read at scrape time: its labels and the value. */
export interface GaugeSample<L extends string> {
  labels: Record<L, string>;
  value: number;
}

/** Buckets of the call duration histogram, seconds: 5 s is a bound (the slow-response alert). */
export const CALL_DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];

/** Buckets of the audit write latency, seconds. */
export const AUDIT_WRITE_BUCKETS = [
  0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1,
];

/** Buckets of the approval wait, seconds (a person answers in seconds to minutes). */
export const APPROVAL_WAIT_BUCKETS = [1, 2.5, 5, 10, 30, 60, 120, 300, 600];

/** Longest label value kept (a client name is the client's to choose). */
const MAX_LABEL = 64;

/**
 * The daemon's Prometheus metrics (prom-client), in its own registry, named by the Prometheus
 * conventions (`mcp_warden_…_total` counters, `…_seconds` durations; docs/metrics.md maps them
 * to the org's names):
 * - `mcp_warden_tool_calls_total{server,tool,decision,outcome}`: `tools/call`s ended;
 * - `mcp_warden_tool_call_duration_seconds{server,tool,decision}`: receipt (or forwarding, for
 *   an allowed call) to answer;
 * - `mcp_warden_refusals_total{server,reason}`: refused calls by {@link refusalReason};
 * - `mcp_warden_audit_write_seconds{kind}`: from queueing an audit row to its commit;
 * - `mcp_warden_approvals_pending`, `mcp_warden_approval_wait_seconds{outcome}`;
 * - `mcp_warden_upstream_status{server,state}` (1 for the state it is in, 0 for the others) and
 *   `mcp_warden_active_sessions{client}`, read at scrape time from {@link MetricSources};
 * - `process_*` and `nodejs_*`: prom-client's default metrics (memory, CPU, event loop).
 * Gauges other parts own (the forwarding outbox's depth) are added with {@link gauge}.
 *
 * The per-call methods find the call's series in nested maps (no key string is built) and add
 * to its preallocated counts (call-series.ts): about 200 bytes and well under a microsecond per
 * call (bench/metrics.bench.ts). Nothing is read or rendered until a scrape (`render`).
 */
export class WardenMetrics {
  readonly registry = new Registry();
  readonly #calls = new CallSeriesStore(CALL_DURATION_BUCKETS);
  readonly #refusals = new Map<string, Float64Array>();
  /** Sandbox violations by server, then by kind (read|write|network). */
  readonly #violations = new Map<string, Map<string, number>>();
  readonly #auditWrite: Record<AuditWriteKind, FixedHistogram> = {
    call: new FixedHistogram(AUDIT_WRITE_BUCKETS),
    outcome: new FixedHistogram(AUDIT_WRITE_BUCKETS),
    refusal: new FixedHistogram(AUDIT_WRITE_BUCKETS),
  };
  readonly #approvalWait: Histogram<'outcome'>;
  /** Calls recorded before forwarding, by audit row id, until their outcome: their series. */
  readonly #inFlight = new Map<number, CallSeries>();
  #sources: MetricSources | undefined;
  #outbox: { status(): readonly { destination: string; depth: number }[] } | undefined;
  #broker: ApprovalBroker | undefined;
  #unfollowBroker: (() => void) | undefined;

  /** @param options.defaultMetrics prom-client's process metrics (default true). */
  constructor(options: { defaultMetrics?: boolean } = {}) {
    const registers = [this.registry];
    this.#collected({
      name: 'mcp_warden_tool_calls_total',
      help: `tools/call requests that ended, by server, tool, decision (allow|deny) and outcome (${OUTCOMES.join('|')})`,
      type: 'counter',
      values: () => [...this.#calls.all()].flatMap((series) => callCounts(series)),
    });
    this.#collected({
      name: 'mcp_warden_tool_call_duration_seconds',
      help: 'tools/call duration in seconds: from forwarding to the answer for allowed calls, from receipt to the refusal for denied ones',
      type: 'histogram',
      values: () =>
        [...this.#calls.all()].flatMap((series) =>
          histogramValues('mcp_warden_tool_call_duration_seconds', series.duration, {
            server: series.server,
            tool: series.tool,
            decision: series.decision,
          }),
        ),
    });
    this.#collected({
      name: 'mcp_warden_refusals_total',
      help: 'tools/call requests MCP Warden refused, by server and reason (policy|tool_list|pin|limit|approval_denied|approval_timeout|approval_withdrawn|approval_error|other)',
      type: 'counter',
      values: () =>
        [...this.#refusals].flatMap(([server, counts]) =>
          REFUSAL_REASONS.map((reason, i) => ({ labels: { server, reason }, value: counts[i] ?? 0 })),
        ),
    });
    this.#collected({
      name: 'mcp_warden_sandbox_violations_total',
      help: "reads, writes and connections a server's OS sandbox denied, by server and kind (read|write|network)",
      type: 'counter',
      values: () =>
        [...this.#violations].flatMap(([server, kinds]) =>
          [...kinds].map(([kind, value]) => ({ labels: { server, kind }, value })),
        ),
    });
    this.#collected({
      name: 'mcp_warden_audit_write_seconds',
      help: 'from queueing an audit log write to its commit, seconds, by kind (call|outcome|refusal)',
      type: 'histogram',
      values: () =>
        (Object.keys(this.#auditWrite) as AuditWriteKind[]).flatMap((kind) =>
          histogramValues('mcp_warden_audit_write_seconds', this.#auditWrite[kind], { kind }),
        ),
    });
    this.#approvalWait = new Histogram({
      name: 'mcp_warden_approval_wait_seconds',
      help: 'how long a held call waited for a person, seconds, by outcome (answered|timeout|withdrawn)',
      labelNames: ['outcome'],
      buckets: APPROVAL_WAIT_BUCKETS,
      registers,
    });
    this.gauge({
      name: 'mcp_warden_approvals_pending',
      help: 'calls held for a person now',
      labelNames: [],
      read: () => [{ labels: {}, value: this.#broker?.list().length ?? 0 }],
    });
    this.gauge({
      name: 'mcp_warden_upstream_status',
      help: "the state of each configured server's upstream: 1 for the state it is in (up|down|circuit_open|idle), 0 for the others",
      labelNames: ['server', 'state'],
      read: () => upstreamSamples(this.#sources?.upstreams() ?? []),
    });
    this.gauge({
      name: 'mcp_warden_audit_outbox_depth',
      help: 'audit records waiting in the outbox for each forwarding destination',
      labelNames: ['destination'],
      read: () =>
        (this.#outbox?.status() ?? []).map((d) => ({
          labels: { destination: d.destination },
          value: d.depth,
        })),
    });
    this.gauge({
      name: 'mcp_warden_active_sessions',
      help: 'open downstream sessions, by client (clientInfo.name)',
      labelNames: ['client'],
      read: () => clientSamples(this.#sources?.sessionClients() ?? []),
    });
    if (options.defaultMetrics !== false) collectDefaultMetrics({ register: this.registry });
  }

  /** The audit outbox whose depth per destination is read at each scrape (audit/outbox.ts). */
  followOutbox(outbox: { status(): readonly { destination: string; depth: number }[] }): void {
    this.#outbox = outbox;
  }

  /** The gateway's view of servers and sessions, read at each scrape. */
  observe(sources: MetricSources): void {
    this.#sources = sources;
  }

  /**
   * Follows the approval broker: pending requests (read at scrape) and each request's wait.
   * @returns a function that stops following.
   */
  followApprovals(broker: ApprovalBroker): () => void {
    this.#unfollowBroker?.();
    this.#broker = broker;
    const asked = new Map<string, number>();
    const unsubscribe = broker.subscribe((event) => {
      if (event.type === 'requested') {
        asked.set(event.request.id, Date.parse(event.request.createdAt));
        return;
      }
      const since = asked.get(event.id);
      asked.delete(event.id);
      if (since === undefined) return;
      this.#approvalWait.observe({ outcome: event.outcome.kind }, Math.max(0, Date.now() - since) / 1000);
    });
    this.#unfollowBroker = () => {
      unsubscribe();
      this.#broker = undefined;
    };
    return this.#unfollowBroker;
  }

  /**
   * A call's start row was committed with id `id` (it is being forwarded, or was withdrawn):
   * its series is kept until {@link callEnded}.
   */
  callStarted(id: number, server: string, tool: string, decision: AuditDecision): void {
    // A row whose outcome never comes (the daemon stopped meanwhile) must not be kept forever.
    if (this.#inFlight.size >= 10_000) {
      const oldest = this.#inFlight.keys().next();
      if (!oldest.done) this.#inFlight.delete(oldest.value);
    }
    this.#inFlight.set(id, this.#calls.series(server, tool, decision));
  }

  /**
   * The call of row `id` ended with `outcome` after `durationMs` (ms); a row not started
   * through {@link callStarted} is not counted.
   */
  callEnded(id: number, outcome: AuditOutcome, durationMs: number): void {
    const series = this.#inFlight.get(id);
    if (!series) return;
    this.#inFlight.delete(id);
    series.ended(outcome, durationMs / 1000);
  }

  /** A call refused (never forwarded) after `durationMs` ms, with the audit row's reason. */
  refused(server: string, tool: string, reason: string | undefined, durationMs: number): void {
    this.#calls.series(server, tool, 'deny').ended('refused', durationMs / 1000);
    let counts = this.#refusals.get(server);
    if (!counts) this.#refusals.set(server, (counts = new Float64Array(REFUSAL_REASONS.length)));
    counts[REASON_INDEX[refusalReason(reason)]]!++;
  }

  /** The OS sandbox of `server` denied a read, a write or a connection (sandbox-service.ts). */
  sandboxViolation(server: string, kind: 'read' | 'write' | 'network'): void {
    let kinds = this.#violations.get(server);
    if (!kinds) this.#violations.set(server, (kinds = new Map<string, number>()));
    kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
  }

  /** An audit write of `kind` took `ms` ms from queueing to commit. */
  auditWrite(kind: AuditWriteKind, ms: number): void {
    this.#auditWrite[kind].observe(ms / 1000);
  }

  /**
   * Adds a gauge whose samples are read at each scrape, e.g. the outbox depth per destination:
   * `metrics.gauge({ name: 'mcp_warden_outbox_depth', help: '…', labelNames: ['destination'],
   * read: () => [{ labels: { destination: 'siem' }, value: 12 }] })`.
   * @param spec.name a Prometheus metric name not yet in the registry.
   * @throws Error (prom-client) when a metric of that name is already registered.
   */
  gauge<L extends string>(spec: {
    name: string;
    help: string;
    labelNames: readonly L[];
    read: () => Iterable<GaugeSample<L>>;
  }): void {
    new Gauge<L>({
      name: spec.name,
      help: spec.help,
      labelNames: spec.labelNames,
      registers: [this.registry],
      collect() {
        this.reset();
        for (const sample of spec.read()) this.set(sample.labels, sample.value);
      },
    });
  }

  /** The registry in the Prometheus text format (version 0.0.4), and its content type. */
  async render(): Promise<{ contentType: string; text: string }> {
    return { contentType: this.registry.contentType, text: await this.registry.metrics() };
  }

  /** Stops following the broker. */
  close(): void {
    this.#unfollowBroker?.();
  }

  /** Registers a metric whose values are built at each scrape from this object's own counts. */
  #collected(spec: {
    name: string;
    help: string;
    type: 'counter' | 'histogram';
    values: () => CollectedValue[];
  }): void {
    const metric = {
      name: spec.name,
      help: spec.help,
      type: spec.type,
      get: () => Promise.resolve({ ...spec, values: spec.values(), aggregator: 'sum' }),
      reset: () => undefined,
    };
    // prom-client renders any registered object with name, help, type and get() (Registry.metrics).
    this.registry.registerMetric(metric as unknown as Metric);
  }
}

/** One value of a collected metric, as prom-client's registry renders it. */
interface CollectedValue {
  labels: Record<string, string>;
  value: number;
  metricName?: string;
}

const REASON_INDEX = Object.fromEntries(REFUSAL_REASONS.map((reason, i) => [reason, i])) as Record<
  RefusalReason,
  number
>;

function callCounts(series: CallSeries): CollectedValue[] {
  const { server, tool, decision } = series;
  return OUTCOMES.map((outcome, i) => ({
    labels: { server, tool, decision, outcome },
    value: series.counts[i] ?? 0,
  }));
}

/** A histogram's `_bucket` (cumulative, by `le`), `_sum` and `_count` values. */
function histogramValues(
  name: string,
  histogram: FixedHistogram,
  labels: Record<string, string>,
): CollectedValue[] {
  return [
    ...histogram
      .cumulative()
      .map(({ le, value }) => ({ metricName: `${name}_bucket`, labels: { ...labels, le }, value })),
    { metricName: `${name}_sum`, labels, value: histogram.sum },
    { metricName: `${name}_count`, labels, value: histogram.count },
  ];
}

function upstreamSamples(
  upstreams: Iterable<{ server: string; state: UpstreamState }>,
): GaugeSample<'server' | 'state'>[] {
  const samples: GaugeSample<'server' | 'state'>[] = [];
  for (const { server, state } of upstreams) {
    for (const each of UPSTREAM_STATES) {
      samples.push({ labels: { server, state: each }, value: each === state ? 1 : 0 });
    }
  }
  return samples;
}

function clientSamples(clients: Iterable<string>): GaugeSample<'client'>[] {
  const counts = new Map<string, number>();
  for (const client of clients) {
    const name = client.slice(0, MAX_LABEL);
    counts.set(name, (counts.get(name) ?? 0) + 1);
  }
  return [...counts].map(([client, value]) => ({ labels: { client }, value }));
}
