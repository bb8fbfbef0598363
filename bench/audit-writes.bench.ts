/**
 * `node bench/audit-writes.bench.ts`: the audit log's writes per tools/call, the design before
 * and after issue 12 side by side in one run, each on a real file in a temp directory:
 *   - before: schema 2 (AUTOINCREMENT), SQLite's inline auto-checkpoint (every 1000 pages), an
 *     INSERT and an outcome UPDATE per call, each its own transaction on the event loop;
 *   - after: AuditLog as the daemon uses it now: schema 3 (no AUTOINCREMENT), the INSERT and
 *     the outcome each queued and committed with the other writes of its event-loop turn (the
 *     call waits for that commit: forwarded after its INSERT, answered after its outcome),
 *     checkpoints in a worker thread.
 * Two workloads each: sequential calls (one in flight), and `--concurrency` calls in flight.
 * Between a call's INSERT and its outcome, a round trip over a local socket to an echo server
 * in this process stands for the upstream (so the outcome is queued in an I/O callback, as in
 * the daemon). The designs alternate for `--rounds` rounds; each figure is the median of its
 * rounds.
 * Per call: the time from the start of its INSERT to its outcome committed (what the audit adds
 * to the call's latency), p50/p99/max; the event-loop delay (perf_hooks.monitorEventLoopDelay)
 * p99.9/max while it runs; CPU per call of the event loop's thread and of the process (the
 * socket round trip included, the same in both); calls/s. Machines are shared and noisy: read
 * the ratios.
 * Options: --calls N (default 20000), --concurrency N (default 16), --arguments BYTES (default
 * 300), --rounds N (default 3), --dir DIR (where the temp directories go; default the OS's).
 */
import Database from 'better-sqlite3';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { AuditLog, type AuditCallStart } from '../main/core/audit/audit-log.ts';
import { applyMigrations, MIGRATIONS } from '../main/core/audit/migrations.ts';
import { redactSecrets } from '../main/core/audit/redact.ts';

const { values } = parseArgs({
  options: {
    calls: { type: 'string', default: '20000' },
    concurrency: { type: 'string', default: '16' },
    arguments: { type: 'string', default: '300' },
    rounds: { type: 'string', default: '3' },
    dir: { type: 'string', default: os.tmpdir() },
  },
});
const ROUNDS = Number(values.rounds);
const CALLS = Number(values.calls);
const CONCURRENCY = Number(values.concurrency);
const PAD = 'a'.repeat(Number(values.arguments));

/** How one design records a call: the INSERT and the outcome (each committed when it returns or resolves). */
interface Writer {
  recordCall(start: AuditCallStart): number | Promise<number>;
  recordOutcome(id: number): void | Promise<void>;
  close(): void;
}

interface Figures {
  p50: number;
  p99: number;
  max: number;
  loopP999: number;
  loopMax: number;
  callsPerSecond: number;
  /** CPU of the event loop's thread per call, µs (process.threadCpuUsage: user + system). */
  loopCpuUs: number;
  /** CPU of the whole process per call (the checkpoint worker included), µs. */
  processCpuUs: number;
  /**
   * The most CPU the event loop's thread spent in one call's audit writes, ms: an inline
   * checkpoint shows here even on a loaded machine, where wall times mostly show preemption.
   */
  maxWriteCpu: number;
}

/**
 * The writer as it was before (AuditLog at a5dc4ff): the same statements and parameters (the
 * arguments redacted), each auto-committed, with SQLite's inline checkpoints.
 */
