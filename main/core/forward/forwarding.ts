import type { Outbox, OutboxDestinationStatus } from '../audit/outbox.ts';
import type { AuditDestination } from '../config/policy-schema.ts';
import { WardenError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { SECRET_REFERENCE } from '../secrets/references.ts';
import type { SecretStore } from '../secrets/secret-store.ts';
import type { DestinationInForce } from './destinations.ts';
import { lazyImport } from '../lazy-module.ts';
import { DestinationSender, type SenderOptions } from './sender.ts';
import { SyslogTransport } from './syslog-transport.ts';
import type { ForwardTransport } from './transport.ts';

/** The OTLP stack (the OpenTelemetry exporter), loaded when an otlp destination first sends. */
const loadOtlp = lazyImport(
  '@opentelemetry/exporter-logs-otlp-http',
  'the OTLP log exporter',
  () => import('./otlp-transport.ts'),
);

/** One destination as `audit status` shows it: where it came from and its outbox state. */
export interface DestinationStatus extends OutboxDestinationStatus {
  /** `otlp` or `syslog`; null for records of a destination no longer in force. */
  type: AuditDestination['type'] | null;
  /** Where it is forwarded to: the endpoint, or host:port; null when not in force. */
  target: string | null;
  /** Who set it; null when not in force (its records wait until it is back). */
  source: 'managed' | 'user' | null;
  locked: boolean;
}

/**
 * Forwarding of the audit log: one DestinationSender per destination in force, each draining
 * its records of the outbox. {@link apply} puts a new set in force (at start and on every
 * change of the config or the managed policy): unchanged destinations keep their sender, new
 * ones start, changed ones restart, removed ones stop (their records stay queued).
 */
export class Forwarding {
  readonly #outbox: Outbox;
  readonly #secrets: SecretStore;
  readonly #log: Logger;
  readonly #options: SenderOptions;
  readonly #senders = new Map<
    string,
    { key: string; sender: DestinationSender; inForce: DestinationInForce }
  >();

  /** @param options sender pacing for every destination (tests); the destination's own settings win. */
  constructor(outbox: Outbox, secrets: SecretStore, logger: Logger, options: SenderOptions = {}) {
    this.#outbox = outbox;
    this.#secrets = secrets;
    this.#log = logger;
    this.#options = options;
    outbox.onEnqueued = () => {
      for (const { sender } of this.#senders.values()) sender.wake();
    };
  }

  /** Puts `destinations` in force (see the class). */
  apply(destinations: readonly DestinationInForce[]): void {
    const next = new Map(destinations.map((d) => [d.name, d]));
    for (const [name, running] of this.#senders) {
      const wanted = next.get(name);
      if (!wanted || JSON.stringify(wanted.destination) !== running.key) {
        running.sender.stop();
        this.#senders.delete(name);
      }
    }
    this.#outbox.setDestinations([...next.keys()]);
    for (const inForce of destinations) {
      const existing = this.#senders.get(inForce.name);
      if (existing) {
        existing.inForce = inForce;
        continue;
      }
      const sender = new DestinationSender(
        inForce.name,
        this.#outbox,
        this.#transport(inForce),
        this.#log.child({ component: 'forwarding' }),
        senderOptions(inForce.destination, this.#options),
      );
      this.#senders.set(inForce.name, { key: JSON.stringify(inForce.destination), sender, inForce });
      this.#log.info(
        { destination: inForce.name, type: inForce.destination.type, source: inForce.source },
        'forwarding audit records',
      );
      // Records left from before (an outage, a restart) go out now.
      sender.wake();
    }
  }

  /** Every destination in force or with records, with its outbox state, by name. */
  status(): DestinationStatus[] {
    return this.#outbox.status().map((state) => {
      const inForce = this.#senders.get(state.destination)?.inForce;
      return {
        ...state,
        type: inForce?.destination.type ?? null,
        target: inForce ? destinationTarget(inForce.destination) : null,
        source: inForce?.source ?? null,
        locked: inForce?.locked ?? false,
      };
    });
  }

  /** Stops every sender (daemon stop); queued records stay for the next start. */
  close(): void {
    for (const { sender } of this.#senders.values()) sender.stop();
    this.#senders.clear();
    this.#outbox.onEnqueued = undefined;
  }

  #transport(inForce: DestinationInForce): ForwardTransport {
    const destination = inForce.destination;
    if (destination.type === 'syslog') return new SyslogTransport(destination);
    const timeoutMs = (destination.timeoutSeconds ?? 10) * 1000;
    const headers = destination.headers ?? {};
    // Header secrets are read when the first batch goes out, and again after a failure.
    let otlp: ForwardTransport | undefined;
    return {
      send: async (items, signal) => {
        const { OtlpTransport } = await loadOtlp();
        otlp ??= new OtlpTransport(
          destination.endpoint,
          await resolveHeaders(inForce.name, headers, this.#secrets),
          timeoutMs,
        );
        return otlp.send(items, signal);
      },
      close: () => otlp?.close(),
    };
  }
}

/** Where a destination forwards to, for `audit status`. */
export function destinationTarget(destination: AuditDestination): string {
  return destination.type === 'otlp'
    ? destination.endpoint
    : `${destination.tls ? 'tls' : 'tcp'}://${destination.host}:${destination.port}`;
}

function senderOptions(destination: AuditDestination, defaults: SenderOptions): SenderOptions {
  const timeoutMs = destination.timeoutSeconds !== undefined ? destination.timeoutSeconds * 1000 : undefined;
  return {
    ...defaults,
    ...(destination.batchSize !== undefined ? { batchSize: destination.batchSize } : {}),
    // The exporter has its own timeout: the sender's is a second longer, so the exporter's error wins.
    ...(timeoutMs !== undefined ? { timeoutMs: timeoutMs + 1000 } : {}),
    ...(destination.maxBackoffSeconds !== undefined
      ? { maxBackoffMs: destination.maxBackoffSeconds * 1000 }
      : {}),
  };
}

/**
 * The headers with every `${secret:NAME}` replaced by the secret's value.
 * @throws WardenError SECRET_MISSING naming the destination and the secret; KEYCHAIN_UNAVAILABLE.
 */
export async function resolveHeaders(
  destination: string,
  headers: Record<string, string>,
  store: SecretStore,
): Promise<Record<string, string>> {
  const resolved: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    let text = value;
    for (const match of value.matchAll(SECRET_REFERENCE)) {
      const secret = await store.get(match[1]!);
      if (secret === undefined)
        throw new WardenError(
          'SECRET_MISSING',
          `audit destination "${destination}" needs secret "${match[1]}" for header ${name}, which is not in the keychain; set it with \`mcp-warden secrets set ${match[1]}\``,
        );
      text = text.split(match[0]).join(secret);
    }
    resolved[name] = text;
  }
  return resolved;
}
