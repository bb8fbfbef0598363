/**
 * `node bench/audit-cost.bench.ts`: what issue 13's audit evidence costs per tools/call, all of it
 * against none of it, side by side in one run (rounds interleaved, lib/interleave.ts), each an
 * AuditLog on a real file in a temp directory. One "call" is the daemon's audit work for a
 * tools/call: its row queued and committed (before forwarding), its outcome queued and committed
 * (before delivery).
 *   - none:     no hash chain, arguments redacted by key names only, no audit destinations;
 *   - chain:    the hash chain (canonical JSON, SHA-256, the leaf in the outcome's UPDATE,
 *               checkpoints every 1000 rows, unsigned here: no keychain in a bench);
 *   - +redact:  chain plus redaction at write time (secretlint's rules, PEM keys, key names,
 *               personal data, the arguments HMAC);
 *   - +outbox:  +redact plus two audit destinations: each finished row gets two outbox records in
 *               its transaction (no sender drains them here: the insert is what a call pays).
 * Each row's p50 as a ratio to `none` and the ms it adds. Options: --calls N (2000), --warmup N
 * (100), --rounds N (5), --only a,b, --json. Machines are shared and noisy: read the ratios.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AuditLog, type AuditCallStart } from '../main/core/audit/audit-log.ts';
import { AuditRedaction } from '../main/core/audit/audit-redaction.ts';
import { interleaved, type Setup } from './lib/interleave.ts';
import { keyNamesOnly } from './lib/key-names-only.ts';
import { benchOptions } from './lib/options.ts';
import { figure, figureCheck, formatReport, makeReport, type Row } from './lib/report.ts';

const options = benchOptions({ calls: 2000, warmup: 100, rounds: 5 });
const startedAt = new Date();
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'warden-audit-cost-bench-'));
const TEXT = 'The quick brown fox jumps over the lazy dog. '.repeat(5);

type Level = 'none' | 'chain' | '+redact' | '+outbox';

function setup(id: Level): Setup {
  const chain = id !== 'none';
  const redact = id === '+redact' || id === '+outbox';
  return {
    id,
    open() {
      const key = randomBytes(32);
      const log = AuditLog.open(path.join(dir, `${id}.db`), {
        ...(chain ? {} : { hashChain: false as const }),
        redaction: new AuditRedaction(
          redact ? { hmacKey: () => Promise.resolve(key) } : { scan: keyNamesOnly },
        ),
      });
      log.outbox.setDestinations(id === '+outbox' ? ['collector', 'siem'] : []);
      if (chain) log.useCheckpointKey({ missing: 'no keychain in the bench' });
      return Promise.resolve({
        async call(i: number) {
          const start: AuditCallStart = {
            startedAt: Date.now(),
            sessionId: 'bench-session',
            clientName: 'bench',
            clientVersion: '1',
            server: 'everything',
            tool: 'echo',
            requestId: i,
            arguments: { message: `call ${i}: ${TEXT}`, options: { verbose: true } },
            decision: 'allow',
            reason: 'policy: rule 1',
            protocolVersion: '2025-11-25',
          };
          const rowId = await log.queueCall(start);
          await log.queueOutcome(rowId, { outcome: 'ok', durationMs: 1 });
        },
        close() {
          log.close();
          return Promise.resolve();
        },
      });
    },
  };
}

const LEVELS: Level[] = ['none', 'chain', '+redact', '+outbox'];
const measures: Record<Level, string> = {
  none: 'row and outcome committed: no chain, key-name redaction, no destinations (before issue 13)',
  chain: 'the same with the hash chain and checkpoints',
  '+redact': 'chain plus redaction at write time and the arguments HMAC',
  '+outbox': '+redact plus two audit destinations (two outbox records per call, in its transaction)',
};

try {
  const results = await interleaved(
    LEVELS.map(setup).filter((s) => !options.only.length || options.only.includes(s.id)),
    options,
  );
  const baseline = results.get('none');
  const base = baseline && 'latency' in baseline ? baseline.latency.p50Ms : undefined;
  const rows: Row[] = LEVELS.map((id) => {
    const result = results.get(id);
    if (!result) return { id, measures: measures[id], skipped: 'not selected' };
    if ('error' in result) return { id, measures: measures[id], skipped: result.error };
    const p50 = result.latency.p50Ms;
    return {
      id,
      measures: measures[id],
      latency: result.latency,
      figures: [
        { label: 'p50 added to none', value: base === undefined ? undefined : p50 - base, unit: 'ms' },
        { label: 'p50 vs none', value: base ? (100 * p50) / base : undefined, unit: '%' },
      ],
    };
  });
  const added = (row: Row) => figure(row, 'p50 added to none');
  const report = makeReport('audit-cost', startedAt, { ...options }, rows, [
    figureCheck('p50 per call added by chain, redaction and outbox', rows, '+outbox', added, 'ms', '<=', 1),
  ]);
  process.stdout.write(options.json ? `${JSON.stringify(report, null, 2)}\n` : `${formatReport(report)}\n`);
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
