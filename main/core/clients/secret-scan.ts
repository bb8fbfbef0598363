import { lazyImport } from '../lazy-module.ts';

/** secretlint and its recommended rules, loaded by the first scan. */
const secretlint = lazyImport('@secretlint/core', 'the secret scanner', async () => {
  const [core, preset] = await Promise.all([
    import('@secretlint/core'),
    import('@secretlint/secretlint-rule-preset-recommend'),
  ]);
  return { lintSource: core.lintSource, recommendedRules: preset.creator };
});

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
 * Whether a value looks like a credential by the maintained secret-scanning rules of secretlint's
 * recommended preset (GitHub, Slack, AWS, Anthropic, OpenAI, private keys, …).
 * @returns the id of the rule that matched, or undefined.
 */
export async function scanValue(value: string): Promise<string | undefined> {
  if (value.length < 8 || value.includes('${secret:')) return undefined;
  const { lintSource, recommendedRules } = await secretlint();
  const result = await lintSource({
    source: { filePath: '/value.txt', content: value, ext: '.txt', contentType: 'text' },
    options: {
      config: { rules: [{ id: '@secretlint/secretlint-rule-preset-recommend', rule: recommendedRules }] },
    },
  });
  return result.messages[0]?.ruleId;
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
