import type { ScanResult } from '../../main/core/audit/content-scanner.ts';
import { redactSecrets } from '../../main/core/audit/redact.ts';

/**
 * The audit redaction as it was before issue 13, for the benches' "off" rows: key names only
 * (redact.ts), never throws, finds nothing in content, no personal data.
 */
export function keyNamesOnly(value: unknown): Promise<ScanResult> {
  return Promise.resolve({
    value: redactSecrets(value),
    rules: [],
    sensitiveDataDetected: false,
    pii: [],
    piiDetected: false,
  });
}
