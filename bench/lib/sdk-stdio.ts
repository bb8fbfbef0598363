import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { CallToolResultSchema } from '@modelcontextprotocol/sdk/types.js';
import { rssMiB } from './rss.ts';
import { latency, type Latency } from './stats.ts';

/** The call every latency row makes: server-everything's echo tool. */
export function echoCall(i: number): { name: string; arguments: { message: string } } {
  return { name: 'echo', arguments: { message: `m${i}` } };
}

/** What a sequential stdio run measured. */
export interface StdioRun {
  latency: Latency;
  /** RSS of the spawned process (the bridge, for the shim and mcp-remote rows), MiB, by call number. */
  rss: { atCall: number; mib: number | undefined }[];
}

/**
 * Sequential `tools/call echo` over `transport` with the SDK v1 Client (the same client for
 * every stdio row): `warmup` calls, then `calls` measured ones, one at a time. The spawned
 * process's RSS is read at each call number of `rssAtCalls` (counting warm-up calls) and at the
 * end, between calls (calls/s is over the time spent in the measured calls). `aroundMeasure` runs
 * just before and after the measured calls (the daemon's event-loop window).
 * @throws Error when a call fails (the row is then reported as failed).
 */
export async function sequentialStdio(
  transport: StdioClientTransport,
  options: {
    calls: number;
    warmup: number;
    rssAtCalls?: number[];
    aroundMeasure?: { before(): Promise<void>; after(): Promise<void> };
  },
): Promise<StdioRun> {
  const client = new Client({ name: 'bench', version: '1' });
  await client.connect(transport);
  const rss: StdioRun['rss'] = [];
  const want = new Set(options.rssAtCalls ?? []);
  let made = 0;
  const call = async (i: number): Promise<void> => {
    await client.request({ method: 'tools/call', params: echoCall(i) }, CallToolResultSchema);
    made++;
  };
  // Read between calls, outside the timed call.
  const sampleRss = () => void (want.has(made) && rss.push({ atCall: made, mib: rssMiB(transport.pid) }));
  try {
    for (let i = 0; i < options.warmup; i++) {
      await call(i);
      sampleRss();
    }
    await options.aroundMeasure?.before();
    const samples = new Float64Array(options.calls);
    let wall = 0;
    for (let i = 0; i < options.calls; i++) {
      const t0 = performance.now();
      await call(i);
      samples[i] = performance.now() - t0;
      wall += samples[i]!;
      sampleRss();
    }
    await options.aroundMeasure?.after();
    if (!want.has(made)) rss.push({ atCall: made, mib: rssMiB(transport.pid) });
    return { latency: latency(samples, wall), rss };
  } finally {
    await client.close();
  }
}

/**
 * Spawn to the first `tools/list` answered: connects the SDK Client over `transport` (which
 * spawns the process and runs initialize), lists the tools, closes; answers the ms from before
 * the spawn to the list.
 * @throws Error when initialize or tools/list fails, or the list is empty.
 */
export async function spawnToFirstList(transport: StdioClientTransport): Promise<number> {
  const client = new Client({ name: 'bench-cold', version: '1' });
  const t0 = performance.now();
  try {
    await client.connect(transport);
    const { tools } = await client.listTools();
    const ms = performance.now() - t0;
    if (!tools.length) throw new Error('tools/list answered no tools');
    return ms;
  } finally {
    await client.close();
  }
}
