import { scanText } from '../audit/content-scanner.ts';

/** Env and header names that hold credentials by convention. */
export const SECRET_KEY_NAME =
  /(TOKEN|KEY|SECRET|PASSWORD|PASSWD|CREDENTIAL|AUTH|COOKIE|PAT)(_|$)|^(authorization|x-api-key)$/i;

/** A plaintext secret found in a client config. */
export interface SecretFinding {
  where: 'env' | 'headers' | 'args';
  key: string;
  /** Why it looks secret: "key name" or the secret-scanning rule (e.g. @secretlint/secretlint-rule-github). */
  reason: string;
}

/**
 * Whether a value looks like a credential by the content scanner (audit/content-scanner.ts):
 * the maintained secret-scanning rules of secretlint's recommended preset (GitHub, Slack, AWS,
 * Anthropic, OpenAI, private keys, …), loaded on first use.
 * @returns the id of the rule that matched (e.g. @secretlint/secretlint-rule-github), or undefined.
 */
export async function scanValue(value: string): Promise<string | undefined> {
  if (value.length < 8 || value.includes('${secret:')) return undefined;
  const rule = (await scanText(value, { pii: false })).rules[0];
  return rule === undefined ? undefined : `@secretlint/secretlint-rule-${rule}`;
}

/** Plaintext secrets in one server entry's env and headers (by key name or by value). */
export async function findSecrets(entry: Record<string, unknown>): Promise<SecretFinding[]> {
  const findings: SecretFinding[] = [];
  for (const where of ['env', 'headers'] as const) {
    const record = entry[where];
    if (!record || typeof record !== 'object') continue;
    for (const [key, value] of Object.entries(record as Record<string, unknown>)) {
      if (
        typeof value !== 'string' ||
        !value ||
        value.includes('${secret:') ||
        /^\$\{?[A-Z_]+\}?$/.test(value)
      )
        continue;
      const rule = await scanValue(value.replace(/^Bearer\s+/i, ''));
      if (rule) findings.push({ where, key, reason: rule });
      else if (SECRET_KEY_NAME.test(key)) findings.push({ where, key, reason: 'key name' });
    }
  }
  return findings;
}
