import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { CallToolResultSchema } from '@modelcontextprotocol/sdk/types.js';
import type { SetupSession } from './interleave.ts';
import { rssMiB } from './rss.ts';

/** The call every latency row makes: server-everything's echo tool. */
export function echoCall(i: number): { name: string; arguments: { message: string } } {
  return { name: 'echo', arguments: { message: `m${i}` } };
}

/** RSS of a spawned process (MiB; undefined when unreadable) by call number. */
export type RssSamples = { atCall: number; mib: number | undefined }[];

/**
 * A session of the SDK v1 Client (the same client for every stdio row) over `transport`, making
 * `tools/call echo`. With `rss`, the spawned process's RSS is read after each call number of
 * `rss.atCalls` (warm-up calls counted) and once more when the session closes, into `rss.into`.
 * @throws Error when the transport cannot start or initialize fails.
 */
export async function stdioSession(
  transport: StdioClientTransport,
  rss?: { atCalls: number[]; into: RssSamples },
): Promise<SetupSession> {
  const client = new Client({ name: 'bench', version: '1' });
  await client.connect(transport);
  let made = 0;
  const read = (atCall: number) => rss?.into.push({ atCall, mib: rssMiB(transport.pid) });
  return {
    async call(i) {
      await client.request({ method: 'tools/call', params: echoCall(i) }, CallToolResultSchema);
    },
    afterCall(n) {
      made = n;
      if (rss?.atCalls.includes(n)) read(n);
    },
    async close() {
      if (rss && rss.into.at(-1)?.atCall !== made) read(made);
      await client.close();
    },
  };
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
