import os from 'node:os';
import type { HrTime } from '@opentelemetry/api';
import { OTLPLogExporter } from '@opentelemetry/exporter-logs-otlp-http';
import { resourceFromAttributes, type Resource } from '@opentelemetry/resources';
import type { ReadableLogRecord } from '@opentelemetry/sdk-logs';
import type { OutboxItem } from '../audit/outbox.ts';
import type { ForwardedCall, ForwardedCheckpoint } from '../audit/outbox-records.ts';
import { describeError } from '../errors.ts';
import { WARDEN_VERSION } from '../version.ts';
import { otlpLogFields } from './otlp-attributes.ts';
import type { ForwardTransport } from './transport.ts';

/** ExportResultCode.SUCCESS of @opentelemetry/core (the exporter's result callback). */
const EXPORT_SUCCESS = 0;

/**
 * OTLP/HTTP logs (protobuf over HTTP POST) through the official exporter,
 * `@opentelemetry/exporter-logs-otlp-http`, fed log records in the `@opentelemetry/sdk-logs`
 * `ReadableLogRecord` shape. The exporter is called directly instead of through a
 * LoggerProvider's batch processor, which keeps records in memory and cannot say which were
 * delivered: here a batch is deleted from the outbox only after the receiver answered 2xx.
 */
export class OtlpTransport implements ForwardTransport {
  readonly #exporter: OTLPLogExporter;
  readonly #resource: Resource;
  readonly #endpoint: string;
  readonly #scope = { name: 'mcp-warden', version: WARDEN_VERSION };

  /**
   * @param headers request headers with secret references already resolved.
   * @param timeoutMs how long one export may take, ms.
   */
  constructor(endpoint: string, headers: Record<string, string>, timeoutMs: number) {
    this.#endpoint = endpoint;
    this.#exporter = new OTLPLogExporter({
      url: endpoint,
      headers,
      timeoutMillis: timeoutMs,
      concurrencyLimit: 1,
    });
    this.#resource = resourceFromAttributes({
      'service.name': 'mcp-warden',
      'service.version': WARDEN_VERSION,
      'host.name': os.hostname(),
    });
  }

  send(items: readonly OutboxItem[], signal: AbortSignal): Promise<void> {
    const records = items.map((item) => this.#logRecord(item));
    return new Promise((resolve, reject) => {
      const aborted = (): void =>
        reject(new Error(`no answer from the OTLP receiver ${this.#endpoint} in time`));
      signal.addEventListener('abort', aborted, { once: true });
      this.#exporter.export(records, (result) => {
        signal.removeEventListener('abort', aborted);
        if ((result.code as number) === EXPORT_SUCCESS) resolve();
        else
          reject(
            new Error(
              `the OTLP receiver ${this.#endpoint} did not take the records: ${result.error ? describeError(result.error) : 'export failed'}`,
            ),
          );
      });
    });
  }

  close(): void {
    void this.#exporter.shutdown().catch(() => undefined);
  }

  #logRecord(item: OutboxItem): ReadableLogRecord {
    const fields = otlpLogFields(item);
    const ms =
      item.kind === 'call'
        ? (item.record as ForwardedCall).tsMs
        : Date.parse((item.record as ForwardedCheckpoint).ts);
    return {
      hrTime: hrTime(ms),
      hrTimeObserved: hrTime(item.createdMs),
      severityNumber: fields.severityNumber,
      severityText: fields.severityText,
      body: fields.body,
      eventName: fields.eventName,
      resource: this.#resource,
      instrumentationScope: this.#scope,
      attributes: fields.attributes,
      droppedAttributesCount: 0,
    };
  }
}

/** ms since the epoch as OpenTelemetry's [seconds, nanoseconds]. */
function hrTime(ms: number): HrTime {
  const seconds = Math.floor(ms / 1000);
  return [seconds, Math.round((ms - seconds * 1000) * 1e6)];
}
