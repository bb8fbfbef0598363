/**
 * `npm run bench`: what Warden costs on the data path, measured against its baselines and peers
 * side by side in one run, printed as one table of rows and the must-show ratios under it
 * (issue 12). Absolute times are context only: the machines are shared and noisy; the rows that
 * are compared take turns in rounds (interleave.ts), so their ratios hold when the load changes.
 *
 * Groups (each row says what it measures; `--only` takes row ids or group names):
 *   memory  the daemon's idle RSS after start and one closed session, beside a bare Node process
 *           and one that only imports the daemon's packages, run the same way;
 *   cold    spawn -> first tools/list: `mcp-warden connect everything` (daemon running, its warm
 *           upstream ready, after one session) vs spawning server-everything, interleaved,
 *           median of --runs each;
 *   stdio   sequential tools/call echo with the SDK v1 Client over stdio: direct, through two
 *           Node processes that only forward bytes (the floor of a shim-and-daemon design),
 *           through the connect shim (with the shim's RSS), through mcp-remote -> supergateway;
 *   loop    the daemon's event-loop delay during the sequential Warden rows, beside the back byte
 *           relay's during its row (the stalls the machine gives a process that does no work);
 *   http    the HTTP endpoints with a raw node:http client, sequential and --clients concurrent
 *           clients: Warden vs supergateway, beside a node:http server that only relays bodies to
 *           the stdio server (the floor of any node:http bridge), side by side in rounds.
 * Options: --calls N (2000) --warmup N (200) --rounds N (5) --runs N (10) --clients N (16)
 * --only a,b --json.
 */
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import type { EventLoopFigures } from '../main/core/control/contract.ts';
import { EVERYTHING_JS, NODE } from '../test/helpers/warden-env.ts';
import { interleaved, type Setup } from './lib/interleave.ts';
import { startByteRelays, type ByteRelays } from './lib/byte-relay.ts';
import { startHttpRelay, type HttpRelay } from './lib/http-relay.ts';
import { DAEMON_PACKAGES, nodeRss } from './lib/node-floor.ts';
import { benchOptions, selected } from './lib/options.ts';
import {
  MCP_REMOTE,
  SUPERGATEWAY,
  mcpRemoteCommand,
  startSupergateway,
  type Supergateway,
} from './lib/peers.ts';
import { concurrentHttp, httpSession, type HttpTarget } from './lib/raw-http-rows.ts';
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
import { rssMiB, rssParts } from './lib/rss.ts';
import { spawnToFirstList, stdioSession, type RssSamples } from './lib/sdk-stdio.ts';
import { median } from './lib/stats.ts';
import { startWarden, type BenchWarden } from './lib/warden.ts';

const options = benchOptions({ calls: 2000, warmup: 200, runs: 10, clients: 16, rounds: 5 });
const { calls, warmup, runs, clients, rounds } = options;
const startedAt = new Date();
const rows: Row[] = [];
const progress = (text: string) => void process.stderr.write(`${text}\n`);

const directTransport = () =>
  new StdioClientTransport({ command: NODE, args: [EVERYTHING_JS, 'stdio'], stderr: 'ignore' });

type RowBody = Omit<Row, 'id' | 'measures'>;

/** Is row `id` wanted: selected by --only itself, or one of the rows `feeds` (which read its run)? */
const wanted = (id: string, feeds: string[] = []) =>
  selected(options, id) || feeds.some((other) => selected(options, other));

/** Runs one row when wanted; a failure is reported in the row, not thrown, so the others still run. */
async function row(id: string, measures: string, measure: () => Promise<RowBody> | RowBody) {
  if (!wanted(id)) return;
  progress(`${id}...`);
  try {
    rows.push({ id, measures, ...(await measure()) });
  } catch (error) {
    rows.push({ id, measures, skipped: `failed: ${(error as Error).message}` });
  }
}

/** A sequential row of an interleaved group: its setup, and what it adds to its row. */
interface SequentialRow {
  id: string;
  measures: string;
  /** Why it cannot run here (a peer not installed), instead of a setup. */
  missing?: string;
  setup?: Omit<Setup, 'id'>;
  figures?: () => Figure[];
  /** Rows that read this row's run (its event-loop row). */
  feeds?: string[];
}

