/**
 * The content scanner (audit redaction and results masking): secretlint's recommended rules,
 * PEM private keys of any size, exact injected values, key names; personal data detection.
 * Properties with fast-check over open-ended JSON: no planted secret survives anywhere in the
 * output, and everything that is not a secret keeps its place and value.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { test } from 'node:test';
import fc from 'fast-check';
import { scanJson, scanText } from '../../main/core/audit/content-scanner.ts';
import { findPii } from '../../main/core/audit/pii.ts';
import { REDACTED } from '../../main/core/audit/redact.ts';

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const alnum = (length: number) =>
  fc.string({ unit: fc.constantFrom(...ALNUM), minLength: length, maxLength: length });

/** Secrets of the kinds the must-show names, generated (never written whole in the repository). */
const githubToken = alnum(36).map((body) => ({ value: `ghp_${body}`, rule: 'github' }));
const slackToken = fc
  .tuple(fc.stringMatching(/^[0-9]{12}$/), fc.stringMatching(/^[0-9]{13}$/), alnum(24))
  .map(([a, b, c]) => ({ value: `xoxb-${a}-${b}-${c}`, rule: 'slack' }));
const ED25519_KEY = generateKeyPairSync('ed25519')
  .privateKey.export({ type: 'pkcs8', format: 'pem' })
  .toString();
const RSA_KEY = generateKeyPairSync('rsa', { modulusLength: 1024 })
  .privateKey.export({ type: 'pkcs1', format: 'pem' })
  .toString();
const privateKey = fc.constantFrom(ED25519_KEY, RSA_KEY).map((value) => ({ value, rule: 'privatekey' }));
const secret = fc.oneof(githubToken, slackToken, privateKey);

/** Text no rule matches: lower-case words and spaces. */
const plainText = fc.stringMatching(/^[a-z ]{0,40}$/);
/** Keys that are not secret-looking. */
const plainKey = fc.constantFrom('message', 'path', 'items', 'count', 'name', 'query', 'note', '__proto__');

/** A JSON value with a secret planted in some strings (`{secret}` marks where). */
const planted = fc.letrec<{ node: unknown }>((tie) => ({
  node: fc.oneof(
    { depthSize: 'small' },
    plainText,
    fc.integer(),
    fc.boolean(),
    fc.constant(null),
    fc.tuple(plainText, secret, plainText).map(([a, s, b]) => ({ planted: s, before: a, after: b })),
    fc.array(tie('node'), { maxLength: 4 }),
    fc.dictionary(plainKey, tie('node'), { maxKeys: 4 }),
  ),
}));

type Planted = { planted: { value: string; rule: string }; before: string; after: string };
const isPlanted = (v: unknown): v is Planted => typeof v === 'object' && v !== null && 'planted' in v;

/** The JSON the scanner is given: each planted secret inside its text. */
function materialize(node: unknown): unknown {
  if (isPlanted(node)) return `${node.before} ${node.planted.value} ${node.after}`;
  if (Array.isArray(node)) return node.map(materialize);
  if (node && typeof node === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(node))
      Object.defineProperty(out, k, {
        value: materialize(v),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    return out;
  }
  return node;
}

/** What the output must be: each planted secret replaced by its mark, the rest as it was. */
function expected(node: unknown): unknown {
  if (isPlanted(node)) {
    const tail = node.planted.rule === 'privatekey' && node.planted.value.endsWith('\n') ? '\n' : '';
    return `${node.before} [REDACTED:${node.planted.rule}]${tail} ${node.after}`;
  }
  if (Array.isArray(node)) return node.map(expected);
  if (node && typeof node === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(node))
      Object.defineProperty(out, k, {
        value: expected(v),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    return out;
  }
  return node;
}

function plantedSecrets(node: unknown): { value: string; rule: string }[] {
  if (isPlanted(node)) return [node.planted];
  if (Array.isArray(node)) return node.flatMap(plantedSecrets);
  if (node && typeof node === 'object') return Object.values(node).flatMap(plantedSecrets);
  return [];
}

test('property: no planted secret survives anywhere in the output, and the rest keeps its structure and values', async () => {
  await fc.assert(
    fc.asyncProperty(planted.node, async (node) => {
      const input = materialize(node);
      const result = await scanJson(input, { keyNames: true });
      const out = JSON.stringify(result.value);
      const secrets = plantedSecrets(node);
      for (const s of secrets) {
        assert.ok(!out.includes(s.value), `a ${s.rule} secret survived`);
        for (const line of s.value.split('\n').filter((l) => l.length > 20))
          assert.ok(!out.includes(line), 'a line of a private key survived');
      }
      assert.deepEqual(result.value, expected(node));
      assert.deepEqual(result.rules, [...new Set(secrets.map((s) => s.rule))].sort());
      assert.equal(result.sensitiveDataDetected, secrets.length > 0);
    }),
    { numRuns: 150 },
  );
});

test('property: exact injected values are found however they are embedded, also JSON-escaped and base64', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.string({ minLength: 4, maxLength: 24 }).filter((v) => v.trim().length >= 4),
      plainText,
      fc.constantFrom('raw', 'json', 'base64'),
      async (value, around, form) => {
        const shown =
          form === 'raw'
            ? value
            : form === 'json'
              ? JSON.stringify(value).slice(1, -1)
              : Buffer.from(value).toString('base64').replace(/=+$/, '');
        const result = await scanJson(
          { content: [{ type: 'text', text: `${around}${shown}${around}` }] },
          { exactValues: [['API_TOKEN', value]], pii: false },
        );
        assert.ok(!JSON.stringify(result.value).includes(JSON.stringify(shown).slice(1, -1)));
        assert.ok(result.rules.includes('injected:API_TOKEN'));
      },
    ),
    { numRuns: 150 },
  );
});

