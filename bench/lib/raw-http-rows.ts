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

/**
 * Throughput of `clients` concurrent raw clients, each with its own connection and session,
 * each making sequential calls: all open their sessions and warm up (`warmupEach` calls) first,
 * then all start together and make `callsEach` calls each; calls/s is over the wall time from
 * that start to the last answer, the latency over every call of every client.
 * @throws Error when a session cannot open or a call fails.
 */
export async function concurrentHttp(
  target: HttpTarget,
  options: { clients: number; callsEach: number; warmupEach: number },
): Promise<Latency> {
  const clients = Array.from(
    { length: options.clients },
    () => new RawMcpHttpClient(target.url, target.headers),
  );
  try {
    await Promise.all(clients.map((c) => c.open()));
    await Promise.all(
      clients.map(async (c) => {
        for (let i = 0; i < options.warmupEach; i++) await c.request('tools/call', echoCall(i));
      }),
    );
    const samples: number[] = [];
    const start = performance.now();
    await Promise.all(
      clients.map(async (c) => {
        for (let i = 0; i < options.callsEach; i++) {
          const t0 = performance.now();
          await c.request('tools/call', echoCall(i));
          samples.push(performance.now() - t0);
        }
      }),
    );
    return latency(samples, performance.now() - start);
  } finally {
    await Promise.all(clients.map((c) => c.close()));
  }
}
