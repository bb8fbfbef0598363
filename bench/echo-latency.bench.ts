/**
 * `npm run bench`: latency and throughput of sequential `tools/call echo` against
 * server-everything, measured in one run, side by side:
 *   1. direct stdio (the baseline: the client spawns the server);
 *   2. supergateway (a peer stdio->Streamable HTTP bridge, --stateful), SDK client over HTTP;
 *   3. Warden's HTTP endpoint, SDK client over HTTP (daemon -> stdio upstream; guard and audit on);
 *   4. Warden through the connect shim, as Claude Desktop runs it (shim -> daemon -> stdio upstream).
 * Figures are printed with ratios to the direct baseline, since machines are shared and noisy.
 * Options: --calls N (default 2000), --warmup N (default 200).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { parseArgs } from 'node:util';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { CallToolResultSchema } from '@modelcontextprotocol/sdk/types.js';
import path from 'node:path';
import fs from 'node:fs';
import {
  CLI,
  EVERYTHING_JS,
  NODE,
  ROOT,
  everythingServer,
  freePort,
  makeWardenEnv,
  startDaemonProcess,
  waitFor,
} from '../test/helpers/warden-env.ts';

const { values } = parseArgs({
  options: { calls: { type: 'string', default: '2000' }, warmup: { type: 'string', default: '200' } },
});
const CALLS = Number(values.calls);
const WARMUP = Number(values.warmup);

interface Figures {
  name: string;
  p50: number;
  p99: number;
  mean: number;
  perSecond: number;
  rssMiB?: number;
}

async function measure(
  name: string,
  transport: Transport,
  rssOf?: () => number | undefined,
): Promise<Figures> {
  const client = new Client({ name: 'bench', version: '1' });
  await client.connect(transport);
  const call = (i: number) =>
    client.request(
      { method: 'tools/call', params: { name: 'echo', arguments: { message: `m${i}` } } },
      CallToolResultSchema,
    );
  for (let i = 0; i < WARMUP; i++) await call(i);
  const samples = new Float64Array(CALLS);
  const start = performance.now();
  for (let i = 0; i < CALLS; i++) {
    const t0 = performance.now();
    await call(i);
    samples[i] = performance.now() - t0;
  }
  const total = performance.now() - start;
  const rss = rssOf?.();
  await client.close();
  samples.sort();
  const at = (q: number) => samples[Math.min(CALLS - 1, Math.floor(q * CALLS))]!;
  return {
    name,
    p50: at(0.5),
    p99: at(0.99),
    mean: total / CALLS,
    perSecond: (CALLS / total) * 1000,
    ...(rss !== undefined ? { rssMiB: rss } : {}),
  };
}

function rssMiB(pid: number | undefined): number | undefined {
  if (!pid) return undefined;
  try {
    const kb = /VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kb ? Number(kb) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

async function main(): Promise<void> {
  const results: Figures[] = [];
  process.stderr.write(`${CALLS} sequential echo calls after ${WARMUP} warm-up calls, per setup\n`);

  process.stderr.write('1/4 direct stdio...\n');
  results.push(
    await measure(
      'direct stdio',
      new StdioClientTransport({ command: NODE, args: [EVERYTHING_JS, 'stdio'], stderr: 'ignore' }),
    ),
  );

  process.stderr.write('2/4 supergateway...\n');
  const sgPort = await freePort();
  const sg: ChildProcess = spawn(
    NODE,
    [
      path.join(ROOT, 'node_modules/supergateway/dist/index.js'),
      '--stdio',
      `${NODE} ${EVERYTHING_JS} stdio`,
      '--outputTransport',
      'streamableHttp',
      '--stateful',
      '--port',
      String(sgPort),
      '--logLevel',
      'none',
    ],
    { stdio: 'ignore' },
  );
  try {
    await waitFor(
      async () => {
        try {
          await fetch(`http://127.0.0.1:${sgPort}/mcp`, { method: 'GET' });
          return true;
        } catch {
          return false;
        }
      },
      20_000,
      'supergateway',
    );
    results.push(
      await measure(
        'supergateway (HTTP)',
        new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${sgPort}/mcp`)),
        () => rssMiB(sg.pid),
      ),
    );
  } finally {
    sg.kill();
  }

  const w = makeWardenEnv();
  w.env.MCP_WARDEN_LOG_LEVEL = 'warn';
  w.writeConfig({ mcpServers: { everything: everythingServer() } });
  const daemon = await startDaemonProcess(w);
  try {
    process.stderr.write('3/4 Warden HTTP endpoint...\n');
    results.push(
      await measure(
        'Warden HTTP endpoint',
        new StreamableHTTPClientTransport(new URL('/mcp/everything', daemon.url), {
          requestInit: { headers: { authorization: `Bearer ${daemon.token}` } },
        }),
        () => rssMiB(daemon.child.pid),
      ),
    );
    process.stderr.write('4/4 Warden via the connect shim...\n');
    results.push(
      await measure(
        'Warden via shim (stdio)',
        new StdioClientTransport({
          command: CLI,
          args: ['connect', 'everything'],
          env: w.env as Record<string, string>,
          stderr: 'ignore',
        }),
        () => rssMiB(daemon.child.pid),
      ),
    );
  } finally {
    await daemon.stop();
    w.cleanup();
  }

  const base = results[0]!;
  const fmt = (n: number, d = 3) => n.toFixed(d);
  const rows = [
    ['setup', 'p50 ms', 'p99 ms', 'mean ms', 'calls/s', 'p50 vs direct', 'p50 +ms', 'bridge RSS MiB'],
    ...results.map((r) => [
      r.name,
      fmt(r.p50),
      fmt(r.p99),
      fmt(r.mean),
      fmt(r.perSecond, 0),
      `${fmt(r.p50 / base.p50, 2)}x`,
      fmt(r.p50 - base.p50),
      r.rssMiB === undefined ? '-' : fmt(r.rssMiB, 1),
    ]),
  ];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  for (const row of rows)
    process.stdout.write(
      row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ') + '\n',
    );
  process.stdout.write(
    `(${CALLS} calls each, Node ${process.versions.node}; guard and audit on for Warden; audit file in a temp dir)\n`,
  );
}

await main();
