/**
 * `node bench/chain.bench.ts`: the per-call cost of the audit hash chain (issue 13 item 1), on
 * vs off side by side in one run, each an AuditLog on a real file in a temp directory, taking
 * turns in rounds (lib/interleave.ts) so their ratio holds on a shared machine:
 *   - seq.off / seq.on: one call at a time: its INSERT (queued, committed before it would be
 *     forwarded), then its outcome (queued; with the chain the row joins it in the same
 *     transaction: a SELECT of the row, RFC 8785 canonical JSON, SHA-256, an UPDATE);
 *   - burst.off / burst.on: `--clients` calls at once, each turn's writes in one transaction.
 * Checkpoints are signed every 1000 rows (Ed25519) in the `on` rows, as in the daemon.
 * A "call" of a burst row is the whole burst; read the ratios.
 * Options: --calls N (5000) --warmup N (500) --rounds N (5) --clients N (16) --only a,b --json.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AuditLog, type AuditCallStart } from '../main/core/audit/audit-log.ts';
import { interleaved, type Setup } from './lib/interleave.ts';
import { benchOptions, selected } from './lib/options.ts';
import { formatReport, makeReport, ratioCheck, type Row } from './lib/report.ts';

const options = benchOptions({ calls: 5000, warmup: 500, rounds: 5, clients: 16 });
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'warden-chain-bench-'));
const startedAt = new Date();
const PAD = 'a'.repeat(300);

const start = (i: number): AuditCallStart => ({
  startedAt: Date.now(),
  sessionId: 'bench-session',
  clientName: 'bench',
  clientVersion: '1.0.0',
  server: 'everything',
  tool: 'echo',
  requestId: i,
  arguments: { message: `call ${i}`, pad: PAD },
  decision: 'allow',
  reason: 'config',
});

function setup(id: string, chained: boolean, burst: number): Setup {
  return {
    id,
    open: () => {
      const log = AuditLog.open(path.join(dir, `${id}.db`), chained ? {} : { hashChain: false });
      if (chained) log.useCheckpointKey({ seed: randomBytes(32) });
      const one = async (i: number): Promise<void> => {
        const rowId = await log.queueCall(start(i));
        // The upstream's answer arrives in a later turn.
        await new Promise((resolve) => setImmediate(resolve));
        await log.queueOutcome(rowId, { outcome: 'ok', durationMs: 0.5 });
      };
      return Promise.resolve({
        call: async (i: number) => {
          if (burst === 1) await one(i);
          else await Promise.all(Array.from({ length: burst }, (_, k) => one(i * burst + k)));
        },
        close: () => {
          log.close();
          return Promise.resolve();
        },
      });
    },
  };
}

const setups = [
  setup('seq.off', false, 1),
  setup('seq.on', true, 1),
  setup(`burst.off`, false, options.clients),
  setup(`burst.on`, true, options.clients),
].filter((s) => selected(options, s.id));
const measures: Record<string, string> = {
  'seq.off': 'one call at a time: INSERT, then outcome, without the hash chain',
  'seq.on': 'the same with the hash chain (the row joins it in its outcome transaction)',
  'burst.off': `${options.clients} calls at once per "call", without the hash chain`,
  'burst.on': `${options.clients} calls at once per "call", with the hash chain`,
};
try {
  const results = await interleaved(setups, options);
  const rows: Row[] = setups.map(({ id }) => {
    const result = results.get(id)!;
    return 'error' in result
      ? { id, measures: measures[id]!, skipped: result.error }
      : { id, measures: measures[id]!, latency: result.latency };
  });
  const mean = (row: Row) => row.latency?.meanMs;
  // What the chain adds to a call, µs: the audit writes are a small share of a call's latency
  // (bench/echo-latency.bench.ts), so the bound is on the ratio of the writes alone: at most 3x.
  const added = (on: string, off: string, per: number): void => {
    const a = rows.find((r) => r.id === on)?.latency?.meanMs;
    const b = rows.find((r) => r.id === off)?.latency?.meanMs;
    const row = rows.find((r) => r.id === on);
    if (row && a !== undefined && b !== undefined) {
      row.figures = [{ label: 'added per call µs', value: ((a - b) * 1000) / per, unit: 'count' }];
    }
  };
  added('seq.on', 'seq.off', 1);
  added('burst.on', 'burst.off', options.clients);
  const checks = [
    ratioCheck('chain on / off, sequential call, mean', rows, 'seq.on', 'seq.off', mean, '<=', 3),
    ratioCheck(
      `chain on / off, burst of ${options.clients}, mean`,
      rows,
      'burst.on',
      'burst.off',
      mean,
      '<=',
      3,
    ),
  ];
  const report = makeReport('chain', startedAt, { ...options }, rows, checks);
  process.stdout.write((options.json ? JSON.stringify(report, null, 2) : formatReport(report)) + '\n');
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
