import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { ApprovalBroker } from '../approvals/broker.ts';
import type { AuditDecision, AuditOutcome } from '../audit/audit-log.ts';
import { refusalReason } from './refusal-reason.ts';

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
 * The per-call methods cost a label lookup and an add each; nothing is read or rendered until
 * a scrape (`render`).
 */
export class WardenMetrics {
  readonly registry = new Registry();
  readonly #calls: Counter<'server' | 'tool' | 'decision' | 'outcome'>;
  readonly #duration: Histogram<'server' | 'tool' | 'decision'>;
  readonly #refusals: Counter<'server' | 'reason'>;
  readonly #auditWrite: Histogram<'kind'>;
  readonly #approvalWait: Histogram<'outcome'>;
  /** Calls recorded before forwarding, by audit row id, until their outcome. */
  readonly #inFlight = new Map<number, { server: string; tool: string; decision: AuditDecision }>();
  #sources: MetricSources | undefined;
  #broker: ApprovalBroker | undefined;
  #unfollowBroker: (() => void) | undefined;

  /** @param options.defaultMetrics prom-client's process metrics (default true; off in benches). */
  constructor(options: { defaultMetrics?: boolean } = {}) {
    const registers = [this.registry];
    this.#calls = new Counter({
      name: 'mcp_warden_tool_calls_total',
      help: 'tools/call requests that ended, by server, tool, decision (allow|deny) and outcome (ok|tool_error|error|refused|cancelled)',
      labelNames: ['server', 'tool', 'decision', 'outcome'],
      registers,
    });
    this.#duration = new Histogram({
      name: 'mcp_warden_tool_call_duration_seconds',
      help: 'tools/call duration in seconds: from forwarding to the answer for allowed calls, from receipt to the refusal for denied ones',
      labelNames: ['server', 'tool', 'decision'],
      buckets: CALL_DURATION_BUCKETS,
      registers,
    });
    this.#refusals = new Counter({
      name: 'mcp_warden_refusals_total',
      help: 'tools/call requests MCP Warden refused, by server and reason (policy|tool_list|pin|limit|approval_denied|approval_timeout|approval_withdrawn|approval_error|other)',
      labelNames: ['server', 'reason'],
      registers,
    });
    this.#auditWrite = new Histogram({
      name: 'mcp_warden_audit_write_seconds',
      help: 'from queueing an audit log write to its commit, seconds, by kind (call|outcome|refusal)',
      labelNames: ['kind'],
      buckets: AUDIT_WRITE_BUCKETS,
      registers,
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
      name: 'mcp_warden_active_sessions',
      help: 'open downstream sessions, by client (clientInfo.name)',
      labelNames: ['client'],
      read: () => clientSamples(this.#sources?.sessionClients() ?? []),
    });
    if (options.defaultMetrics !== false) collectDefaultMetrics({ register: this.registry });
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
   * its labels are kept until {@link callEnded}.
   */
  callStarted(id: number, server: string, tool: string, decision: AuditDecision): void {
    // A row whose outcome never comes (the daemon stopped meanwhile) must not be kept forever.
    if (this.#inFlight.size >= 10_000) {
      const oldest = this.#inFlight.keys().next();
      if (!oldest.done) this.#inFlight.delete(oldest.value);
    }
    this.#inFlight.set(id, { server, tool, decision });
  }

  /**
   * The call of row `id` ended with `outcome` after `durationMs` (ms); a row not started
   * through {@link callStarted} is not counted.
   */
  callEnded(id: number, outcome: AuditOutcome, durationMs: number): void {
    const call = this.#inFlight.get(id);
    if (!call) return;
    this.#inFlight.delete(id);
    this.#count(call.server, call.tool, call.decision, outcome, durationMs);
  }

  /** A call refused (never forwarded) after `durationMs` ms, with the audit row's reason. */
  refused(server: string, tool: string, reason: string | undefined, durationMs: number): void {
    this.#count(server, tool, 'deny', 'refused', durationMs);
    this.#refusals.inc({ server, reason: refusalReason(reason) });
  }

  /** An audit write of `kind` took `ms` ms from queueing to commit. */
  auditWrite(kind: AuditWriteKind, ms: number): void {
    this.#auditWrite.observe({ kind }, ms / 1000);
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

  #count(server: string, tool: string, decision: AuditDecision, outcome: AuditOutcome, ms: number): void {
    this.#calls.inc({ server, tool, decision, outcome });
    this.#duration.observe({ server, tool, decision }, ms / 1000);
  }
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