/** Runs the wanted rows of a group side by side (interleaved), one row each. */
async function sequentialGroup(group: SequentialRow[]): Promise<void> {
  const chosen = group.filter((r) => wanted(r.id, r.feeds));
  if (!chosen.length) return;
  progress(`${chosen.map((r) => r.id).join(', ')}: ${rounds} rounds...`);
  const setups = chosen.filter((r) => r.setup).map((r) => ({ id: r.id, ...r.setup! }));
  const results = await interleaved(setups, { calls, warmup, rounds });
  for (const r of chosen) {
    const result = results.get(r.id);
    const base = { id: r.id, measures: r.measures };
    if (r.missing || !result) rows.push({ ...base, skipped: r.missing ?? 'not run' });
    else if ('error' in result) rows.push({ ...base, skipped: `failed: ${result.error}` });
    else rows.push({ ...base, latency: result.latency, ...(r.figures ? { figures: r.figures() } : {}) });
  }
}

/**
 * A process's event-loop windows (the daemon's, or the back byte relay's), one per measured block
 * of a row (opened before the block, read after it), so the loop is measured while that row's
 * calls run and not the others'.
 */
function loopWindows(source: Pick<BenchWarden, 'measureEventLoop' | 'eventLoop'>) {
  const blocks: EventLoopFigures[] = [];
  return {
    blocks,
    aroundBlock: {
      before: () => source.measureEventLoop(),
      after: async () => void blocks.push(await source.eventLoop()),
    },
  };
}

/** A loop row's figures: the worst block's p99 and p99.9, the largest delay, all samples. */
function loopFigures(blocks: EventLoopFigures[]): Figure[] {
  const worst = (pick: (b: EventLoopFigures) => number | null) =>
    blocks.length ? Math.max(...blocks.map((b) => pick(b) ?? 0)) : undefined;
  const windowMs = blocks.reduce((sum, b) => sum + b.windowMs, 0);
  const busy = blocks.reduce((sum, b) => sum + (b.utilization ?? 0) * b.windowMs, 0);
  return [
    { label: 'p99', value: worst((b) => b.p99Ms), unit: 'ms' },
    { label: 'p99.9', value: worst((b) => b.p999Ms), unit: 'ms' },
    { label: 'max', value: worst((b) => b.maxMs), unit: 'ms' },
    { label: 'samples', value: blocks.reduce((sum, b) => sum + b.samples, 0), unit: 'count' },
    { label: 'loop busy', value: windowMs ? (busy / windowMs) * 100 : undefined, unit: '%' },
  ];
}

async function loopRow(
  id: string,
  source: string,
  blocks: EventLoopFigures[],
  whose = "the daemon's",
): Promise<void> {
  if (!rows.some((r) => r.id === source && !r.skipped)) return;
  await row(
    id,
    `${whose} event-loop delay (1 ms samples) during ${source}'s measured calls; worst of its ${rounds} blocks`,
    () => ({ figures: loopFigures(blocks) }),
  );
}

async function oneShimSession(warden: BenchWarden): Promise<void> {
  const session = await stdioSession(warden.shimTransport());
  await session.call(0);
  await session.close();
  await warden.idle();
}

async function memoryAndColdRows(warden: BenchWarden): Promise<void> {
  const parts = (mib: { rss: number; anon: number; file: number }) => ({
    figures: [
      { label: 'RSS', value: mib.rss, unit: 'MiB' as const },
      { label: 'private (RssAnon)', value: mib.anon, unit: 'MiB' as const },
      { label: 'mapped files (RssFile)', value: mib.file, unit: 'MiB' as const },
    ],
  });
  await row(
    'memory.node-bare',
    'a Node process that loads nothing, run as the daemon is (same executable and flags): the runtime alone',
    async () => parts(await nodeRss([])),
  );
  await row(
    'memory.node-deps',
    `the same process importing the packages an idle daemon has loaded, and nothing else (${DAEMON_PACKAGES.join(', ')})`,
    async () => parts(await nodeRss(DAEMON_PACKAGES)),
  );
  await row(
    'memory.daemon-idle',
    "the daemon's RSS (VmRSS) once started and one shim session (1 call) has closed",
    async () => {
      await oneShimSession(warden);
      const parts = rssParts(warden.daemon.child.pid);
      return {
        figures: [
          { label: 'daemon RSS', value: parts?.rss, unit: 'MiB' },
          { label: 'private (RssAnon)', value: parts?.anon, unit: 'MiB' },
          { label: 'mapped files (RssFile)', value: parts?.file, unit: 'MiB' },
        ],
      };
    },
  );
  if (!selected(options, 'cold')) return;
  const cold = { direct: [] as number[], shim: [] as number[], failed: '' };
  progress(`cold: ${runs} spawns each, interleaved...`);
  try {
    await oneShimSession(warden); // the daemon has run the server before (a warm upstream, once kept)
    for (let i = 0; i < runs; i++) {
      cold.direct.push(await spawnToFirstList(directTransport()));
      await warden.warmReady();
      cold.shim.push(await spawnToFirstList(warden.shimTransport()));
      await warden.idle();
    }
  } catch (error) {
    cold.failed = `: ${(error as Error).message}`;
  }
  const coldRow = (samples: number[]) => () => {
    if (samples.length < runs) throw new Error(`${samples.length} of ${runs} runs completed${cold.failed}`);
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
    'spawn `mcp-warden connect everything` -> first tools/list answered; daemon running, its warm upstream ready (status), after one session',
    coldRow(cold.shim),
  );
}

