import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import tls from 'node:tls';
import type { SyslogDestination } from '../config/policy-schema.ts';
import { describeError } from '../errors.ts';
import type { OutboxItem } from '../audit/outbox.ts';
import { formatSyslogMessage, frameOctetCounted, type SyslogHeader } from './syslog-format.ts';
import type { ForwardTransport } from './transport.ts';

/** Default facility: 13, "log audit" (RFC 5424 table 1). */
export const DEFAULT_FACILITY = 13;

/**
 * How long the connection must stay up after a batch was written before the batch counts as
 * delivered, ms. Syslog over TCP has no acknowledgement: a write succeeds into the socket
 * buffer even when the receiver is closing the connection. A batch written just before the
 * connection closed is sent again (the receiver de-duplicates by record id).
 */
export const SETTLE_MS = 250;

/**
 * RFC 5424 messages over one TCP (or TLS, RFC 5425) connection with octet-counting framing
 * (RFC 6587), opened when needed and kept open between batches. A connection that errors or is
 * closed by the receiver is dropped, and the batch in flight fails.
 */
export class SyslogTransport implements ForwardTransport {
  readonly #destination: SyslogDestination;
  readonly #header: SyslogHeader;
  readonly #settleMs: number;
  #socket: net.Socket | undefined;
  /** Rejects the send in flight when the connection goes (set while one is in flight). */
  #lost: ((error: Error) => void) | undefined;

  constructor(destination: SyslogDestination, options: { settleMs?: number } = {}) {
    this.#destination = destination;
    this.#settleMs = options.settleMs ?? SETTLE_MS;
    this.#header = {
      facility: destination.facility ?? DEFAULT_FACILITY,
      hostname: os.hostname(),
      appName: destination.appName ?? 'mcp-warden',
      procId: String(process.pid),
    };
  }

  async send(items: readonly OutboxItem[], signal: AbortSignal): Promise<void> {
    const frames = Buffer.concat(
      items.map((item) => frameOctetCounted(formatSyslogMessage(item, this.#header))),
    );
    const socket = await this.#connect(signal);
    await new Promise<void>((resolve, reject) => {
      let settle: NodeJS.Timeout | undefined;
      const done = (error?: Error): void => {
        clearTimeout(settle);
        signal.removeEventListener('abort', aborted);
        this.#lost = undefined;
        if (error) reject(error);
        else resolve();
      };
      const aborted = (): void => {
        this.#drop();
        done(new Error(`no answer from ${this.#where()} in time`));
      };
      signal.addEventListener('abort', aborted, { once: true });
      this.#lost = done;
      socket.write(frames, (error) => {
        if (error) return done(new Error(`could not write to ${this.#where()}: ${describeError(error)}`));
        settle = setTimeout(() => done(), this.#settleMs);
      });
    });
  }

  close(): void {
    this.#drop();
  }

  #where(): string {
    return `syslog receiver ${this.#destination.host}:${this.#destination.port}`;
  }

  #drop(): void {
    this.#socket?.destroy();
    this.#socket = undefined;
  }

  #connect(signal: AbortSignal): Promise<net.Socket> {
    const existing = this.#socket;
    if (existing && !existing.destroyed && existing.writable) return Promise.resolve(existing);
    this.#drop();
    const { host, port, tls: useTls } = this.#destination;
    return new Promise((resolve, reject) => {
      const options = typeof useTls === 'object' ? useTls : {};
      const socket = useTls
        ? tls.connect({
            host,
            port,
            servername: options.servername ?? (net.isIP(host) ? undefined : host),
            ...(options.ca ? { ca: fs.readFileSync(options.ca) } : {}),
            rejectUnauthorized: true,
          })
        : net.connect({ host, port });
      const failed = (error: Error): void => {
        cleanup();
        socket.destroy();
        reject(new Error(`cannot connect to ${this.#where()}: ${describeError(error)}`));
      };
      const aborted = (): void => failed(new Error('timed out'));
      const connected = (): void => {
        cleanup();
        socket.setNoDelay(true);
        socket.setKeepAlive(true, 30_000);
        this.#socket = socket;
        resolve(socket);
      };
      const cleanup = (): void => {
        socket.off('error', failed);
        socket.off(useTls ? 'secureConnect' : 'connect', connected);
        signal.removeEventListener('abort', aborted);
      };
      signal.addEventListener('abort', aborted, { once: true });
      socket.once('error', failed);
      socket.once(useTls ? 'secureConnect' : 'connect', connected);
      // The receiver sends nothing: data, an end or an error all mean the connection is over.
      const lost = (why: string) => () => {
        if (this.#socket === socket) this.#socket = undefined;
        socket.destroy();
        this.#lost?.(new Error(`${this.#where()} ${why}`));
      };
      socket.on('error', (error) => lost(`failed: ${describeError(error)}`)());
      socket.on('end', lost('closed the connection'));
      socket.on('close', lost('closed the connection'));
      socket.on('data', () => undefined);
    });
  }
}
