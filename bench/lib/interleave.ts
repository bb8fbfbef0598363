import { latency, type Latency } from './stats.ts';

/** An open session of a setup: one call at a time. */
export interface SetupSession {
  call(i: number): Promise<void>;
  /** Runs after each call, outside its timing, with the calls made so far (warm-up included). */
  afterCall?(made: number): void;
  close(): Promise<void>;
}

/** One setup of an interleaved comparison: a row's way to open its session. */
export interface Setup {
  id: string;
  open(): Promise<SetupSession>;
  /** Runs just before and after each of the setup's measured blocks (the daemon's loop window). */
  aroundBlock?: { before(): Promise<void>; after(): Promise<void> };
}

/** What one setup measured, or why it could not. */
export type SetupResult = { latency: Latency } | { error: string };

/**
 * Sequential calls for several setups side by side: each opens its session and makes `warmup`
 * calls, then `rounds` rounds follow, in each of which every setup in turn makes its block of the
 * `calls` measured calls (so a machine that gets busier or quieter slows every setup alike, and
 * their ratios hold). Latency is over all of a setup's measured calls; calls/s over the time spent
 * in them. A setup that fails to open or fails a call drops out with its error; the others go on.
 */
export async function interleaved(
  setups: Setup[],
  options: { calls: number; warmup: number; rounds: number },
): Promise<Map<string, SetupResult>> {
  const results = new Map<string, SetupResult>();
  const live: { setup: Setup; session: SetupSession; made: number; samples: number[] }[] = [];
  const fail = (id: string, error: unknown) => results.set(id, { error: (error as Error).message });
  for (const setup of setups) {
    try {
      const entry = { setup, session: await setup.open(), made: 0, samples: [] as number[] };
      for (let i = 0; i < options.warmup; i++) {
        await entry.session.call(i);
        entry.made++;
        entry.session.afterCall?.(entry.made);
      }
      live.push(entry);
    } catch (error) {
      fail(setup.id, error);
    }
  }
  const rounds = Math.max(1, Math.min(options.rounds, options.calls));
  try {
    for (let round = 0; round < rounds; round++) {
      const block = Math.floor(options.calls / rounds) + (round < options.calls % rounds ? 1 : 0);
      for (const entry of live) {
        if (results.has(entry.setup.id)) continue;
        try {
          await entry.setup.aroundBlock?.before();
          for (let i = 0; i < block; i++) {
            const t0 = performance.now();
            await entry.session.call(entry.made);
            entry.samples.push(performance.now() - t0);
            entry.made++;
            entry.session.afterCall?.(entry.made);
          }
          await entry.setup.aroundBlock?.after();
        } catch (error) {
          fail(entry.setup.id, error);
        }
      }
    }
  } finally {
    await Promise.all(live.map((entry) => entry.session.close().catch(() => undefined)));
  }
  for (const entry of live) {
    if (results.has(entry.setup.id)) continue;
    const wall = entry.samples.reduce((sum, s) => sum + s, 0);
    results.set(entry.setup.id, { latency: latency(entry.samples, wall) });
  }
  return results;
}
