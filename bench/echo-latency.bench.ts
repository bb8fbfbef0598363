/**
 * `npm run bench`: what Warden costs on the data path, measured against its baselines and peers
 * side by side in one run, printed as one table of rows and the must-show ratios under it
 * (issue 12). Absolute times are context only: the machines are shared and noisy, the ratios of
 * rows measured minutes apart much less so.
 *
 * Groups (each row says what it measures; `--only` takes row ids or group names):
 *   memory  the daemon's idle RSS after start and one closed session;
 *   cold    spawn -> first tools/list: `mcp-warden connect everything` (daemon running, after one
 *           session) vs spawning server-everything, interleaved, median of --runs each;
 *   stdio   sequential tools/call echo with the SDK v1 Client over stdio: direct, through the
 *           connect shim (with the shim's RSS), through mcp-remote -> supergateway;
 *   loop    the daemon's event-loop delay during the sequential Warden rows;
 *   http    the HTTP endpoints with a raw node:http client, sequential and --clients concurrent
 *           clients: Warden vs supergateway.
 * Options: --calls N (2000) --warmup N (200) --runs N (10) --clients N (16) --only a,b --json.
 */
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { EVERYTHING_JS, NODE } from '../test/helpers/warden-env.ts';
import { benchOptions, selected } from './lib/options.ts';
import {
  MCP_REMOTE,
  SUPERGATEWAY,
  mcpRemoteCommand,
  startSupergateway,
  type Supergateway,
} from './lib/peers.ts';
import { concurrentHttp, sequentialHttp } from './lib/raw-http-rows.ts';
import {
  figure,
  figureCheck,
  formatReport,
  makeReport,
  ratioCheck,
  type Check,
  type Figure,
  type Row,
} from './lib/report.ts';
import { rssMiB } from './lib/rss.ts';
import { sequentialStdio, spawnToFirstList } from './lib/sdk-stdio.ts';
import { median } from './lib/stats.ts';
import { startWarden, type BenchWarden } from './lib/warden.ts';
import type { EventLoopFigures } from '../main/core/control/contract.ts';

const options = benchOptions({ calls: 2000, warmup: 200, runs: 10, clients: 16 });
const { calls, warmup, runs, clients } = options;
const startedAt = new Date();
const rows: Row[] = [];
const progress = (text: string) => void process.stderr.write(`${text}\n`);

const directTransport = () =>
  new StdioClientTransport({ command: NODE, args: [EVERYTHING_JS, 'stdio'], stderr: 'ignore' });

/**
 * Runs one row when `--only` selects it (or one of the rows `feeds`, which read its run); a
 * failure is reported in the row, not thrown, so the other rows still run.
 */
async function row(
  id: string,
  measures: string,
  measure: () => Promise<Omit<Row, 'id' | 'measures'>> | Omit<Row, 'id' | 'measures'>,
  feeds: string[] = [],
) {
  if (!selected(options, id) && !feeds.some((other) => selected(options, other))) return;
  progress(`${id}...`);
  try {
    rows.push({ id, measures, ...(await measure()) });
  } catch (error) {
    rows.push({ id, measures, skipped: `failed: ${(error as Error).message}` });
  }
}

function loopFigures(loop: EventLoopFigures): Figure[] {
  return [
    { label: 'p99', value: loop.p99Ms, unit: 'ms' },
    { label: 'p99.9', value: loop.p999Ms, unit: 'ms' },
    { label: 'max', value: loop.maxMs, unit: 'ms' },
    { label: 'samples', value: loop.samples, unit: 'count' },
    { label: 'loop busy', value: loop.utilization === null ? null : loop.utilization * 100, unit: '%' },
  ];
}

/** The daemon's event-loop window around a row's measured calls, kept for the loop.* row. */
function loopWindow(warden: BenchWarden, into: { figures?: EventLoopFigures }) {
  return {
    before: () => warden.measureEventLoop(),
    after: async () => void (into.figures = await warden.eventLoop()),
  };
}

async function oneShimSession(warden: BenchWarden): Promise<void> {
  await sequentialStdio(warden.shimTransport(), { calls: 1, warmup: 0 });
  await warden.idle();
}

