/**
 * The prefilter that lets the content scanner skip secretlint (secret-prefilter.ts) must never say
 * "no" for a text secretlint's recommended rules match. Checked against secretlint itself (run
 * directly, without the prefilter): the preset's rule list is the one the reasoning covers, one
 * generated secret of every rule's shape is found by secretlint and kept by the prefilter, and,
 * over texts built from near-miss pieces (short prefixes, short runs, separators), every text the
 * prefilter rejects gets no message from secretlint.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { lintSource } from '@secretlint/core';
import { creator as recommended, rules } from '@secretlint/secretlint-rule-preset-recommend';
import { secretLintProfiler } from '@secretlint/profiler';
import { mayHoldSecret, PREFILTERED_RULES } from '../../main/core/audit/secret-prefilter.ts';

secretLintProfiler.setEnabled(false);

/** secretlint's messages for `content`, as content-scanner.ts runs it (but with no prefilter). */
async function secretlintRules(content: string): Promise<string[]> {
  const result = await lintSource({
    source: { filePath: '/content.txt', content, ext: '.txt', contentType: 'text' },
    options: {
      config: { rules: [{ id: '@secretlint/secretlint-rule-preset-recommend', rule: recommended }] },
    },
  });
  return result.messages.map((message) => message.ruleId);
}

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const HEX = '0123456789abcdef';
const pick = (alphabet: string, length: number, seed: number) =>
  Array.from({ length }, (_, i) => alphabet[(seed * 31 + i * 17 + ((i * i) % 7)) % alphabet.length]).join('');
const body = (length: number) => pick(ALNUM, length, length);

test('the preset has exactly the rules the prefilter reasons about', () => {
  assert.deepEqual(
    rules.map((rule) => rule.meta.id).sort(),
    [...PREFILTERED_RULES].sort(),
    'a rule was added to or removed from secretlint-rule-preset-recommend: read its patterns and update secret-prefilter.ts',
  );
});

/** A 1Password service-account token's shape: `ops_` and base64 of a JSON object, ending "fQ==". */
function opsToken(): string {
  for (let n = 80; ; n++) {
    const json = JSON.stringify({ email: 'a'.repeat(n) });
    if (json.length % 3 === 1) return `ops_${Buffer.from(json).toString('base64')}`;
  }
}

/**
 * One secret of each shape, built here from its rule's pattern (no real credential is written in
 * the repository); the slack and github-app ones are the shortest their rules allow.
 */
const SAMPLES: [rule: string, text: string][] = [
  ['aws', `aws_secret_access_key = "${body(40)}"`],
  ['aws', `"SecretAccessKey": "${body(40)}"`],
  ['aws', `AWS_SECRET_ACCESS_KEY=${body(40)}`],
  ['npm', `npm_${body(36)}`],
  ['slack', 'xoxb-a-b'],
  ['slack', `https://hooks.slack.com/services/T${body(9)}/B${body(9)}/${body(24)}`],
  ['basicauth', 'https://alice:wonder1and@example.com'],
  ['anthropic', `sk-ant-api03-${body(93)}AA`],
  ['groq', `gsk_${body(52)}`],
  ['openai', `sk-${body(20)}T3BlbkFJ${body(20)}`],
  ['huggingface', `hf_${pick('abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ', 34, 7)}`],
  ['notion', `ntn_${pick('0123456789', 11, 2)}${body(35)}`],
  ['grafana', `glc_${body(32)}`],
  ['grafana', `glsa_${body(32)}_${pick(HEX, 8, 3)}`],
  ['cloudflare', `cfk_${body(40)}${pick(HEX, 8, 4)}`],
  ['cloudflare', `cfut_${body(40)}${pick(HEX, 8, 5)}`],
  ['linear', `lin_api_${body(40)}`],
  ['sendgrid', `SG.${body(22)}.${body(43)}`],
  ['shopify', `shpat_${pick(HEX, 32, 5)}`],
  ['shopify', `shppa_${pick(HEX, 32, 6)}`],
  ['shopify', `shpca_${pick(HEX, 32, 7)}`],
  ['shopify', `shpss_${pick(HEX, 32, 8)}`],
  ['stripe', `sk_live_${body(24)}`],
  ['stripe', `rk_test_${body(30)}`],
  ['vercel', `vcp_${body(20)}`],
  ['vercel', `vck_${body(30)}`],
  ['github', `ghp_${body(36)}`],
  ['github', `gho_${body(36)}`],
  ['github', `ghu_${body(36)}`],
  ['github', `ghr_${body(36)}`],
  ['github', `github_pat_${body(82)}`],
  ['github', 'ghs_1_a.b.c'],
  ['gitlab', `glpat-${body(20)}`],
  ['database-connection-string', 'postgres://admin:s3cr3tpw@db.example.com/app'],
  ['hashicorp-vault', `hvs.${body(95)}`],
  ['hashicorp-vault', `hvb.${body(140)}`],
  ['databricks', `dapi${pick(HEX, 32, 9)}`],
  ['docker', `dckr_pat_${body(27)}`],
  ['figma', `figd_${body(40)}`],
  ['tailscale', `tskey-api-${body(12)}-${body(30)}`],
  ['slack', `xoxp-${pick('0123456789', 10, 3)}-${body(12)}`],
  ['1password', opsToken()],
  ['basicauth', `https://${body(20)}:x-oauth-basic@github.com/`],
  ['database-connection-string', 'mongodb://admin:s3cr3tpw@db.example.com/app'],
  ['database-connection-string', 'jdbc:mysql://admin:s3cr3tpw@db.example.com:3306/app'],
  ['basicauth', 'ftp://alice:wonder1and@files.example.com'],
];

