import { monitorEventLoopDelay, performance, type ELDHistogram } from 'node:perf_hooks';
import type { EventLoopFigures } from './contract.ts';

/**
 * Sampling interval of the event-loop delay histogram, ms. Node's default (10 ms) is too coarse
 * for a p99.9 target of 2 ms: a stall shorter than the interval is seen only when it spans a
 * sample, and the figure it gives is short by up to one interval. At 1 ms every stall of 1 ms or
 * more is seen, short by less than 1 ms, and a window has 1 000 samples a second, so its p99.9
 * means something after a few seconds. Sampling this often costs a wake-up a millisecond (about
 * 3 % of a core on an idle 2-core machine), which is why a window is opened on demand and closes
 * by itself (EVENT_LOOP_WINDOW_MAX_MS), never left running.
 */
export const EVENT_LOOP_RESOLUTION_MS = 1;

/** Longest a measuring window samples before it closes by itself, ms (10 minutes). */
export const EVENT_LOOP_WINDOW_MAX_MS = 10 * 60_000;

/** Options of EventLoopDelay (tests shorten the window). */
export interface EventLoopDelayOptions {
  /** Longest a window samples, ms (default EVENT_LOOP_WINDOW_MAX_MS). */
  windowMaxMs?: number;
}

/**
 * The event-loop delay of this process over one measuring window, from one
 * `perf_hooks.monitorEventLoopDelay` histogram sampling every EVENT_LOOP_RESOLUTION_MS.
 *
 * The histogram records the time between two samples; the delay is that less the sampling
 * interval (never below 0): how late the loop came back to the timer. No window is open until
 * `start()`; a window samples until the next `start()`, `stop()`, or EVENT_LOOP_WINDOW_MAX_MS,
 * whichever is first, and its figures stay readable after it closed. The timers are unref'd: an
 * open window never keeps the process alive.
 */
export class EventLoopDelay {
  readonly #windowMaxMs: number;
  #histogram: ELDHistogram | undefined;
  #startedAt = 0;
  #stoppedAt = 0;
  #utilizationAtStart: ReturnType<typeof performance.eventLoopUtilization> | undefined;
  #utilization: number | null = null;
  #closer: NodeJS.Timeout | undefined;

  constructor(options: EventLoopDelayOptions = {}) {
    this.#windowMaxMs = options.windowMaxMs ?? EVENT_LOOP_WINDOW_MAX_MS;
  }

  /** Is a window sampling now? */
  get measuring(): boolean {
    return this.#closer !== undefined;
  }

  /**
   * Opens a new window (ending the one open, if any) and answers the figures of the window it
   * ended (or of the last one, or empty figures when there was none).
   */
  start(): EventLoopFigures {
    const previous = this.stop();
    this.#histogram?.disable();
    this.#histogram = monitorEventLoopDelay({ resolution: EVENT_LOOP_RESOLUTION_MS });
    this.#histogram.enable();
    this.#startedAt = performance.now();
    this.#utilizationAtStart = performance.eventLoopUtilization();
    this.#utilization = null;
    this.#closer = setTimeout(() => this.stop(), this.#windowMaxMs);
    this.#closer.unref();
    return previous;
  }

  /** Closes the open window, if any; answers its figures (see figures()). */
  stop(): EventLoopFigures {
    if (this.#closer) {
      clearTimeout(this.#closer);
      this.#closer = undefined;
      this.#histogram?.disable();
      this.#stoppedAt = performance.now();
      this.#utilization = this.#utilizationSinceStart();
    }
    return this.figures();
  }

  /**
   * The figures of the open window, or of the last one when none is open: delays in ms, over
   * `samples` samples taken during `windowMs`; percentiles and max are null without samples.
   */
  figures(): EventLoopFigures {
    const histogram = this.#histogram;
    const measuring = this.measuring;
    const windowMs = histogram ? (measuring ? performance.now() : this.#stoppedAt) - this.#startedAt : 0;
    const samples = histogram?.count ?? 0;
    const delay = (nanoseconds: number): number | null =>
      samples ? Math.max(0, nanoseconds / 1e6 - EVENT_LOOP_RESOLUTION_MS) : null;
    return {
      measuring,
      resolutionMs: EVENT_LOOP_RESOLUTION_MS,
      windowMs: round(windowMs),
      samples,
      p50Ms: roundOrNull(delay(histogram?.percentile(50) ?? 0)),
      p99Ms: roundOrNull(delay(histogram?.percentile(99) ?? 0)),
      p999Ms: roundOrNull(delay(histogram?.percentile(99.9) ?? 0)),
      maxMs: roundOrNull(delay(histogram?.max ?? 0)),
      utilization: measuring ? this.#utilizationSinceStart() : this.#utilization,
    };
  }

  #utilizationSinceStart(): number | null {
    if (!this.#utilizationAtStart) return null;
    return round(performance.eventLoopUtilization(this.#utilizationAtStart).utilization, 4);
  }
}

function round(value: number, digits = 3): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}

function roundOrNull(value: number | null): number | null {
  return value === null ? null : round(value);
}