function beforeWriter(file: string): Writer {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  applyMigrations(db, MIGRATIONS.slice(0, 2));
  const insert = db.prepare(`
    INSERT INTO tool_calls (ts, ts_ms, session_id, client_name, client_version, server, tool, request_id,
      arguments, decision, reason, outcome, error, duration_ms, policy_version)
    VALUES (@ts, @tsMs, @sessionId, @clientName, @clientVersion, @server, @tool, @requestId, @arguments,
      @decision, @reason, @outcome, @error, @durationMs, @policyVersion)`);
  const update = db.prepare(
    'UPDATE tool_calls SET outcome = @outcome, error = @error, duration_ms = @durationMs WHERE id = @id',
  );
  return {
    recordCall: (start) =>
      Number(
        insert.run({
          ts: new Date(start.startedAt).toISOString(),
          tsMs: Math.trunc(start.startedAt),
          sessionId: start.sessionId,
          clientName: start.clientName ?? null,
          clientVersion: start.clientVersion ?? null,
          server: start.server,
          tool: start.tool,
          requestId: start.requestId === undefined ? null : String(start.requestId),
          arguments: JSON.stringify(redactSecrets(start.arguments)),
          decision: start.decision,
          reason: start.reason ?? null,
          outcome: null,
          error: null,
          durationMs: null,
          policyVersion: start.policyVersion ?? null,
        }).lastInsertRowid,
      ),
    recordOutcome: (id) => {
      if (update.run({ id, outcome: 'ok', error: null, durationMs: 0.2 }).changes === 0)
        throw new Error(`no call #${id}`);
    },
    close: () => db.close(),
  };
}

function afterWriter(file: string): Writer {
  const log = AuditLog.open(file);
  return {
    recordCall: (start) => log.queueCall(start),
    recordOutcome: (id) => log.queueOutcome(id, { outcome: 'ok', durationMs: 0.2 }),
    close: () => log.close(),
  };
}

/** The upstream stand-in: one byte to an echo server over a Unix socket and back. */
async function echoLink(dir: string): Promise<{ roundTrip: () => Promise<void>; close: () => void }> {
  const socketPath = path.join(dir, 'echo.sock');
  const server = net.createServer((socket) => socket.pipe(socket));
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));
  const socket = net.connect(socketPath);
  await new Promise<void>((resolve) => socket.once('connect', resolve));
  socket.setNoDelay(true);
  const waiting: (() => void)[] = [];
  socket.on('data', (chunk: Buffer) => {
    for (let i = 0; i < chunk.length; i++) waiting.shift()?.();
  });
  return {
    roundTrip: () =>
      new Promise<void>((resolve) => {
        waiting.push(resolve);
        socket.write('x');
      }),
    close: () => {
      socket.destroy();
      server.close();
    },
  };
}

/** Runs `calls` calls, `inFlight` at a time, and measures them. */
async function run(
  writer: Writer,
  roundTrip: () => Promise<void>,
  calls: number,
  inFlight: number,
): Promise<Figures> {
  const times: number[] = [];
  let maxWriteCpu = 0;
  const cpuNow = (): number => {
    const { user, system } = process.threadCpuUsage();
    return (user + system) / 1000;
  };
  let next = 0;
  const one = async (): Promise<void> => {
    while (next < calls) {
      const i = next++;
      const started = performance.now();
      const cpu0 = cpuNow();
      const id = await writer.recordCall({
        startedAt: Date.now(),
        sessionId: `session-${i % inFlight}`,
        server: 'everything',
        tool: 'echo',
        requestId: i,
        arguments: { message: `call ${i}`, pad: PAD },
        decision: 'allow',
        reason: 'policy: rule 1',
      });
      const inserted = performance.now();
      const cpu1 = cpuNow();
      await roundTrip();
      const answered = performance.now();
      const cpu2 = cpuNow();
      await writer.recordOutcome(id);
      times.push(inserted - started + (performance.now() - answered));
      maxWriteCpu = Math.max(maxWriteCpu, cpu1 - cpu0, cpuNow() - cpu2);
    }
  };
  const loop = monitorEventLoopDelay({ resolution: 1 });
  loop.enable();
  const t0 = performance.now();
  const thread0 = process.threadCpuUsage();
  const process0 = process.cpuUsage();
  await Promise.all(Array.from({ length: inFlight }, one));
  const elapsed = performance.now() - t0;
  const thread = process.threadCpuUsage(thread0);
  const all = process.cpuUsage(process0);
  loop.disable();
  times.sort((a, b) => a - b);
  const at = (q: number): number => times[Math.min(times.length - 1, Math.floor(q * times.length))] ?? NaN;
  return {
    p50: at(0.5),
    p99: at(0.99),
    max: times.at(-1) ?? NaN,
    loopP999: loop.percentile(99.9) / 1e6,
    loopMax: loop.max / 1e6,
    callsPerSecond: (calls / elapsed) * 1000,
    loopCpuUs: (thread.user + thread.system) / calls,
    processCpuUs: (all.user + all.system) / calls,
    maxWriteCpu,
  };
}

