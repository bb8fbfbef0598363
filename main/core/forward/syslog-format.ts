import type { OutboxItem } from '../audit/outbox.ts';
import type { ForwardedCall, ForwardedCheckpoint } from '../audit/outbox-records.ts';

/**
 * RFC 5424 syslog messages for outbox records, framed for TCP by octet counting (RFC 6587
 * section 3.4.1, which RFC 5425 uses over TLS too).
 */

/** The SD-ID of Warden's structured data: `name@<private enterprise number>` (RFC 5424 section 7.2.2; 32473 is the number RFC 5612 reserves for documentation and examples). */
export const SD_ID = 'mcpwarden@32473';

/** The UTF-8 byte order mark that starts an RFC 5424 MSG in UTF-8 (section 6.4). */
const BOM = '\uFEFF';

/** Syslog severities used (RFC 5424 section 6.2.1). */
export const SEVERITY = { warning: 4, notice: 5, informational: 6 } as const;

/** The header fields that do not depend on the record. */
export interface SyslogHeader {
  /** Facility 0..23 (RFC 5424 table 1; 13 is "log audit"). */
  facility: number;
  /** HOSTNAME: printable US-ASCII, at most 255; anything else is replaced. */
  hostname: string;
  /** APP-NAME, at most 48. */
  appName: string;
  /** PROCID, at most 128. */
  procId: string;
}

/**
 * One RFC 5424 message for an outbox record:
 * `<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID [mcpwarden@32473 ...] BOM{record JSON}`.
 * MSGID is the record's kind (`call`, `checkpoint`); the structured data carries the record id
 * (`recordId`, for de-duplication) and, for a call, server, tool, decision and outcome; the MSG
 * is the whole record as JSON (one line: JSON escapes every control character).
 */
export function formatSyslogMessage(item: OutboxItem, header: SyslogHeader): string {
  const call = item.kind === 'call' ? (item.record as ForwardedCall) : undefined;
  const params: [string, string | number | null][] = call
    ? [
        ['recordId', item.recordId],
        ['server', call.server],
        ['tool', call.tool],
        ['decision', call.decision],
        ['outcome', call.outcome ?? 'unknown'],
        ['protocolVersion', call.protocolVersion],
      ]
    : [
        ['recordId', item.recordId],
        ['treeSize', (item.record as ForwardedCheckpoint).treeSize],
      ];
  const severity = call ? callSeverity(call) : SEVERITY.notice;
  const pri = header.facility * 8 + severity;
  const timestamp = new Date(
    call ? call.tsMs : Date.parse((item.record as ForwardedCheckpoint).ts),
  ).toISOString();
  return (
    `<${pri}>1 ${timestamp} ${headerField(header.hostname, 255)} ${headerField(header.appName, 48)} ` +
    `${headerField(header.procId, 128)} ${headerField(item.kind, 32)} ` +
    `${structuredData(params)} ${BOM}${JSON.stringify(item.record)}`
  );
}

/** A message framed by octet counting: `<length in bytes> <message>` (RFC 6587 section 3.4.1). */
export function frameOctetCounted(message: string): Buffer {
  const bytes = Buffer.from(message, 'utf8');
  return Buffer.concat([Buffer.from(`${bytes.length} `, 'ascii'), bytes]);
}

/** warning for an error, notice for a refusal or a tool error, informational otherwise. */
function callSeverity(call: ForwardedCall): number {
  if (call.outcome === 'error' || call.outcome === null) return SEVERITY.warning;
  if (call.decision === 'deny' || call.outcome === 'tool_error') return SEVERITY.notice;
  return SEVERITY.informational;
}

/**
 * A header field: printable US-ASCII (33..126) only, at most `max` characters; anything else
 * becomes `_`, and an empty value the NILVALUE `-` (RFC 5424 section 6.2).
 */
export function headerField(value: string, max: number): string {
  const printable = value.replace(/[^\x21-\x7e]/g, '_').slice(0, max);
  return printable.length ? printable : '-';
}

/** A UTF-16 surrogate without its pair (not encodable as UTF-8). */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/**
 * One SD-ELEMENT with the params that have a value (RFC 5424 section 6.3). Control characters
 * and lone surrogates in a value become U+FFFD, so a message stays one line of valid UTF-8 for
 * receivers that write lines (the exact values are in the MSG's JSON).
 */
function structuredData(params: [string, string | number | null][]): string {
  const present = params.filter(([, value]) => value !== null);
  const clean = (value: string): string =>
    value.replace(LONE_SURROGATE, '\uFFFD').replace(/\p{Cc}/gu, '\uFFFD');
  return `[${SD_ID}${present.map(([name, value]) => ` ${name}="${escapeParamValue(clean(String(value)))}"`).join('')}]`;
}

/** PARAM-VALUE escaping: `"`, `\` and `]` get a backslash (RFC 5424 section 6.3.3). */
export function escapeParamValue(value: string): string {
  return value.replace(/["\\\]]/g, (c) => `\\${c}`);
}
