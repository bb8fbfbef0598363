import type { Outbox } from '../audit/outbox.ts';
import { describeError } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { ForwardTransport } from './transport.ts';

/** How a sender paces itself (all in ms except batchSize). */
export interface SenderOptions {
  /** Records per send (default 100). */
  batchSize?: number;
  /** How long one send may take before it counts as failed (default 10 000). */
  timeoutMs?: number;
  /** The first wait after a failure (default 500); it doubles with each failure in a row. */
  initialBackoffMs?: number;
  /** The longest wait between attempts (default 300 000). */
  maxBackoffMs?: number;
  /**
   * How long a wake waits for more records before it sends, so a stream of calls goes out in
   * batches rather than one record per call (default 200; 0 sends at once).
   */
  lingerMs?: number;
  /** Random numbers in [0, 1) for the jitter (tests). */
  random?: () => number;
}

/**
 * The wait before attempt `failures + 1`: exponential backoff with "full jitter" over its upper
 * half, uniform in [cap/2, cap) where cap = min(max, initial * 2^(failures-1)), ms.
 */
export function backoffMs(failures: number, initial: number, max: number, random: () => number): number {
  const cap = Math.min(max, initial * 2 ** Math.max(0, failures - 1));
  return Math.round(cap / 2 + (random() * cap) / 2);
}

/**
 * Drains one destination's records from the outbox: the oldest batch is sent; when the
 * transport confirms it, the batch is deleted (one small transaction) and the next one follows
 * at once; when it fails, the failure is recorded in `outbox_status` and the same batch is tried
 * again after {@link backoffMs}. It runs on the event loop between calls, never inside one: a
 * call's write only enqueues and wakes it, so a receiver that is down or slow costs a call
 * nothing.
 */
export class DestinationSender {
  readonly name: string;
  readonly #outbox: Outbox;
  readonly #transport: ForwardTransport;
  readonly #log: Logger;
  readonly #batchSize: number;
  readonly #timeoutMs: number;
  readonly #initialBackoffMs: number;
  readonly #maxBackoffMs: number;
  readonly #random: () => number;
  readonly #lingerMs: number;
  #linger: NodeJS.Timeout | undefined;
  #failures = 0;
  #running: Promise<void> | undefined;
  #retry: NodeJS.Timeout | undefined;
  #again = false;
  #stopped = false;
  readonly #abort = new AbortController();

  constructor(
    name: string,
    outbox: Outbox,
    transport: ForwardTransport,
    logger: Logger,
    options: SenderOptions = {},
  ) {
    this.name = name;
    this.#outbox = outbox;
    this.#transport = transport;
    this.#log = logger;
    this.#batchSize = options.batchSize ?? 100;
    this.#timeoutMs = options.timeoutMs ?? 10_000;
    this.#initialBackoffMs = options.initialBackoffMs ?? 500;
    this.#maxBackoffMs = options.maxBackoffMs ?? 300_000;
    this.#random = options.random ?? Math.random;
    this.#lingerMs = options.lingerMs ?? 200;
  }

  /**
   * New records may be waiting: drain after the linger, unless a failure's backoff is running
   * (then it drains after that).
   */
  wake(): void {
    if (this.#stopped || this.#retry || this.#linger) return;
    if (this.#lingerMs > 0 && !this.#running) {
      this.#linger = setTimeout(() => {
        this.#linger = undefined;
        this.#drainNow();
      }, this.#lingerMs);
      this.#linger.unref();
      return;
    }
    this.#drainNow();
  }

  #drainNow(): void {
    if (this.#stopped || this.#retry) return;
    if (this.#running) {
      this.#again = true;
      return;
    }
    this.#running = this.#drain().finally(() => {
      this.#running = undefined;
      if (this.#again && !this.#retry) {
        this.#again = false;
        this.#drainNow();
      }
    });
  }

  /** Stops: no further sends or outbox writes; the send in flight is abandoned (its records stay queued). */
  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#retry);
    clearTimeout(this.#linger);
    this.#abort.abort();
    this.#transport.close();
  }

  /** Resolves when the drain in progress (if any) is over (tests). */
  idle(): Promise<void> {
    return this.#running ?? Promise.resolve();
  }

  async #drain(): Promise<void> {
    while (!this.#stopped) {
      this.#again = false;
      const items = this.#outbox.take(this.name, this.#batchSize);
      if (items.length === 0) return;
      const timeout = AbortSignal.timeout(this.#timeoutMs);
      try {
        await this.#transport.send(items, AbortSignal.any([timeout, this.#abort.signal]));
      } catch (error) {
        if (this.#stopped) return;
        this.#failed(describeError(error));
        return;
      }
      if (this.#stopped) return;
      this.#outbox.delivered(
        this.name,
        items.map((item) => item.seq),
      );
      if (this.#failures > 0) this.#log.info({ destination: this.name }, 'audit destination reachable again');
      this.#failures = 0;
    }
  }

  #failed(message: string): void {
    this.#failures++;
    try {
      this.#outbox.failed(this.name, message);
    } catch (error) {
      this.#log.warn({ err: describeError(error) }, 'could not record a forwarding failure');
    }
    const wait = backoffMs(this.#failures, this.#initialBackoffMs, this.#maxBackoffMs, this.#random);
    if (this.#failures === 1 || this.#failures % 10 === 0)
      this.#log.warn(
        { destination: this.name, err: message, failures: this.#failures, retryMs: wait },
        'audit destination unreachable; records stay in the outbox',
      );
    this.#retry = setTimeout(() => {
      this.#retry = undefined;
      this.#drainNow();
    }, wait);
    this.#retry.unref();
  }
}
