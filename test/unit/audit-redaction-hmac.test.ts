/**
 * The arguments HMAC of AuditRedaction: HMAC-SHA-256 (RFC 2104) keyed with the bytes the key
 * source gave, over the arguments' RFC 8785 canonical JSON, in hex. The reference is node's
 * createHmac with the raw key bytes, over canonicalize's output, for any JSON arguments
 * (fast-check); and the RFC 4231 test case 2 key, so the key is taken as bytes and not as text.
 */
import assert from 'node:assert/strict';
import { createHmac, randomBytes } from 'node:crypto';
import { test } from 'node:test';
import canonicalize from 'canonicalize';
import fc from 'fast-check';
import { AuditRedaction } from '../../main/core/audit/audit-redaction.ts';

const reference = (key: Buffer, args: unknown): string =>
  createHmac('sha256', key).update(canonicalize(args)!).digest('hex');

test('the arguments HMAC is HMAC-SHA-256 of the canonical JSON under the key bytes, for any JSON arguments', async () => {
  const key = randomBytes(32);
  const redaction = new AuditRedaction({ hmacKey: () => Promise.resolve(key) });
  await fc.assert(
    fc.asyncProperty(fc.dictionary(fc.string(), fc.jsonValue()), async (args) => {
      const { argumentsHmac } = await redaction.call(args, null, null);
      assert.equal(argumentsHmac, reference(key, args));
    }),
    { numRuns: 300 },
  );
});

test('the HMAC key is used as bytes: RFC 4231 test case 2 key ("Jefe"), and a key of 200 bytes', async () => {
  const args = { what: 'do ya want for nothing?' };
  for (const key of [Buffer.from('4a656665', 'hex'), randomBytes(200)]) {
    const redaction = new AuditRedaction({ hmacKey: () => Promise.resolve(key) });
    const { argumentsHmac } = await redaction.call(args, null, null);
    assert.equal(argumentsHmac, reference(key, args));
  }
  // RFC 4231 section 4.3: HMAC-SHA-256("Jefe", "what do ya want for nothing?").
  assert.equal(
    createHmac('sha256', Buffer.from('Jefe')).update('what do ya want for nothing?').digest('hex'),
    '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843',
  );
});

test('no key, a key source that fails, or no arguments: no HMAC', async () => {
  assert.equal((await new AuditRedaction().call({ a: 1 }, null, null)).argumentsHmac, null);
  const failing = new AuditRedaction({ hmacKey: () => Promise.reject(new Error('no keychain')) });
  assert.equal((await failing.call({ a: 1 }, null, null)).argumentsHmac, null);
  const keyed = new AuditRedaction({ hmacKey: () => Promise.resolve(randomBytes(32)) });
  assert.equal((await keyed.call(undefined, null, null)).argumentsHmac, null);
  const empty = new AuditRedaction({ hmacKey: () => Promise.resolve(undefined) });
  assert.equal((await empty.call({ a: 1 }, null, null)).argumentsHmac, null);
});
