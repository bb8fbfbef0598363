import v8 from 'node:v8';
import vm from 'node:vm';

/** Messages (both directions) between two major GCs the shim asks for. */
export const SWEEP_EVERY_MESSAGES = 10_000;

/** V8's `gc` extension (src/extensions/gc-extension.cc), called with an options object. */
export type MajorGc = (options: { type: 'major'; execution: 'async' }) => Promise<void> | void;

/**
 * A counter that asks V8 for a major GC (mark-compact) every `every` messages, one at a time:
 * messages that arrive while one runs count towards the next.
 *
 * Why: some of what the shim allocates per message outlives the young generation (its objects
 * live across a round trip to the daemon) and is promoted to old space, where only a major GC
 * frees it. Under a steady stream of calls the old space's allocation limit is not reached for a
 * long time, and that garbage stays resident: over 100 000 calls (`npm run bench:soak`) old
 * space grew from 5.2 to 9.7 MiB and the shim's RSS from 58.5 to 66.6 MiB (+13.7 %). With a
 * major GC every 10 000 messages the same soak went from 58.8 to 60.0 MiB (+2.1 %). One such GC
 * of the shim's heap (about 8 MiB) took 18 ms (median of 6); it runs as a task (`execution:
 * 'async'`), after the message at hand is handled: under 4 us a call, and one call in 5 000
 * waits for it. Every 20 000 messages the soak's RSS drifted +5.4 % (60.0 -> 63.2 MiB).
 * @param every messages between two GCs (default SWEEP_EVERY_MESSAGES).
 * @param gc the GC function; by default V8's (majorGc), got when the first GC is due, so a short
 *   session makes no V8 context for it; with null the counter does nothing.
 * @returns the function to call once per message; it answers the promise of the GC it asked
 *   for (settled once the GC ran; never rejected), else undefined.
 */
export function oldSpaceSweeper(
  every = SWEEP_EVERY_MESSAGES,
  gc?: MajorGc | null,
): () => Promise<void> | undefined {
  let collect = gc;
  let count = 0;
  let running = false;
  return () => {
    if (collect === null || ++count < every || running) return undefined;
    collect ??= majorGc();
    if (collect === null) return undefined;
    const run = collect;
    count = 0;
    running = true;
    return Promise.resolve()
      .then(() => run({ type: 'major', execution: 'async' }))
      .catch(() => undefined)
      .finally(() => {
        running = false;
      });
  };
}

/**
 * V8's `gc` function, without exposing it to this process's own global scope: `--expose-gc` is
 * turned on just long enough for a new V8 context to get its `gc` (the function collects the
 * whole isolate's heap, whichever context calls it), then off again, so no context made later
 * gets one. Null when the runtime does not give one (then no GC is asked for).
 */
export function majorGc(): MajorGc | null {
  try {
    v8.setFlagsFromString('--expose-gc');
    const gc: unknown = vm.runInNewContext('typeof gc === "function" ? gc : undefined');
    return typeof gc === 'function' ? (gc as MajorGc) : null;
  } catch {
    return null;
  } finally {
    v8.setFlagsFromString('--no-expose-gc');
  }
}
