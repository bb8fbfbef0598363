/**
 * `node bench/redact.bench.ts`: the per-call cost of redaction at audit write time and of
 * results masking, on and off side by side in one run (rounds interleaved, interleave.ts), on
 * a real audit file in a temp directory. One "call" is what the daemon does for a tools/call
 * besides forwarding it: the row queued and committed (queueCall), the result screened for the
 * client (ResultMasking, on rows only), the outcome queued and committed (queueOutcome).
 *   - audit.off: the audit log as before: key names only (redact.ts), no HMAC, no masking;
 *   - audit.on:  the content scanner (secretlint, PEM keys, key names, personal data) and an
 *     HMAC of the arguments; no masking;
 *   - all.on:    audit.on plus results masking of a 1 KiB tool result (with 2 injected values);
 *   - all.on-secret: all.on with a GitHub-token-shaped string in the arguments and the result
 *     (the path that finds, replaces and records).
 * Each row shows its p50 as a ratio to audit.off (in %) and the ms it adds; the target is a budget: at most
 * 1 ms added per call at p50 (a tools/call through Warden costs about a millisecond or more).
 * Options: --calls N (default 2000), --warmup N (default 100), --rounds N (default 5), --json.
 * Machines are shared and noisy: read the ratios.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { AuditLog, type AuditCallStart } from '../main/core/audit/audit-log.ts';
import { AuditRedaction } from '../main/core/audit/audit-redaction.ts';
import { ResultMasking } from '../main/core/bridge/result-masking.ts';
import { silentLogger } from '../main/core/log.ts';
import { interleaved, type Setup } from './lib/interleave.ts';
import { keyNamesOnly } from './lib/key-names-only.ts';
import { benchOptions } from './lib/options.ts';
import { figure, figureCheck, formatReport, makeReport, type Row } from './lib/report.ts';

const options = benchOptions({ calls: 2000, warmup: 100, rounds: 5 });
const startedAt = new Date();
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'warden-redact-bench-'));
const TOKEN = ['ghp', '_', 'Bn3Kd7Lq1Mw5Rx9Tz2Vc6Yh0Jf4Gs8Pa1Ue5'].join('');
const TEXT = 'The quick brown fox jumps over the lazy dog. '.repeat(23);

function setup(id: string, audit: 'off' | 'on', masking: boolean, secret: boolean): Setup {
  return {
    id,
    open() {
      const key = randomBytes(32);
      const log = AuditLog.open(path.join(dir, `${id}.db`), {
        redaction: new AuditRedaction(
          audit === 'on' ? { hmacKey: () => Promise.resolve(key) } : { scan: keyNamesOnly },
        ),
      });
      const screen = masking
        ? new ResultMasking(
            {
              decision: () => ({ action: 'mask', by: 'bench' }),
              injected: () =>
                Promise.resolve([
                  ['API_TOKEN', 'bench-injected-value-1'],
                  ['DB_PASSWORD', 'bench-injected-value-2'],
                ]),
            },
            silentLogger(),
            () => undefined,
          )
        : undefined;
      return Promise.resolve({
        async call(i: number) {
          const message = secret ? `call ${i} with ${TOKEN}` : `call ${i}: ${TEXT.slice(0, 200)}`;
          const start: AuditCallStart = {
            startedAt: Date.now(),
            sessionId: 'bench-session',
            server: 'everything',
            tool: 'echo',
            requestId: i,
            arguments: { message, options: { verbose: true, depth: 3 } },
            decision: 'allow',
            reason: 'policy: rule 1',
          };
          const rowId = await log.queueCall(start);
          const result: JSONRPCMessage = {
            jsonrpc: '2.0',
            id: i,
            result: { content: [{ type: 'text', text: `${TEXT}${secret ? TOKEN : ''}` }] },
          };
          const screened = screen ? await screen.screen(result, 'tools/call') : undefined;
          await log.queueOutcome(rowId, {
            outcome: 'ok',
            durationMs: 1,
            ...(screened?.secrets ? { resultSecrets: screened.secrets } : {}),
          });
        },
        close() {
          log.close();
          return Promise.resolve();
        },
      });
    },
  };
}

const setups = [
  setup('audit.off', 'off', false, false),
  setup('audit.on', 'on', false, false),
  setup('all.on', 'on', true, false),
  setup('all.on-secret', 'on', true, true),
];
const measures: Record<string, string> = {
  'audit.off': 'row and outcome committed, arguments redacted by key names only (as before)',
  'audit.on': 'the same with the content scanner and the arguments HMAC',
  'all.on': 'audit.on plus results masking of a 1 KiB result with 2 injected values',
  'all.on-secret': 'all.on with a GitHub token in arguments and result (found, replaced, recorded)',
};

try {
  const results = await interleaved(
    setups.filter((s) => !options.only.length || options.only.includes(s.id)),
    options,
  );
  const baseline = results.get('audit.off');
  const base = baseline && 'latency' in baseline ? baseline.latency.p50Ms : undefined;
  const rows: Row[] = setups.map((s) => {
    const result = results.get(s.id);
    if (!result) return { id: s.id, measures: measures[s.id]!, skipped: 'not selected' };
    if ('error' in result) return { id: s.id, measures: measures[s.id]!, skipped: result.error };
    const p50 = result.latency.p50Ms;
    return {
      id: s.id,
      measures: measures[s.id]!,
      latency: result.latency,
      figures: [
        { label: 'p50 added to audit.off', value: base === undefined ? undefined : p50 - base, unit: 'ms' },
        { label: 'p50 vs audit.off', value: base ? (100 * p50) / base : undefined, unit: '%' },
      ],
    };
  });
  const added = (row: Row) => figure(row, 'p50 added to audit.off');
  const report = makeReport('redact', startedAt, { ...options }, rows, [
    figureCheck('p50 per call added by redaction and masking', rows, 'all.on', added, 'ms', '<=', 1),
    figureCheck('the same with a secret found in both', rows, 'all.on-secret', added, 'ms', '<=', 1),
  ]);
  process.stdout.write(options.json ? `${JSON.stringify(report, null, 2)}\n` : `${formatReport(report)}\n`);
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
