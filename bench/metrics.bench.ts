/**
 * `node bench/metrics.bench.ts`: what the Prometheus metrics add to each tools/call, on vs off in
 * one run, each on a real audit log (AuditLog) in a temp directory:
 *   - audit.off: a session's audit writes without metrics (the INSERT before forwarding, then the
 *     outcome, each awaited until committed, as BridgeSession does);
 *   - audit.on: the same through meteredRecorder (main/core/metrics/metered-audit.ts), as the
 *     daemon runs them: the call's labels kept, the counter and histograms fed at each commit;
 *   - metrics.alone: only the metric calls of one call (no I/O): time per call, and the heap
 *     allocated per call over a stretch with no garbage collection (null when one ran);
 *   - scrape: rendering the registry in the Prometheus text format after the run, ms.
 * The audit rows take turns in `--rounds` rounds (bench/lib/interleave.ts), so the machine's
 * noise falls on both alike: read the ratios. Calls go to 20 tools in turn (label cardinality).
 * Options: --calls N (default 5000), --warmup N (200), --rounds N (10), --json.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PerformanceObserver, performance } from 'node:perf_hooks';
import v8 from 'node:v8';
import vm from 'node:vm';
import { AuditLog, type AuditCallStart } from '../main/core/audit/audit-log.ts';
import type { CallRecorder } from '../main/core/bridge/session-ports.ts';
import { meteredRecorder } from '../main/core/metrics/metered-audit.ts';
import { WardenMetrics } from '../main/core/metrics/warden-metrics.ts';
import { interleaved, type Setup } from './lib/interleave.ts';
import { benchOptions } from './lib/options.ts';
import { formatReport, makeReport, ratioCheck, type Row } from './lib/report.ts';

/** Tools the calls go to, in turn: the label cardinality of the per-tool series. */
const TOOLS = 20;
const options = benchOptions({ calls: 5000, warmup: 200, rounds: 10 });

const startOf = (i: number): AuditCallStart => ({
  startedAt: Date.now(),
  sessionId: 'bench-session',
  clientName: 'bench-client',
  clientVersion: '1.0.0',
  server: 'everything',
  tool: `tool-${i % TOOLS}`,
  requestId: i,
  arguments: { message: `call ${i}`, pad: 'a'.repeat(200) },
  decision: 'allow',
  reason: 'user config (rule 1: allow tool-*)',
});

/** A setup making calls through `recorder(log)` on its own audit log in `dir`. */
function auditSetup(id: string, dir: string, recorder: (log: AuditLog) => CallRecorder): Setup {
  return {
    id,
    open: () => {
      const log = AuditLog.open(path.join(dir, `${id}.db`));
      const port = recorder(log);
      return Promise.resolve({
        call: async (i: number) => {
          const row = await port.recordCall(startOf(i));
          await port.recordOutcome(row, { outcome: 'ok', durationMs: 1.5 });
        },
        close: () => {
          log.close();
          return Promise.resolve();
        },
      });
    },
  };
}

/** The `gc` function, exposed for this process when node was not started with --expose-gc. */
function gcFunction(): () => void {
  v8.setFlagsFromString('--expose-gc');
  return vm.runInNewContext('gc') as () => void;
}

/** The metric calls of one tools/call, `calls` times: ns per call, bytes allocated per call. */
function metricsAlone(calls: number): { nsPerCall: number; bytesPerCall: number | null } {
  const metrics = new WardenMetrics({ defaultMetrics: false });
  const once = (i: number): void => {
    metrics.auditWrite('call', 0.2);
    metrics.callStarted(i, 'everything', `tool-${i % TOOLS}`, 'allow');
    metrics.auditWrite('outcome', 0.2);
    metrics.callEnded(i, 'ok', 1.5);
  };
  for (let i = 0; i < 1000; i++) once(i);
  const t0 = performance.now();
  for (let i = 0; i < calls; i++) once(i);
  const nsPerCall = ((performance.now() - t0) * 1e6) / calls;
  // Allocation: heap growth over a stretch short enough that no collection runs in it.
  const gc = gcFunction();
  let collections = 0;
  const observer = new PerformanceObserver((list) => (collections += list.getEntries().length));
  observer.observe({ entryTypes: ['gc'] });
  const stretch = 2000;
  gc();
  const before = process.memoryUsage().heapUsed;
  for (let i = 0; i < stretch; i++) once(calls + i);
  const grown = process.memoryUsage().heapUsed - before;
  observer.disconnect();
  // The observer reports asynchronously; a collection in the stretch also shows as a shrink.
  const bytesPerCall = collections > 0 || grown < 0 ? null : grown / stretch;
  return { nsPerCall, bytesPerCall };
}

async function main(): Promise<void> {
  const startedAt = new Date();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'warden-metrics-bench-'));
  const metrics = new WardenMetrics();
  const rows: Row[] = [];
  try {
    const results = await interleaved(
      [
        auditSetup('audit.off', dir, (log) => ({
          recordCall: (start) => log.queueCall(start),
          recordOutcome: (id, end) => log.queueOutcome(id, end),
          recordRefusal: (start, error, ms) => log.queueRefusal(start, error, ms),
        })),
        auditSetup('audit.on', dir, (log) => meteredRecorder(log, metrics)),
      ],
      { calls: options.calls, warmup: options.warmup, rounds: options.rounds },
    );
    const measures = {
      'audit.off': "a call's audit writes (INSERT, then outcome, each committed), no metrics",
      'audit.on': 'the same through meteredRecorder: calls counter, duration and audit-write histograms fed',
    };
    for (const [id, result] of results) {
      rows.push(
        'error' in result
          ? { id, measures: measures[id as keyof typeof measures], skipped: result.error }
          : { id, measures: measures[id as keyof typeof measures], latency: result.latency },
      );
    }
    await new Promise((resolve) => setImmediate(resolve));
    const alone = metricsAlone(options.calls * 10);
    rows.push({
      id: 'metrics.alone',
      measures: `the metric calls of one tools/call only (${TOOLS} tools), no I/O`,
      figures: [
        { label: 'ns per call', value: alone.nsPerCall, unit: 'count' },
        { label: 'heap per call (bytes)', value: alone.bytesPerCall, unit: 'count' },
      ],
    });
    const t0 = performance.now();
    const { text } = await metrics.render();
    rows.push({
      id: 'scrape',
      measures: 'rendering the registry (after the run, with default process metrics) in the text format',
      figures: [
        { label: 'render', value: performance.now() - t0, unit: 'ms' },
        { label: 'lines', value: text.split('\n').length, unit: 'count' },
        { label: 'bytes', value: Buffer.byteLength(text), unit: 'count' },
      ],
    });
  } finally {
    metrics.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const report = makeReport(
    'metrics',
    startedAt,
    { calls: options.calls, warmup: options.warmup, rounds: options.rounds, tools: TOOLS },
    rows,
    [
      ratioCheck(
        'audit writes p50, metrics on / off',
        rows,
        'audit.on',
        'audit.off',
        (r) => r.latency?.p50Ms,
        '<=',
        1.1,
      ),
      ratioCheck(
        'audit writes mean, metrics on / off',
        rows,
        'audit.on',
        'audit.off',
        (r) => r.latency?.meanMs,
        '<=',
        1.1,
      ),
    ],
  );
  process.stdout.write(options.json ? `${JSON.stringify(report, null, 2)}\n` : `${formatReport(report)}\n`);
}

await main();
