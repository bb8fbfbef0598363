import type { Writable } from 'node:stream';
import { WardenError } from '../errors.ts';

/**
 * Writes to a stream with backpressure, behind one `drain` listener however many writes wait.
 *
 * `write()` resolves once the stream took the chunk: at once while it is below its
 * highWaterMark, otherwise at the next `drain`, which every waiting write shares (a burst of
 * large messages adds one listener, not one per message). Chunks are written in call order.
 * When the stream closes or fails, every waiting write is rejected, and so is every later one.
 */
export class QueuedWriter {
  readonly #stream: Writable;
  readonly #what: string;
  #waiting: { resolve: () => void; reject: (error: Error) => void }[] = [];
  #failure: Error | undefined;

  /** @param what names the stream in errors ("the server's stdin"). */
  constructor(stream: Writable, what: string) {
    this.#stream = stream;
    this.#what = what;
    stream.once('close', () => this.#fail(new WardenError('UPSTREAM_CRASHED', `${what} was closed`)));
    stream.on('error', (error: Error) =>
      this.#fail(new WardenError('UPSTREAM_CRASHED', `${what} failed: ${error.message}`, { cause: error })),
    );
  }

  /**
   * Writes one chunk.
   * @throws (rejects) WardenError UPSTREAM_CRASHED when the stream is closed, ended or failed, before or while waiting.
   */
  write(chunk: string | Uint8Array): Promise<void> {
    const stream = this.#stream;
    if (!this.#failure && (stream.destroyed || stream.writableEnded))
      this.#failure = new WardenError('UPSTREAM_CRASHED', `${this.#what} is closed`);
    if (this.#failure) return Promise.reject(this.#failure);
    const accepted = stream.write(chunk);
    if (accepted && this.#waiting.length === 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      this.#waiting.push({ resolve, reject });
      if (this.#waiting.length === 1) stream.once('drain', this.#onDrain);
    });
  }

  /** How many writes wait for the stream to drain. */
  get waiting(): number {
    return this.#waiting.length;
  }

  #onDrain = (): void => {
    const waiting = this.#waiting;
    this.#waiting = [];
    for (const writer of waiting) writer.resolve();
  };

  #fail(error: Error): void {
    this.#failure ??= error;
    this.#stream.off('drain', this.#onDrain);
    const waiting = this.#waiting;
    this.#waiting = [];
    for (const writer of waiting) writer.reject(this.#failure);
  }
}