async function main(): Promise<void> {
  progress(
    `${calls} measured calls after ${warmup} warm-up calls per row; ${runs} cold starts per side; ${clients} concurrent clients`,
  );
  const wantsWarden = ['memory', 'cold', 'stdio.shim', 'loop', 'http.warden', 'http.concurrent-warden'].some(
    (id) => selected(options, id),
  );
  const warden = wantsWarden ? await startWarden() : undefined;
  let supergateway: Supergateway | undefined;
  const gateway = async (): Promise<Supergateway> => (supergateway ??= await startSupergateway());
  try {
    if (warden) {
      await row(
        'memory.daemon-idle',
        "the daemon's RSS (VmRSS) once started and one shim session (1 call) has closed",
        async () => {
          await oneShimSession(warden);
          return { figures: [{ label: 'daemon RSS', value: rssMiB(warden.daemon.child.pid), unit: 'MiB' }] };
        },
      );

      const cold = { direct: [] as number[], shim: [] as number[], failed: '' };
      if (selected(options, 'cold')) {
        progress(`cold: ${runs} spawns each, interleaved...`);
        try {
          await oneShimSession(warden); // the daemon has run the server before (a warm upstream, once kept)
          for (let i = 0; i < runs; i++) {
            cold.direct.push(await spawnToFirstList(directTransport()));
            cold.shim.push(await spawnToFirstList(warden.shimTransport()));
            await warden.idle();
          }
        } catch (error) {
          cold.failed = `: ${(error as Error).message}`;
        }
      }
      const coldRow = (samples: number[]) => () => {
        if (samples.length < runs)
          throw new Error(`${samples.length} of ${runs} runs completed${cold.failed}`);
        return {
          figures: [
            { label: 'median', value: median(samples), unit: 'ms' as const },
            { label: 'min', value: Math.min(...samples), unit: 'ms' as const },
            { label: 'max', value: Math.max(...samples), unit: 'ms' as const },
          ],
        };
      };
      await row(
        'cold.direct',
        'spawn server-everything -> initialize -> first tools/list answered (SDK Client over stdio)',
        coldRow(cold.direct),
      );
      await row(
        'cold.shim',
        'spawn `mcp-warden connect everything` -> first tools/list answered; daemon running, after one session',
        coldRow(cold.shim),
      );
    }

    await row(
      'stdio.direct',
      'SDK Client over stdio -> server-everything it spawns (the baseline)',
      async () => ({
        latency: (await sequentialStdio(directTransport(), { calls, warmup })).latency,
      }),
    );

    const shimLoop: { figures?: EventLoopFigures } = {};
    if (warden)
      await row(
        'stdio.shim',
        'SDK Client over stdio -> `mcp-warden connect` shim -> daemon (guard, audit) -> stdio upstream: the Claude Desktop path',
        async () => {
          const run = await sequentialStdio(warden.shimTransport(), {
            calls,
            warmup,
            rssAtCalls: [1000],
            aroundMeasure: loopWindow(warden, shimLoop),
          });
          return {
            latency: run.latency,
            figures: run.rss.map((r) => ({
              label: `shim RSS@${r.atCall}`,
              value: r.mib,
              unit: 'MiB' as const,
            })),
          };
        },
        ['loop.stdio-shim'],
      );
    if (shimLoop.figures) {
      const loop = shimLoop.figures;
      await row(
        'loop.stdio-shim',
        "the daemon's event-loop delay (1 ms samples) during stdio.shim's measured calls",
        () => ({ figures: loopFigures(loop) }),
      );
    }

    await row(
      'stdio.mcp-remote',
      'SDK Client over stdio -> mcp-remote (--transport http-only) -> supergateway --stateful -> stdio server: the peers’ chain',
      async () => {
        if ('missing' in MCP_REMOTE) return { skipped: MCP_REMOTE.missing };
        if ('missing' in SUPERGATEWAY) return { skipped: SUPERGATEWAY.missing };
        const remote = mcpRemoteCommand((await gateway()).url);
        try {
          const run = await sequentialStdio(
            new StdioClientTransport({
              command: remote.command,
              args: remote.args,
              env: remote.env,
              stderr: 'ignore',
            }),
            { calls, warmup },
          );
          return { latency: run.latency };
        } finally {
          remote.cleanup();
        }
      },
    );

    const httpMeasures = (who: string) =>
      `raw node:http client (keep-alive, hand-written JSON-RPC POSTs, session id) -> ${who} -> stdio server, sequential`;
    await row('http.supergateway', httpMeasures('supergateway --stateful'), async () => {
      if ('missing' in SUPERGATEWAY) return { skipped: SUPERGATEWAY.missing };
      return { latency: await sequentialHttp({ url: (await gateway()).url }, { calls, warmup }) };
    });
    const httpLoop: { figures?: EventLoopFigures } = {};
    if (warden)
      await row(
        'http.warden',
        httpMeasures("Warden's endpoint (guard, audit)"),
        async () => ({
          latency: await sequentialHttp(warden.endpoint, {
            calls,
            warmup,
            aroundMeasure: loopWindow(warden, httpLoop),
          }),
        }),
        ['loop.http-warden'],
      );
    if (httpLoop.figures) {
      const loop = httpLoop.figures;
      await row(
        'loop.http-warden',
        "the daemon's event-loop delay (1 ms samples) during http.warden's measured calls",
        () => ({ figures: loopFigures(loop) }),
      );
    }

    const concurrent = {
      clients,
      callsEach: Math.ceil(calls / clients),
      warmupEach: Math.max(5, Math.ceil(warmup / clients)),
    };
    const concurrentMeasures = (who: string) =>
      `${clients} raw node:http clients at once, each its own connection and session, sequential calls each -> ${who}: throughput`;
    await row('http.concurrent-supergateway', concurrentMeasures('supergateway --stateful'), async () => {
      if ('missing' in SUPERGATEWAY) return { skipped: SUPERGATEWAY.missing };
      const gw = await gateway();
      const result = await concurrentHttp({ url: gw.url }, concurrent);
      return {
        latency: result,
        figures: [{ label: 'supergateway RSS', value: rssMiB(gw.pid), unit: 'MiB' }],
      };
    });
    if (warden)
      await row('http.concurrent-warden', concurrentMeasures("Warden's endpoint"), async () => {
        const result = await concurrentHttp(warden.endpoint, concurrent);
        return {
          latency: result,
          figures: [{ label: 'daemon RSS', value: rssMiB(warden.daemon.child.pid), unit: 'MiB' }],
        };
      });
  } finally {
    await supergateway?.stop();
    await warden?.stop();
  }

  const p50 = (r: Row) => r.latency?.p50Ms;
  const p99 = (r: Row) => r.latency?.p99Ms;
  const perSecond = (r: Row) => r.latency?.callsPerSecond;
  const checks: Check[] = [
    ratioCheck(
      'Claude Desktop path: shim p50 / direct p50',
      rows,
      'stdio.shim',
      'stdio.direct',
      p50,
      '<=',
      2,
    ),
    ratioCheck(
      'Claude Desktop path: shim p99 / direct p99',
      rows,
      'stdio.shim',
      'stdio.direct',
      p99,
      '<=',
      3,
    ),
    ratioCheck('mcp-remote chain p50 / shim p50', rows, 'stdio.mcp-remote', 'stdio.shim', p50, '>=', 8),
    ratioCheck(
      'raw HTTP: Warden p50 / supergateway p50',
      rows,
      'http.warden',
      'http.supergateway',
      p50,
      '<=',
      1 / 3,
    ),
    ratioCheck(
      `${clients} clients: Warden calls/s / supergateway calls/s`,
      rows,
      'http.concurrent-warden',
      'http.concurrent-supergateway',
      perSecond,
      '>=',
      3,
    ),
    ratioCheck(
      'cold start: shim median / direct median',
      rows,
      'cold.shim',
      'cold.direct',
      (r) => figure(r, 'median'),
      '<=',
      0.5,
    ),
    figureCheck(
      'daemon idle RSS',
      rows,
      'memory.daemon-idle',
      (r) => figure(r, 'daemon RSS'),
      'MiB',
      '<=',
      70,
    ),
    figureCheck(
      'shim RSS at the end of stdio.shim',
      rows,
      'stdio.shim',
      (r) => r.figures?.at(-1)?.value,
      'MiB',
      '<=',
      60,
    ),
    figureCheck(
      'daemon loop p99.9, stdio.shim',
      rows,
      'loop.stdio-shim',
      (r) => figure(r, 'p99.9'),
      'ms',
      '<=',
      2,
    ),
    figureCheck(
      'daemon loop p99.9, http.warden',
      rows,
      'loop.http-warden',
      (r) => figure(r, 'p99.9'),
      'ms',
      '<=',
      2,
    ),
  ];
  const report = makeReport(
    'echo-latency',
    startedAt,
    { calls, warmup, runs, clients, only: options.only },
    rows,
    checks,
  );
  process.stdout.write(options.json ? `${JSON.stringify(report, null, 2)}\n` : `${formatReport(report)}\n`);
}

await main();
