import type { OutboxItem } from '../audit/outbox.ts';

/**
 * How a sender delivers a batch to one destination. `send` resolves only once the receiver
 * holds the records as far as the protocol can tell (an OTLP 2xx answer; for syslog over TCP,
 * the connection stayed up after the write: see SyslogTransport), and rejects otherwise; the
 * records are then sent again later (at-least-once; receivers de-duplicate by record id).
 */
export interface ForwardTransport {
  /** @throws (rejects) an Error saying why the batch was not delivered. */
  send(items: readonly OutboxItem[], signal: AbortSignal): Promise<void>;
  /** Drops connections and pending requests. Idempotent. */
  close(): void;
}