async function measure(make: (file: string) => Writer, inFlight: number): Promise<Figures> {
  const dir = fs.mkdtempSync(path.join(values.dir, 'warden-audit-bench-'));
  const writer = make(path.join(dir, 'audit.db'));
  const link = await echoLink(dir);
  try {
    await run(writer, link.roundTrip, Math.min(2000, CALLS), inFlight); // warm-up
    return await run(writer, link.roundTrip, CALLS, inFlight);
  } finally {
    link.close();
    writer.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Each figure's median over the rounds. */
function median(runs: Figures[]): Figures {
  const pick = (key: keyof Figures): number => {
    const sorted = runs.map((r) => r[key]).sort((a, b) => a - b);
    return sorted[Math.floor(sorted.length / 2)] ?? NaN;
  };
  return {
    p50: pick('p50'),
    p99: pick('p99'),
    max: pick('max'),
    loopP999: pick('loopP999'),
    loopMax: pick('loopMax'),
    callsPerSecond: pick('callsPerSecond'),
    loopCpuUs: pick('loopCpuUs'),
    processCpuUs: pick('processCpuUs'),
    maxWriteCpu: pick('maxWriteCpu'),
  };
}

const ms = (v: number): string => v.toFixed(3).padStart(9);
const ratio = (before: number, after: number): string => `${(before / after).toFixed(2)}x`.padStart(8);

const rows: [string, Figures, Figures][] = [];
for (const [label, inFlight] of [
  ['sequential', 1],
  [`${CONCURRENCY} in flight`, CONCURRENCY],
] as const) {
  const before: Figures[] = [];
  const after: Figures[] = [];
  for (let round = 1; round <= ROUNDS; round++) {
    before.push(await measure(beforeWriter, inFlight));
    after.push(await measure(afterWriter, inFlight));
    process.stderr.write(`  ${label}: round ${round} of ${ROUNDS} done\n`);
  }
  rows.push([label, median(before), median(after)]);
}

console.log(
  `audit writes: ${CALLS} calls, ${PAD.length}-byte arguments, median of ${ROUNDS} rounds (ms; ratio = before / after)`,
);
for (const [label, before, after] of rows) {
  console.log(`\n${label}          before     after    ratio`);
  const line = (what: string, key: keyof Figures): void =>
    console.log(`  ${what.padEnd(14)}${ms(before[key])} ${ms(after[key])} ${ratio(before[key], after[key])}`);
  line('per call p50', 'p50');
  line('per call p99', 'p99');
  line('per call max', 'max');
  line('loop p99.9', 'loopP999');
  line('loop max', 'loopMax');
  line('loop CPU µs', 'loopCpuUs');
  line('process CPU µs', 'processCpuUs');
  line('write CPU max', 'maxWriteCpu');
  console.log(
    `  ${'calls/s'.padEnd(14)}${before.callsPerSecond.toFixed(0).padStart(9)} ${after.callsPerSecond
      .toFixed(0)
      .padStart(9)} ${ratio(after.callsPerSecond, before.callsPerSecond)} (after / before)`,
  );
}