test('values of secret-looking keys become "[redacted]" with keyNames, and are kept without', async () => {
  const input = { password: 'hunter2', api_key: 42, max_tokens: 100, nested: [{ Authorization: 'Basic x' }] };
  const withKeys = await scanJson(input, { keyNames: true });
  assert.deepEqual(withKeys.value, {
    password: REDACTED,
    api_key: REDACTED,
    max_tokens: 100,
    nested: [{ Authorization: REDACTED }],
  });
  assert.deepEqual(withKeys.rules, ['key-name']);
  const without = await scanJson(input);
  assert.deepEqual(without.value, input);
  assert.equal(without.sensitiveDataDetected, false);
});

test('property: plain JSON is read where it is, and scans exactly as its copy does; it is copied only when a secret is found', async () => {
  await fc.assert(
    fc.asyncProperty(planted.node, fc.boolean(), fc.boolean(), async (node, keyNames, pii) => {
      const input = materialize(node);
      const options = { keyNames, pii, exactValues: [['TOKEN', 'before after'] as const] };
      const read = await scanJson(input, options);
      // A toJSON makes the scanner copy: what it gives is what the copy says.
      const copied = await scanJson({ toJSON: () => input }, options);
      assert.deepEqual(read, { ...copied, value: read.value });
      assert.deepEqual(read.value, copied.value);
      if (read.value === input)
        assert.ok(!read.sensitiveDataDetected, 'the input itself is given back only when nothing was found');
      if (read.sensitiveDataDetected) assert.notEqual(read.value, input, 'what is replaced is a copy');
    }),
    { numRuns: 150 },
  );
});

test('the input is never mutated; cycles, depth and toJSON are handled as redact.ts does', async () => {
  const input: Record<string, unknown> = { when: new Date('2026-01-01T00:00:00Z'), text: 'x' };
  input.self = input;
  const result = await scanJson(input);
  assert.deepEqual(result.value, { when: '2026-01-01T00:00:00.000Z', text: 'x', self: '[circular]' });
  assert.ok(input.when instanceof Date);
});

test('a private key cut off before its END line is redacted to the end of the text', async () => {
  const cut = ED25519_KEY.slice(0, 60);
  const { value, rules } = await scanText(`key: ${cut}`);
  assert.equal(value, 'key: [REDACTED:privatekey]');
  assert.deepEqual(rules, ['privatekey']);
});

test('personal data: emails, international phone numbers, Luhn-valid cards and IBANs; near misses are not', () => {
  assert.deepEqual(findPii(['mail jane.doe@example.com']), ['email']);
  assert.deepEqual(findPii(['call +49 170 1234567']), ['phone']);
  assert.deepEqual(findPii(['card 4111 1111 1111 1111']), ['card']);
  assert.deepEqual(findPii(['iban DE89 3704 0044 0532 0130 00']), ['iban']);
  assert.deepEqual(findPii(['card 4111 1111 1111 1112', 'iban DE89 3704 0044 0532 0130 01']), []);
  assert.deepEqual(findPii(['order 1234567890123', 'version 1.2.3', 'user@localhost']), []);
});

test('scanJson reports personal data in any string; pii: false skips it', async () => {
  const found = await scanJson({ to: ['a@example.org'] });
  assert.equal(found.piiDetected, true);
  assert.deepEqual(found.pii, ['email']);
  assert.deepEqual(found.value, { to: ['a@example.org'] }, 'personal data is detected, not replaced');
  assert.equal((await scanJson({ to: 'a@example.org' }, { pii: false })).piiDetected, false);
});