async function stdioRows(warden: BenchWarden | undefined, gateway: () => Promise<Supergateway>) {
  const shimRss: RssSamples = [];
  const shimLoop = warden ? loopWindows(warden) : undefined;
  const peerMissing =
    'missing' in MCP_REMOTE
      ? MCP_REMOTE.missing
      : 'missing' in SUPERGATEWAY
        ? SUPERGATEWAY.missing
        : undefined;
  let remoteCleanup: (() => void) | undefined;
  let relays: ByteRelays | undefined;
  const relayLoop = loopWindows({
    measureEventLoop: () => relays!.measureEventLoop(),
    eventLoop: () => relays!.eventLoop(),
  });
  await sequentialGroup([
    {
      id: 'stdio.direct',
      measures: 'SDK Client over stdio -> server-everything it spawns (the baseline)',
      setup: { open: () => stdioSession(directTransport()) },
    },
    {
      id: 'stdio.byte-relays',
      measures:
        'SDK Client over stdio -> a Node process piping bytes to a Unix socket -> a Node process piping them to the server it spawns: the floor of any shim-and-daemon design (no parsing, guard or audit)',
      setup: {
        async open() {
          relays ??= await startByteRelays(NODE, [EVERYTHING_JS, 'stdio']);
          return stdioSession(relays.transport());
        },
        aroundBlock: relayLoop.aroundBlock,
      },
      feeds: ['loop.byte-relays'],
    },
    {
      id: 'stdio.shim',
      measures:
        'SDK Client over stdio -> `mcp-warden connect` shim -> daemon (guard, audit) -> stdio upstream: the Claude Desktop path',
      ...(warden && shimLoop
        ? {
            setup: {
              open: () => stdioSession(warden.shimTransport(), { atCalls: [1000], into: shimRss }),
              aroundBlock: shimLoop.aroundBlock,
            },
          }
        : { missing: 'no Warden daemon' }),
      figures: () =>
        shimRss.map((r) => ({ label: `shim RSS@${r.atCall}`, value: r.mib, unit: 'MiB' as const })),
      feeds: ['loop.stdio-shim'],
    },
    {
      id: 'stdio.mcp-remote',
      measures:
        'SDK Client over stdio -> mcp-remote (--transport http-only) -> supergateway --stateful -> stdio server: the peers’ chain',
      ...(peerMissing
        ? { missing: peerMissing }
        : {
            setup: {
              async open() {
                const remote = mcpRemoteCommand((await gateway()).url);
                remoteCleanup = remote.cleanup;
                return stdioSession(
                  new StdioClientTransport({
                    command: remote.command,
                    args: remote.args,
                    env: remote.env,
                    stderr: 'ignore',
                  }),
                );
              },
            },
          }),
    },
  ]);
  remoteCleanup?.();
  await relays?.stop();
  await loopRow('loop.byte-relays', 'stdio.byte-relays', relayLoop.blocks, "the back relay's");
  if (shimLoop) await loopRow('loop.stdio-shim', 'stdio.shim', shimLoop.blocks);
}

async function httpRows(warden: BenchWarden | undefined, gateway: () => Promise<Supergateway>) {
  let relay: HttpRelay | undefined;
  const httpRelay = async () => (relay ??= await startHttpRelay(NODE, [EVERYTHING_JS, 'stdio']));
  try {
    await httpRowsWith(warden, gateway, httpRelay);
  } finally {
    await relay?.stop();
  }
}

const RELAY_MEASURES =
  "a node:http server that only writes each body to its session's server and answers with the line of the same id (the floor of a node:http bridge: no validation, guard, audit or SSE)";

