import type { SetupSession } from './interleave.ts';
import { RawMcpHttpClient } from './raw-http-client.ts';
import { echoCall } from './sdk-stdio.ts';
import { latency, type Latency } from './stats.ts';

/** Where a raw HTTP row sends its calls. */
export interface HttpTarget {
  url: string;
  headers?: Record<string, string>;
}

/**
 * A session of the raw node:http client (one keep-alive connection, one MCP session) making
 * `tools/call echo`.
 * @throws Error when the session cannot open.
 */
export async function httpSession(target: HttpTarget): Promise<SetupSession> {
  const client = new RawMcpHttpClient(target.url, target.headers);
  await client.open();
  return {
    async call(i) {
      await client.request('tools/call', echoCall(i));
    },
    close: () => client.close(),
  };
}

/** What one target of a concurrent comparison measured, or why it could not. */
export type ConcurrentResult = { latency: Latency } | { error: string };

/**
 * Throughput of `clients` concurrent raw clients per target, each client with its own connection
 * and session making sequential calls, the targets side by side: every target's clients open
 * their sessions and warm up (`warmupEach` calls each) first; then in each of `rounds` rounds the
 * targets take turns, all clients of the one whose turn it is starting together and making their
 * share of `callsEach` calls. calls/s is over the wall time of a target's turns (each from its
 * start to its last answer), the latency over every call of every client. A target that fails
 * drops out with its error; the others go on.
 */
export async function concurrentHttp(
  targets: { id: string; target: HttpTarget }[],
  options: { clients: number; callsEach: number; warmupEach: number; rounds: number },
): Promise<Map<string, ConcurrentResult>> {
  const results = new Map<string, ConcurrentResult>();
  const live: { id: string; clients: RawMcpHttpClient[]; samples: number[]; wall: number; made: number }[] =
    [];
  try {
    for (const { id, target } of targets) {
      const clients = Array.from(
        { length: options.clients },
        () => new RawMcpHttpClient(target.url, target.headers),
      );
      const entry = { id, clients, samples: [] as number[], wall: 0, made: 0 };
      live.push(entry);
      try {
        await Promise.all(clients.map((c) => c.open()));
        await Promise.all(
          clients.map(async (c) => {
            for (let i = 0; i < options.warmupEach; i++) await c.request('tools/call', echoCall(i));
          }),
        );
      } catch (error) {
        results.set(id, { error: (error as Error).message });
      }
    }
    const rounds = Math.max(1, Math.min(options.rounds, options.callsEach));
    for (let round = 0; round < rounds; round++) {
      const share = Math.floor(options.callsEach / rounds) + (round < options.callsEach % rounds ? 1 : 0);
      for (const entry of live) {
        if (results.has(entry.id)) continue;
        try {
          const start = performance.now();
          await Promise.all(
            entry.clients.map(async (c) => {
              for (let i = 0; i < share; i++) {
                const t0 = performance.now();
                await c.request('tools/call', echoCall(entry.made + i));
                entry.samples.push(performance.now() - t0);
              }
            }),
          );
          entry.wall += performance.now() - start;
          entry.made += share;
        } catch (error) {
          results.set(entry.id, { error: (error as Error).message });
        }
      }
    }
  } finally {
    await Promise.all(live.flatMap((entry) => entry.clients.map((c) => c.close())));
  }
  for (const entry of live)
    if (!results.has(entry.id)) results.set(entry.id, { latency: latency(entry.samples, entry.wall) });
  return results;
}
