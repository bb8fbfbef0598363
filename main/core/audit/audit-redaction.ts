import canonicalize from 'canonicalize';
import { createHmac, createSecretKey, type KeyObject } from 'node:crypto';
import { describeError, WardenError } from '../errors.ts';
import { scanJson, type ScanOptions, type ScanResult } from './content-scanner.ts';

/** The scanner the audit log redacts with (content-scanner.ts; replaceable in tests). */
export type AuditScanner = (value: unknown, options: ScanOptions) => Promise<ScanResult>;

/**
 * Where the key of the arguments HMAC comes from: 32 or more random bytes kept in the OS
 * keychain (generated on first use), or undefined when there is no keychain (rows then carry no
 * HMAC; the caller says so in the log). Called once, on the first row written.
 */
export type HmacKeySource = () => Promise<Buffer | undefined>;

/** Options of {@link AuditRedaction}. */
export interface AuditRedactionOptions {
  /** The key of the arguments HMAC (absent: no HMAC). */
  hmacKey?: HmacKeySource;
  /** The content scanner (default: scanJson). */
  scan?: AuditScanner;
}

/** What a row holds of a call once redacted. */
export interface RedactedCall {
  /** The arguments as stored: redacted JSON text, or null when the call had none. */
  arguments: string | null;
  /** The reason, redacted. */
  reason: string | null;
  /** The error text (refusals), redacted. */
  error: string | null;
  /** Hex HMAC-SHA-256 of the raw arguments' RFC 8785 canonical JSON; null without a key or arguments. */
  argumentsHmac: string | null;
  /** Whether a secret was found in any of them. */
  sensitiveDataDetected: boolean;
  /** Whether personal data was found in any of them. */
  piiDetected: boolean;
}

/** A text once redacted, with what was found in it. */
export interface RedactedText {
  text: string | null;
  sensitiveDataDetected: boolean;
  piiDetected: boolean;
}

/**
 * Redaction at audit write time (issue 13 item 3): what the audit log stores of a call is
 * scanned by the content scanner first, with key names, and only the redacted copy is written.
 * The raw arguments leave only as a keyed HMAC (for correlating calls with the same arguments
 * without keeping them). A scan that throws is the caller's to fail closed on.
 */
export class AuditRedaction {
  readonly #scan: AuditScanner;
  readonly #keySource: HmacKeySource | undefined;
  /**
   * The HMAC key, imported once as a KeyObject: createHmac with a Buffer key imports it into
   * OpenSSL on every call, which cost 31 µs a call against 4.7 µs with the KeyObject (Node 24,
   * OpenSSL 3), on the path of every tools/call (the INSERT waits for its redaction).
   */
  #key: Promise<KeyObject | undefined> | undefined;

  constructor(options: AuditRedactionOptions = {}) {
    this.#scan = options.scan ?? scanJson;
    this.#keySource = options.hmacKey;
  }

  /**
   * The stored form of a call's arguments, reason and (refusal) error text.
   * @throws WardenError AUDIT_FAILED "could not redact …" when the scanner throws (nothing of the
   *   call may be stored but what is known to be safe; see AuditLog).
   */
  async call(args: unknown, reason: string | null, error: string | null): Promise<RedactedCall> {
    let scanned: ScanResult;
    try {
      scanned = await this.#scan({ args, reason, error }, { keyNames: true });
    } catch (cause) {
      throw redactionFailed(cause);
    }
    const value = scanned.value as { args: unknown; reason: unknown; error: unknown };
    return {
      arguments: args === undefined ? null : (JSON.stringify(value.args) ?? null),
      reason: typeof value.reason === 'string' ? value.reason : null,
      error: typeof value.error === 'string' ? value.error : null,
      argumentsHmac: args === undefined ? null : await this.#hmac(args),
      sensitiveDataDetected: scanned.sensitiveDataDetected,
      piiDetected: scanned.piiDetected,
    };
  }

  /**
   * The stored form of an outcome's error text.
   * @throws WardenError AUDIT_FAILED when the scanner throws.
   */
  async text(text: string | null): Promise<RedactedText> {
    if (text === null) return { text, sensitiveDataDetected: false, piiDetected: false };
    try {
      const scanned = await this.#scan(text, { keyNames: true });
      return {
        text: scanned.value as string,
        sensitiveDataDetected: scanned.sensitiveDataDetected,
        piiDetected: scanned.piiDetected,
      };
    } catch (cause) {
      throw redactionFailed(cause);
    }
  }

  async #hmac(args: unknown): Promise<string | null> {
    this.#key ??= this.#keySource
      ? this.#keySource().then(
          (bytes) => (bytes ? createSecretKey(bytes) : undefined),
          () => undefined,
        )
      : Promise.resolve(undefined);
    const key = await this.#key;
    if (!key) return null;
    let canonical: string | undefined;
    try {
      canonical = canonicalize(args);
    } catch {
      // Not JSON (a BigInt, a cycle): no HMAC for it.
      canonical = undefined;
    }
    if (canonical === undefined) return null;
    return createHmac('sha256', key).update(canonical).digest('hex');
  }
}

function redactionFailed(cause: unknown): WardenError {
  return new WardenError(
    'AUDIT_FAILED',
    `could not redact the call for the audit log: ${describeError(cause)}`,
    {
      cause,
    },
  );
}
