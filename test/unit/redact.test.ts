import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  CIRCULAR,
  isSecretKey,
  MAX_REDACT_DEPTH,
  REDACTED,
  redactSecrets,
  SECRET_KEY_PATTERN,
  TRUNCATED,
} from '../../main/core/audit/redact.ts';

test('secret-looking keys are recognised whatever their case and separators', () => {
  const secret = [
    'password',
    'Password',
    'db_password',
    'passwd',
    'passphrase',
    'secret',
    'client_secret',
    'clientSecret',
    'token',
    'GITHUB_TOKEN',
    'accessToken',
    'refresh_token',
    'session_token',
    'api_key',
    'apikey',
    'apiKey',
    'x-api-key',
    'API-KEY',
    'authorization',
    'Authorization',
    'auth',
    'oauth',
    'x-auth-token',
    'authentication',
    'credential',
    'credentials',
    'private_key',
    'privateKey',
    'access_key',
    'AWS_ACCESS_KEY_ID',
    'cookie',
    'Set-Cookie',
    'bearer',
    'jwt',
  ];
  for (const key of secret) assert.equal(isSecretKey(key), true, key);
});

test('ordinary keys, author and LLM token counts are not secret', () => {
  const plain = [
    'path',
    'message',
    'name',
    'key',
    'author',
    'authority',
    'session_id',
    'max_tokens',
    'maxTokens',
    'prompt_tokens',
    'token_count',
    'tokenizer',
    'content',
  ];
  for (const key of plain) assert.equal(isSecretKey(key), false, key);
});

test('the exported key pattern is case-insensitive', () => {
  assert.equal(SECRET_KEY_PATTERN.flags.includes('i'), true);
  assert.equal(SECRET_KEY_PATTERN.test('MY_SECRET'), true);
});

test('values of nested secret keys are redacted and everything else is kept', () => {
  const input = {
    path: '/tmp/notes.txt',
    options: { headers: { Authorization: 'Bearer abc', Accept: 'text/plain' }, retries: 3 },
    accounts: [
      { user: 'ann', password: 'hunter2' },
      { user: 'bob', apiKey: 'sk-123', tags: ['a', 'b'] },
    ],
    credentials: { user: 'x', nested: { deep: 1 } },
    token: null,
    enabled: true,
  };
  assert.deepEqual(redactSecrets(input), {
    path: '/tmp/notes.txt',
    options: { headers: { Authorization: REDACTED, Accept: 'text/plain' }, retries: 3 },
    accounts: [
      { user: 'ann', password: REDACTED },
      { user: 'bob', apiKey: REDACTED, tags: ['a', 'b'] },
    ],
    credentials: REDACTED,
    token: REDACTED,
    enabled: true,
  });
});

test('the input is not mutated and the result is a copy', () => {
  const input = { a: { password: 'p' }, list: [{ token: 't' }] };
  const before = structuredClone(input);
  const output = redactSecrets(input) as typeof input;
  assert.deepEqual(input, before);
  assert.notEqual(output, input);
  assert.notEqual(output.a, input.a);
  assert.notEqual(output.list, input.list);
});

test('primitives and top-level arrays pass through', () => {
  assert.equal(redactSecrets('password'), 'password');
  assert.equal(redactSecrets(42), 42);
  assert.equal(redactSecrets(null), null);
  assert.equal(redactSecrets(undefined), undefined);
  assert.deepEqual(redactSecrets([1, { secret: 's' }, 'x']), [1, { secret: REDACTED }, 'x']);
});

test('values with toJSON are taken as JSON.stringify would', () => {
  const date = new Date('2025-06-01T00:00:00Z');
  assert.deepEqual(redactSecrets({ when: date }), { when: '2025-06-01T00:00:00.000Z' });
});

test('__proto__ keys from JSON stay own data, never a prototype', () => {
  const input = JSON.parse('{"__proto__": {"polluted": true}, "a": 1}') as unknown;
  const output = redactSecrets(input) as Record<string, unknown>;
  assert.equal(Object.getPrototypeOf(output), Object.prototype);
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
  assert.deepEqual(Object.keys(output), ['__proto__', 'a']);
  assert.equal(JSON.stringify(output), '{"__proto__":{"polluted":true},"a":1}');
});

test('cycles become "[circular]" and shared references are copied', () => {
  const shared = { v: 1 };
  const cyclic: Record<string, unknown> = { name: 'root', left: shared, right: shared };
  cyclic.self = cyclic;
  cyclic.list = [cyclic];
  assert.deepEqual(redactSecrets(cyclic), {
    name: 'root',
    left: { v: 1 },
    right: { v: 1 },
    self: CIRCULAR,
    list: [CIRCULAR],
  });
});

test('objects nested deeper than 32 levels become "[truncated]"', () => {
  const nest = (levels: number): unknown => {
    let value: unknown = { leaf: true };
    for (let i = 0; i < levels; i++) value = i % 2 ? [value] : { child: value };
    return value;
  };
  // Walks down to a depth and returns what is there.
  const at = (value: unknown, depth: number): unknown => {
    let current = value;
    for (let i = 0; i < depth; i++) {
      current = Array.isArray(current) ? current[0] : (current as { child: unknown }).child;
    }
    return current;
  };
  const output = redactSecrets(nest(40));
  assert.equal(typeof at(output, MAX_REDACT_DEPTH), 'object');
  assert.equal(at(output, MAX_REDACT_DEPTH + 1), TRUNCATED);
  // Exactly at the limit, nothing is lost.
  assert.deepEqual(redactSecrets(nest(MAX_REDACT_DEPTH)), nest(MAX_REDACT_DEPTH));
});
