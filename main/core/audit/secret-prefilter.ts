/**
 * A test that no rule of secretlint's recommended preset can match a text, far cheaper than
 * running secretlint: a full run costs tens of µs even on a short text (rule contexts, events,
 * promises), where this is one regular expression. content-scanner.ts skips secretlint when it
 * says no; when it says maybe, secretlint decides as before. It may say maybe for text without
 * a secret (a file path, a long word); it must never say no for a text a rule matches.
 *
 * Why it holds, rule by rule (@secretlint/secretlint-rule-preset-recommend 13.0.7, whose rule ids
 * {@link PREFILTERED_RULES} lists; a test fails when the preset's list changes). Every match of
 * every rule contains one of:
 * - a run of {@link MIN_TOKEN_RUN} (20) or more characters of `[A-Za-z0-9_+/=.-]`: aws (secret
 *   access key 40; its access key id and account id checks are off unless `enableIDScanRule`,
 *   which Warden does not set), npm access token (40),
 *   openai, anthropic, groq, huggingface, linear, notion, shopify, stripe, github (classic and
 *   fine-grained), gitlab, grafana, 1password, hashicorp-vault, vercel, databricks, docker, figma,
 *   cloudflare, tailscale, sendgrid (reported only at 69 characters): each is a fixed prefix and
 *   a body, 24 such characters at the least (vercel's `vcp_` and 20);
 * - `://`: basicauth, npm's x-oauth-basic URL, slack's incoming webhook, database-connection-string
 *   (mongodb, mysql, postgres URIs);
 * - `PRIVATE KEY`: privatekey, gcp (a service-account JSON holds a PEM private key; its p12 check
 *   reads a .p12 file, never text);
 * - a short prefix the body of which may be shorter than 20: slack tokens (`xox?-`, `xapp-`),
 *   github app installation tokens (`ghs_`); and, though their rules never report them in the
 *   text content-scanner.ts scans, sendgrid's `SG.` and npm's `_authToken=` (.npmrc files only).
 * filter-comments reports nothing (it only silences the others).
 *
 * Matched case-insensitively, and on the whole text secretlint would get (the scanned strings
 * joined by "\n\n"): no trigger spans a line break, so a text with none gets no message at all.
 */
export const MIN_TOKEN_RUN = 20;

const TRIGGER = new RegExp(
  String.raw`[A-Za-z0-9_+/=.\-]{${MIN_TOKEN_RUN},}|:\/\/|private key|xox|xapp|sg\.|ghs_|_authtoken`,
  'i',
);

/** The rule ids of the preset the reasoning above covers. */
export const PREFILTERED_RULES = [
  'aws',
  'gcp',
  'npm',
  'slack',
  'basicauth',
  'openai',
  'anthropic',
  'groq',
  'huggingface',
  'linear',
  'notion',
  'privatekey',
  'sendgrid',
  'shopify',
  'stripe',
  'github',
  'gitlab',
  'grafana',
  '1password',
  'database-connection-string',
  'hashicorp-vault',
  'vercel',
  'databricks',
  'docker',
  'figma',
  'cloudflare',
  'tailscale',
  'filter-comments',
].map((rule) => `@secretlint/secretlint-rule-${rule}`);

/**
 * Whether secretlint's recommended rules could find anything in `text`.
 * @returns false only when no rule can match (see the module comment); true means "scan it".
 */
export function mayHoldSecret(text: string): boolean {
  return TRIGGER.test(text);
}
