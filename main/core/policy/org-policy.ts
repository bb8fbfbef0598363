import type { JWK, ProtectedHeaderParameters } from 'jose';
import { z } from 'zod';
import { serverNameSchema } from '../config/schema.ts';
import { WardenError } from '../errors.ts';
import { policyDocumentSchema } from '../config/policy-schema.ts';
import { lazyImport } from '../lazy-module.ts';

/** jose, loaded by the first signature checked or made (a daemon without org policy never is). */
const jose = lazyImport('jose', 'the JWS library', () => import('jose'));

/**
 * Signed org policy: a JSON document an org's IT signs as a compact JWS (EdDSA, Ed25519; RFC
 * 7515, RFC 8037) and hosts on any static web server. Laptops verify it against the keys the
 * managed policy trusts.
 */

/** Largest signed document accepted, bytes (256 KiB). */
export const MAX_ORG_POLICY_BYTES = 256 * 1024;

/** The JWS `typ` of an org policy. */
export const ORG_POLICY_TYP = 'mcp-warden-policy+jws';

/** A server IT approved: what `catalog install` puts into a client, already pinned. */
export const catalogEntrySchema = z
  .strictObject({
    name: serverNameSchema.describe(
      'the server name it is installed under (same rules as `mcpServers` keys)',
    ),
    description: z.string().max(500),
    command: z.string().min(1).optional(),
    args: z.array(z.string()).optional(),
    url: z.url({ protocol: /^https?$/ }).optional(),
  })
  .refine((e) => (e.command === undefined) !== (e.url === undefined), {
    message: 'a catalog entry has either "command" or "url"',
  });

export const orgPolicyPayloadSchema = z.strictObject({
  org: z.string().min(1).max(200),
  /** Monotonic: a laptop never accepts a lower version than the highest it accepted. */
  version: z.int().positive(),
  issuedAt: z.iso.datetime(),
  expires: z.iso.datetime(),
  policy: policyDocumentSchema,
  catalog: z.array(catalogEntrySchema).default([]),
});

export type OrgPolicyPayload = z.output<typeof orgPolicyPayloadSchema>;
export type OrgPolicyInput = z.input<typeof orgPolicyPayloadSchema>;
export type CatalogEntry = z.output<typeof catalogEntrySchema>;

/** A public key the managed policy trusts, by key id (`kid`, the JWK thumbprint). */
export interface TrustedKey {
  kid: string;
  jwk: JWK;
}

export interface VerifiedOrgPolicy {
  payload: OrgPolicyPayload;
  kid: string;
  /** Past `expires` but within the grace period for laptops that were offline. */
  inGrace: boolean;
}

function reject(why: string): WardenError {
  return new WardenError('ORG_POLICY_REJECTED', why);
}

/**
 * Verifies a signed org policy.
 * @param options.highestAccepted the highest version accepted before (rollback protection).
 * @param options.graceMs how long past `expires` a document is still used, ms.
 * @param options.now ms since epoch.
 * @throws WardenError ORG_POLICY_REJECTED saying why: oversized, not a JWS, wrong algorithm,
 *   unknown key, bad signature, invalid payload, another org, rollback, expired.
 */
export async function verifyOrgPolicy(
  jws: string,
  keys: readonly TrustedKey[],
  options: { highestAccepted?: number; graceMs?: number; now?: number; expectedOrg?: string } = {},
): Promise<VerifiedOrgPolicy> {
  const size = Buffer.byteLength(jws);
  if (size > MAX_ORG_POLICY_BYTES)
    throw reject(`the document is ${size} bytes, over the ${MAX_ORG_POLICY_BYTES}-byte limit`);
  const { compactVerify, decodeProtectedHeader, importJWK } = await jose();
  let header: ProtectedHeaderParameters;
  try {
    header = decodeProtectedHeader(jws.trim());
  } catch {
    throw reject('the document is not a compact JWS');
  }
  if (header.alg !== 'EdDSA' && header.alg !== 'Ed25519')
    throw reject(`it is signed with ${String(header.alg)}, not EdDSA`);
  const key = keys.find((k) => k.kid === header.kid);
  if (!key)
    throw reject(
      `it is signed with key "${String(header.kid)}", which the managed policy does not trust (trusted: ${keys.map((k) => k.kid).join(', ') || 'none'})`,
    );
  let payloadBytes: Uint8Array;
  try {
    const verified = await compactVerify(jws.trim(), await importJWK(key.jwk, 'EdDSA'), {
      algorithms: ['EdDSA', 'Ed25519'],
    });
    payloadBytes = verified.payload;
  } catch {
    throw reject(
      `the signature does not verify with key "${key.kid}" (the document was altered or signed with another key)`,
    );
  }
  let raw: unknown;
  try {
    raw = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(payloadBytes));
  } catch {
    throw reject('the signed payload is not JSON');
  }
  const parsed = orgPolicyPayloadSchema.safeParse(raw);
  if (!parsed.success)
    throw reject(`the signed payload is not a valid org policy:\n${z.prettifyError(parsed.error)}`);
  const payload = parsed.data;
  if (options.expectedOrg !== undefined && payload.org !== options.expectedOrg) {
    throw reject(`it is for org "${payload.org}", not "${options.expectedOrg}"`);
  }
  if (options.highestAccepted !== undefined && payload.version < options.highestAccepted) {
    throw reject(
      `version ${payload.version} is older than version ${options.highestAccepted}, already accepted (rollback)`,
    );
  }
  const now = options.now ?? Date.now();
  const expires = Date.parse(payload.expires);
  if (now > expires + (options.graceMs ?? 0)) {
    throw reject(
      `version ${payload.version} expired at ${payload.expires}${options.graceMs ? ` (grace ${Math.round(options.graceMs / 3_600_000)} h)` : ''}`,
    );
  }
  return { payload, kid: key.kid, inGrace: now > expires };
}

/** Signs a payload with an Ed25519 private JWK (IT's tooling: `mcp-warden policy sign`). */
export async function signOrgPolicy(payload: OrgPolicyInput, privateJwk: JWK): Promise<string> {
  const parsed = orgPolicyPayloadSchema.safeParse(payload);
  if (!parsed.success)
    throw new WardenError('POLICY_INVALID', `not a valid org policy:\n${z.prettifyError(parsed.error)}`);
  const { calculateJwkThumbprint, CompactSign, importJWK } = await jose();
  const kid = privateJwk.kid ?? (await calculateJwkThumbprint(publicPart(privateJwk)));
  return new CompactSign(new TextEncoder().encode(JSON.stringify(parsed.data)))
    .setProtectedHeader({ alg: 'EdDSA', kid, typ: ORG_POLICY_TYP })
    .sign(await importJWK(privateJwk, 'EdDSA'));
}

/** A new Ed25519 signing key pair; `kid` is the RFC 7638 thumbprint of the public key. */
export async function generateSigningKey(): Promise<{ kid: string; privateJwk: JWK; publicJwk: JWK }> {
  const { calculateJwkThumbprint, exportJWK, generateKeyPair } = await jose();
  const { privateKey, publicKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
  const publicJwk = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(publicJwk);
  return {
    kid,
    privateJwk: { ...(await exportJWK(privateKey)), kid, alg: 'EdDSA' },
    publicJwk: { ...publicJwk, kid, alg: 'EdDSA' },
  };
}

function publicPart(jwk: JWK): JWK {
  return { kty: jwk.kty, crv: jwk.crv, x: jwk.x };
}
