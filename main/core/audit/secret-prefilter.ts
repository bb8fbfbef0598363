/**
 * A test that no rule of secretlint's recommended preset can match a text, far cheaper than
 * running secretlint: a full run costs tens of µs even on a short text (rule contexts, events,
 * promises: 84 µs for a 30-character path, 100 µs for a URL, against 2-5 µs skipped), where
 * this is one regular expression. content-scanner.ts skips secretlint when it says no; when it
 * says maybe, secretlint decides as before. It may say maybe for text without a secret (a word
 * that holds `sk-`, a URL with a user name but no password); it must never say no for a text a
 * rule matches.
 *
 * Why it holds, rule by rule (@secretlint/secretlint-rule-preset-recommend 13.0.7, whose rule ids
 * {@link PREFILTERED_RULES} lists; a test fails when the preset's list changes). Every match of
 * every rule contains one of these literals, matched case-insensitively (the rules' patterns are
 * case-sensitive or list their cases, so this only says maybe more often):
 * - a token's fixed prefix: npm `npm_`; openai `sk-` (anthropic's `sk-ant-` holds it); groq
 *   `gsk_`; huggingface `hf_`; linear `lin_api_`; notion `ntn_`; shopify `shppa_`, `shpca_`,
 *   `shpat_`, `shpss_`; stripe `sk_` and `rk_` (`_live`, `_test`); github `ghp_`, `gho_`,
 *   `ghu_`, `ghs_`, `ghr_`, `github_pat_`; gitlab `glpat-`; grafana `glc_`, `glsa_`; 1password
 *   `ops_`; hashicorp-vault `hvs.`, `hvb.`, `hvr.`; vercel `vcp_`, `vci_`, `vca_`, `vcr_`,
 *   `vck_`; databricks `dapi`; docker `dckr_pat_`; figma `figd_`; cloudflare `cfk_`, `cfut_`,
 *   `cfat_`; tailscale `tskey-`; slack `xox` (`xoxb-` and the others) and `xapp`; sendgrid `SG.`;
 * - aws: its secret access key is reported only after a `secret_access_key` name (underscores
 *   optional, in any of its cases); its access key id and account id checks are off unless
 *   `enableIDScanRule`, which Warden does not set;
 * - a URL's user info, `://` then `@` with neither `/` nor white space between: basicauth
 *   (`user:password@`, both of `[-a-zA-Z0-9_]`) and database-connection-string (mongodb, mysql,
 *   postgres URIs, reported only with a user name and a password, neither holding `/` or white
 *   space);
 * - npm's x-oauth-basic URL holds `x-oauth-basic@`, slack's incoming webhook
 *   `hooks.slack.com/services/` (a URL without user info is not a secret to any rule);
 * - `PRIVATE KEY`: privatekey, gcp (a service-account JSON holds a PEM private key; its p12 check
 *   reads a .p12 file, never text);
 * - npm's `_authToken=`, though its rule reports it only in .npmrc files.
 * filter-comments reports nothing (it only silences the others).
 *
 * Matched on the whole text secretlint would get (the scanned strings joined by "\n\n"): no
 * literal spans a line break, so a text with none gets no message at all.
 */
const TRIGGER = new RegExp(
  [
    String.raw`npm_|sk-|sk_|rk_|gsk_|hf_|lin_api_|ntn_|shp(?:pa|ca|at|ss)_|gh[pousr]_|github_pat_`,
    String.raw`glpat-|glc_|glsa_|ops_|hv[sbr]\.|vc[piark]_|dapi|dckr_pat_|figd_|cf(?:k|ut|at)_|tskey-`,
    String.raw`xox|xapp|sg\.|secret_?access_?key|private key|_authtoken`,
    String.raw`:\/\/[^\s@\/]*@|x-oauth-basic@|hooks\.slack\.com\/services\/`,
  ].join('|'),
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