test('a secret of every shape is found by secretlint and kept by the prefilter', async () => {
  const unfound: string[] = [];
  for (const [rule, text] of SAMPLES) {
    const found = await secretlintRules(text);
    if (!found.includes(`@secretlint/secretlint-rule-${rule}`))
      unfound.push(`${rule}: ${JSON.stringify(text)} (${found.join(', ') || 'nothing'})`);
    assert.equal(mayHoldSecret(text), true, `the prefilter rejected a ${rule} secret`);
  }
  assert.deepEqual(unfound, [], 'samples that are not what secretlint finds');
});

test('the prefilter rejects ordinary short text, and keeps what it must', () => {
  for (const text of [
    'Echo: m1234',
    'read-only tools (readOnlyHint) are allowed',
    'hello world',
    'read a file',
    'ok: 3 rows',
    'a-b c.d e_f',
    // Long runs without a rule's literal: a path, a hash, base64, a long word.
    '/Users/me/projects/warden/src/index.ts',
    'x'.repeat(200),
    pick(HEX, 64, 1),
    `${body(120)}==`,
    'aws_access_key_id = AKIAIOSFODNN7EXAMPLE',
    // URLs without user info.
    'https://example.com/a/b?c=d',
    'postgres://db.example.com:5432/app',
    'see https://github.com/x/y@main',
  ]) {
    assert.equal(mayHoldSecret(text), false, text);
  }
  for (const text of [
    'see http://a:b@x',
    'mongodb://u@x',
    'xapp-1',
    'sg.x',
    'GHS_',
    '_AUTHTOKEN',
    'Secret_AccessKey',
    'TSKEY-',
    'Dapi',
  ]) {
    assert.equal(mayHoldSecret(text), true, text);
  }
});

/** Pieces of would-be secrets: prefixes, short runs, separators and the characters rules use. */
const piece = fc.oneof(
  fc.constantFrom(
    'xoxb-',
    'xoxp-',
    'xapp-',
    'SG.',
    'ghs_',
    'ghp_',
    'npm_',
    '_authToken=',
    'AKIA',
    'sk-',
    'sk-ant-',
    'glpat-',
    'hvs.',
    'dapi',
    'tskey-',
    'https://',
    'mongodb://',
    ':',
    '@',
    '=',
    ' = ',
    '"',
    "'",
    '\n',
    '\n\n',
    ' ',
    '/',
    '.',
    '-',
    '_',
    'aws_secret_access_key',
    'PRIVATE KEY',
    '-----BEGIN ',
    // Each literal of the prefilter with its last character changed or cut: a near miss.
    'npm',
    'sk',
    'sk~',
    'rk',
    'hf',
    'lin_api',
    'ntn',
    'shpat',
    'shpxx_',
    'gh_',
    'ghx_',
    'github_pat',
    'glpat',
    'glc',
    'glsa',
    'ops',
    'hvs',
    'hvx.',
    'vc_',
    'vcx_',
    'dap',
    'dckr_pat',
    'figd',
    'cf_',
    'cfx_',
    'tskey',
    'xo',
    'xap',
    'SG',
    'secret_access',
    'access_key',
    'secret_accesskez',
    ':/',
    'PRIVATE KE',
    '_authToke',
    'x-oauth-basic',
    'hooks.slack.com/services',
    'mysql://',
    'postgres://',
    'ftp://',
  ),
  fc.string({ unit: fc.constantFrom(...ALNUM, '-', '_', '.', '/', '+', '='), maxLength: 26 }),
  fc.string({ unit: fc.constantFrom(...ALNUM, '-', '_'), minLength: 20, maxLength: 140 }),
  fc.string({ unit: fc.constantFrom(...'0123456789-'), maxLength: 15 }),
);
const nearMiss = fc.array(piece, { maxLength: 8 }).map((parts) => parts.join(''));

test('over near-miss texts, every text the prefilter rejects gets nothing from secretlint', async () => {
  let rejected = 0;
  await fc.assert(
    fc.asyncProperty(nearMiss, async (text) => {
      if (mayHoldSecret(text)) return;
      rejected += 1;
      assert.deepEqual(
        await secretlintRules(text),
        [],
        `secretlint finds a secret the prefilter rejected: ${JSON.stringify(text)}`,
      );
    }),
    { numRuns: 1500 },
  );
  // The property is only worth something if it exercised the rejecting side.
  assert.ok(rejected > 100, `only ${rejected} generated texts were rejected`);
});
