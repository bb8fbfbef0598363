/**
 * Latency figures of a benchmark row: percentiles by the nearest-rank method over the sorted
 * samples, in ms; throughput in calls per second of wall time.
 */

/** Latency and throughput of one measured phase. */
export interface Latency {
  /** Calls measured. */
  calls: number;
  p50Ms: number;
  p99Ms: number;
  meanMs: number;
  /** Calls per second over the phase's wall time. */
  callsPerSecond: number;
}

/**
 * The sample at quantile `q` (0..1) of ascending `sorted` samples (nearest rank: the smallest
 * sample with at least q of the samples at or below it).
 * @throws RangeError without samples.
 */
export function quantile(sorted: ArrayLike<number>, q: number): number {
  if (!sorted.length) throw new RangeError('no samples');
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank]!;
}

/**
 * The median of `values` (not sorted in place): the middle value, or the mean of the two middle
 * ones for an even count.
 * @throws RangeError without values.
 */
export function median(values: readonly number[]): number {
  if (!values.length) throw new RangeError('no values');
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/**
 * Latency figures of `samples` (ms per call) measured over `wallMs` ms of wall time.
 * @throws RangeError without samples.
 */
export function latency(samples: readonly number[] | Float64Array, wallMs: number): Latency {
  const sorted = Float64Array.from(samples).sort();
  let sum = 0;
  for (const s of sorted) sum += s;
  return {
    calls: sorted.length,
    p50Ms: quantile(sorted, 0.5),
    p99Ms: quantile(sorted, 0.99),
    meanMs: sum / sorted.length,
    callsPerSecond: (sorted.length / wallMs) * 1000,
  };
}
