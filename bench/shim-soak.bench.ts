/**
 * `npm run bench:soak`: the connect shim's memory over a long session (issue 12, "Memory"):
 * 100 000 sequential `tools/call echo` through `mcp-warden connect everything` (SDK v1 Client over
 * stdio -> shim -> daemon -> server-everything), the shim's RSS (VmRSS) read every 1 000 calls.
 * Prints the first, last and largest sample and the drift from call 1 000 to the last call, and
 * checks them: RSS <= 60 MiB, flat within +-10 %.
 * Options: --calls N (100000), --json (the report and every sample on stdout).
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { CallToolResultSchema } from '@modelcontextprotocol/sdk/types.js';
import { benchOptions } from './lib/options.ts';
import { figureCheck, formatReport, makeReport, type Check, type Row } from './lib/report.ts';
import { cpuMs, rssParts } from './lib/rss.ts';
import { echoCall } from './lib/sdk-stdio.ts';
import { latency } from './lib/stats.ts';
import { startWarden } from './lib/warden.ts';

/** Calls between two RSS samples. */
const EVERY = 1000;

const options = benchOptions({ calls: 100_000, warmup: 0 });
const startedAt = new Date();
const progress = (text: string) => void process.stderr.write(`${text}\n`);

async function soak(): Promise<{
  row: Row;
  samples: { call: number; mib: number | undefined; anon: number | undefined }[];
}> {
  const warden = await startWarden();
  try {
    const transport = warden.shimTransport();
    const client = new Client({ name: 'bench-soak', version: '1' });
    await client.connect(transport);
    const samples: { call: number; mib: number | undefined; anon: number | undefined }[] = [];
    const times = new Float64Array(options.calls);
    let cpuAt1000: number | undefined;
    let cpuAtEnd: number | undefined;
    const start = performance.now();
    try {
      for (let i = 0; i < options.calls; i++) {
        const t0 = performance.now();
        await client.request({ method: 'tools/call', params: echoCall(i) }, CallToolResultSchema);
        times[i] = performance.now() - t0;
        const call = i + 1;
        if (call === EVERY) cpuAt1000 = cpuMs(transport.pid);
        if (call % EVERY === 0 || call === options.calls) {
          const parts = rssParts(transport.pid);
          samples.push({ call, mib: parts?.rss, anon: parts?.anon });
          if (call % (EVERY * 10) === 0)
            progress(`${call} calls, shim RSS ${samples.at(-1)?.mib?.toFixed(1)} MiB`);
        }
      }
      cpuAtEnd = cpuMs(transport.pid);
    } finally {
      await client.close();
    }
    const cpuPerCall =
      cpuAt1000 !== undefined && cpuAtEnd !== undefined && options.calls > EVERY
        ? ((cpuAtEnd - cpuAt1000) * 1000) / (options.calls - EVERY)
        : undefined;
    const wall = performance.now() - start;
    const known = samples.filter(
      (s): s is { call: number; mib: number; anon: number | undefined } => s.mib !== undefined,
    );
    const at1000 = known.find((s) => s.call === EVERY);
    const last = known.at(-1);
    const drift =
      at1000 && last && last.call > EVERY ? ((last.mib - at1000.mib) / at1000.mib) * 100 : undefined;
    return {
      samples,
      row: {
        id: 'soak.shim',
        measures: `${options.calls} sequential echo calls through the connect shim; the shim's RSS every ${EVERY} calls`,
        latency: latency(times, wall),
        figures: [
          { label: `RSS@${known[0]?.call ?? '-'}`, value: known[0]?.mib, unit: 'MiB' },
          { label: `RSS@${last?.call ?? '-'}`, value: last?.mib, unit: 'MiB' },
          {
            label: 'RSS max',
            value: known.length ? Math.max(...known.map((s) => s.mib)) : undefined,
            unit: 'MiB',
          },
          { label: `drift from call ${EVERY}`, value: drift, unit: '%' },
          { label: `private (RssAnon)@${at1000?.call ?? '-'}`, value: at1000?.anon, unit: 'MiB' },
          { label: `private (RssAnon)@${last?.call ?? '-'}`, value: last?.anon, unit: 'MiB' },
          { label: `shim CPU per call after call ${EVERY}`, value: cpuPerCall, unit: 'us' },
        ],
      },
    };
  } finally {
    await warden.stop();
  }
}

async function main(): Promise<void> {
  progress(`${options.calls} calls through the shim, RSS sampled every ${EVERY}...`);
  const { row, samples } = await soak();
  const at = (label: string) => (r: Row) => r.figures?.find((f) => f.label.startsWith(label))?.value;
  const checks: Check[] = [
    figureCheck('shim RSS, largest sample', [row], 'soak.shim', at('RSS max'), 'MiB', '<=', 60),
    figureCheck(
      `shim RSS drift from call ${EVERY}, |%|`,
      [row],
      'soak.shim',
      (r) => {
        const drift = at('drift')(r);
        return drift === undefined || drift === null ? undefined : Math.abs(drift);
      },
      '%',
      '<=',
      10,
    ),
  ];
  const report = makeReport('shim-soak', startedAt, { calls: options.calls, every: EVERY }, [row], checks);
  const text = options.json ? JSON.stringify({ ...report, samples }, null, 2) : formatReport(report);
  process.stdout.write(`${text}\n`);
}

await main();
