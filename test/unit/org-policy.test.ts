import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  generateSigningKey,
  MAX_ORG_POLICY_BYTES,
  signOrgPolicy,
  verifyOrgPolicy,
  type TrustedKey,
} from '../../main/core/policy/org-policy.ts';

const DAY = 86_400_000;
const base = (version: number, expires = Date.now() + DAY) => ({
  org: 'acme',
  version,
  issuedAt: new Date().toISOString(),
  expires: new Date(expires).toISOString(),
  policy: { rules: [{ server: '*', tool: '*delete*', action: 'deny' as const }] },
  catalog: [
    {
      name: 'fs',
      description: 'files',
      command: 'npx',
      args: ['-y', '@modelcontextprotocol/server-filesystem@2026.8.31'],
    },
  ],
});

test('a signed org policy verifies with the trusted key; key rotation: any listed key works', async () => {
  const old = await generateSigningKey();
  const current = await generateSigningKey();
  const keys: TrustedKey[] = [old, current].map((k) => ({ kid: k.kid, jwk: k.publicJwk }));
  const verified = await verifyOrgPolicy(await signOrgPolicy(base(3), current.privateJwk), keys, {
    highestAccepted: 2,
  });
  assert.equal(verified.payload.version, 3);
  assert.equal(verified.kid, current.kid);
  assert.equal(verified.payload.catalog[0]?.name, 'fs');
  assert.equal((await verifyOrgPolicy(await signOrgPolicy(base(4), old.privateJwk), keys)).kid, old.kid);
});

test('rejected, each with its reason: tampered, unknown key, rollback, expired, oversized, not a JWS', async () => {
  const key = await generateSigningKey();
  const stranger = await generateSigningKey();
  const keys: TrustedKey[] = [{ kid: key.kid, jwk: key.publicJwk }];
  const jws = await signOrgPolicy(base(5), key.privateJwk);
  const [h, p, s] = jws.split('.');
  const tamperedPayload = Buffer.from(JSON.stringify({ ...base(5), policy: {} })).toString('base64url');
  await assert.rejects(verifyOrgPolicy(`${h}.${tamperedPayload}.${s}`, keys), /signature does not verify/);
  await assert.rejects(
    verifyOrgPolicy(await signOrgPolicy(base(5), stranger.privateJwk), keys),
    /which the managed policy does not trust/,
  );
  await assert.rejects(
    verifyOrgPolicy(jws, keys, { highestAccepted: 6 }),
    /version 5 is older than version 6, already accepted \(rollback\)/,
  );
  const expired = await signOrgPolicy(base(7, Date.now() - 2 * DAY), key.privateJwk);
  await assert.rejects(verifyOrgPolicy(expired, keys), /version 7 expired at/);
  const grace = await verifyOrgPolicy(expired, keys, { graceMs: 3 * DAY });
  assert.equal(grace.inGrace, true, 'an offline laptop keeps using it within the grace period');
  await assert.rejects(
    verifyOrgPolicy('x'.repeat(MAX_ORG_POLICY_BYTES + 1), keys),
    /over the 262144-byte limit/,
  );
  await assert.rejects(verifyOrgPolicy('not a jws', keys), /not a compact JWS/);
  await assert.rejects(verifyOrgPolicy(jws, keys, { expectedOrg: 'globex' }), /for org "acme", not "globex"/);
  assert.ok(p);
});

test('signing refuses an invalid payload', async () => {
  const key = await generateSigningKey();
  await assert.rejects(signOrgPolicy({ ...base(1), version: 0 }, key.privateJwk), /not a valid org policy/);
});
