/**
 * A circuit breaker for one upstream server, shared by all its sessions.
 *
 * Closed: failures (crashes, failed starts) are counted in a sliding window. When `threshold`
 * failures fall within `windowMs`, it opens for `cooldownMs`: no restart is attempted and
 * requests are refused at once. After the cooldown it is half-open: one start may be tried;
 * success closes it, failure opens it again.
 */
export interface CircuitBreakerOptions {
  /** Failures within the window that open the circuit (default 5). */
  threshold?: number;
  /** Sliding window, ms (default 60 000). */
  windowMs?: number;
  /** How long the circuit stays open, ms (default 30 000). */
  cooldownMs?: number;
  /** Clock, ms since epoch (tests pass a fake). */
  now?: () => number;
}

export type CircuitState = 'closed' | 'open' | 'half-open';

export class CircuitBreaker {
  readonly #threshold: number;
  readonly #windowMs: number;
  readonly #cooldownMs: number;
  readonly #now: () => number;
  #failures: number[] = [];
  #openedAt: number | undefined;
  #last: 'success' | 'failure' | undefined;

  constructor(options: CircuitBreakerOptions = {}) {
    this.#threshold = options.threshold ?? 5;
    this.#windowMs = options.windowMs ?? 60_000;
    this.#cooldownMs = options.cooldownMs ?? 30_000;
    this.#now = options.now ?? Date.now;
  }

  get state(): CircuitState {
    if (this.#openedAt === undefined) return 'closed';
    return this.#now() - this.#openedAt >= this.#cooldownMs ? 'half-open' : 'open';
  }

  /** When an open circuit lets a start be tried again (ms since epoch), or undefined when closed. */
  get retryAt(): number | undefined {
    return this.#openedAt === undefined ? undefined : this.#openedAt + this.#cooldownMs;
  }

  /** Recent failures within the window. */
  get recentFailures(): number {
    const since = this.#now() - this.#windowMs;
    return this.#failures.filter((t) => t > since).length;
  }

  /** Whether the last start or run recorded succeeded or failed; undefined before any (for metrics). */
  get lastResult(): 'success' | 'failure' | undefined {
    return this.#last;
  }

  /**
   * An upstream started (a first start, or a warm one handed over): the last result is a
   * success, but the failures in the window stay counted (a server that starts and then dies
   * each time still opens the circuit).
   */
  recordStarted(): void {
    this.#last = 'success';
  }

  recordFailure(): void {
    this.#last = 'failure';
    const now = this.#now();
    if (this.state === 'half-open') {
      this.#openedAt = now;
      return;
    }
    this.#failures = this.#failures.filter((t) => t > now - this.#windowMs);
    this.#failures.push(now);
    if (this.#failures.length >= this.#threshold) this.#openedAt = now;
  }

  recordSuccess(): void {
    this.#last = 'success';
    if (this.state !== 'open') {
      this.#openedAt = undefined;
      this.#failures = [];
    }
  }
}

/**
 * Exponential backoff delay before restart attempt `attempt` (0-based), ms:
 * base * 2^attempt, capped at max, with ±20 % jitter.
 */
export function backoffDelay(attempt: number, baseMs = 250, maxMs = 10_000, random = Math.random): number {
  const raw = Math.min(maxMs, baseMs * 2 ** attempt);
  return Math.round(raw * (0.8 + 0.4 * random()));
}