async function httpRowsWith(
  warden: BenchWarden | undefined,
  gateway: () => Promise<Supergateway>,
  httpRelay: () => Promise<HttpRelay>,
) {
  const httpLoop = warden ? loopWindows(warden) : undefined;
  const sgMissing = 'missing' in SUPERGATEWAY ? { missing: SUPERGATEWAY.missing } : undefined;
  const measures = (who: string) =>
    `raw node:http client (keep-alive, hand-written JSON-RPC POSTs, session id) -> ${who} -> stdio server, sequential`;
  await sequentialGroup([
    {
      id: 'http.supergateway',
      measures: measures('supergateway --stateful'),
      ...(sgMissing ?? { setup: { open: async () => httpSession({ url: (await gateway()).url }) } }),
    },
    {
      id: 'http.relay',
      measures: measures(RELAY_MEASURES),
      setup: { open: async () => httpSession({ url: (await httpRelay()).url }) },
    },
    {
      id: 'http.warden',
      measures: measures("Warden's endpoint (guard, audit)"),
      ...(warden && httpLoop
        ? { setup: { open: () => httpSession(warden.endpoint), aroundBlock: httpLoop.aroundBlock } }
        : { missing: 'no Warden daemon' }),
      feeds: ['loop.http-warden'],
    },
  ]);
  if (httpLoop) await loopRow('loop.http-warden', 'http.warden', httpLoop.blocks);

  const concurrentMeasures = (who: string) =>
    `${clients} raw node:http clients at once, each its own connection and session, sequential calls each -> ${who}: throughput`;
  const concurrentRows = [
    {
      id: 'http.concurrent-supergateway',
      measures: concurrentMeasures('supergateway --stateful'),
      missing: sgMissing?.missing,
      target: async () => ({ url: (await gateway()).url }),
      rss: async () => ({
        label: 'supergateway RSS',
        value: rssMiB((await gateway()).pid),
        unit: 'MiB' as const,
      }),
    },
    {
      id: 'http.concurrent-relay',
      measures: concurrentMeasures(RELAY_MEASURES),
      missing: undefined,
      target: async () => ({ url: (await httpRelay()).url }),
      rss: async () => ({ label: 'relay RSS', value: rssMiB((await httpRelay()).pid), unit: 'MiB' as const }),
    },
    {
      id: 'http.concurrent-warden',
      measures: concurrentMeasures("Warden's endpoint"),
      missing: warden ? undefined : 'no Warden daemon',
      target: () => Promise.resolve(warden!.endpoint),
      rss: () =>
        Promise.resolve({
          label: 'daemon RSS',
          value: rssMiB(warden!.daemon.child.pid),
          unit: 'MiB' as const,
        }),
    },
  ].filter((r) => wanted(r.id));
  if (!concurrentRows.length) return;
  progress(`${concurrentRows.map((r) => r.id).join(', ')}: ${rounds} rounds...`);
  const targets: { id: string; target: HttpTarget }[] = [];
  for (const r of concurrentRows) {
    if (r.missing) continue;
    try {
      targets.push({ id: r.id, target: await r.target() });
    } catch (error) {
      rows.push({ id: r.id, measures: r.measures, skipped: `failed: ${(error as Error).message}` });
    }
  }
  const results = await concurrentHttp(targets, {
    clients,
    callsEach: Math.ceil(calls / clients),
    warmupEach: Math.max(5, Math.ceil(warmup / clients)),
    rounds,
  });
  for (const r of concurrentRows) {
    if (rows.some((done) => done.id === r.id)) continue;
    const result = results.get(r.id);
    const base = { id: r.id, measures: r.measures };
    if (r.missing || !result) rows.push({ ...base, skipped: r.missing ?? 'not run' });
    else if ('error' in result) rows.push({ ...base, skipped: `failed: ${result.error}` });
    else rows.push({ ...base, latency: result.latency, figures: [await r.rss()] });
  }
}

function mustShow(): Check[] {
  const p50 = (r: Row) => r.latency?.p50Ms;
  const p99 = (r: Row) => r.latency?.p99Ms;
  const perSecond = (r: Row) => r.latency?.callsPerSecond;
  return [
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
}

async function main(): Promise<void> {
  progress(
    `${calls} measured calls per row after ${warmup} warm-up calls, in ${rounds} rounds; ${runs} cold starts per side; ${clients} concurrent clients`,
  );
  const wantsWarden = ['memory', 'cold', 'stdio.shim', 'loop', 'http.warden', 'http.concurrent-warden'].some(
    (id) => selected(options, id),
  );
  const warden = wantsWarden ? await startWarden() : undefined;
  let supergateway: Supergateway | undefined;
  const gateway = async (): Promise<Supergateway> => (supergateway ??= await startSupergateway());
  try {
    if (warden) await memoryAndColdRows(warden);
    await stdioRows(warden, gateway);
    await httpRows(warden, gateway);
  } finally {
    await supergateway?.stop();
    await warden?.stop();
  }
  const report = makeReport(
    'echo-latency',
    startedAt,
    { calls, warmup, rounds, runs, clients, only: options.only },
    rows,
    mustShow(),
  );
  process.stdout.write(options.json ? `${JSON.stringify(report, null, 2)}\n` : `${formatReport(report)}\n`);
}

await main();
