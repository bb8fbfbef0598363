import fs from 'node:fs';
import type { JWK } from 'jose';
import { WardenError } from '../../core/errors.ts';
import {
  generateSigningKey,
  signOrgPolicy,
  verifyOrgPolicy,
  type OrgPolicyInput,
  type TrustedKey,
} from '../../core/policy/org-policy.ts';
const out = (text: string) => void process.stdout.write(text + '\n');

function readJson<T>(file: string, what: string): T {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as T;
  } catch (error) {
    throw new WardenError(
      'USAGE',
      `cannot read ${what} ${file}: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
}

/** Parses durations like 30d, 12h, 90m. */
function durationMs(text: string): number {
  const match = /^(\d+)([dhm])$/.exec(text);
  if (!match) throw new WardenError('USAGE', `durations look like 30d, 12h or 90m, not "${text}"`);
  return Number(match[1]) * { d: 86_400_000, h: 3_600_000, m: 60_000 }[match[2] as 'd' | 'h' | 'm'];
}

/** Trusted keys from a file holding a JWK, an array of JWKs or a JWKS ({ keys: [...] }). */
function loadKeys(file: string): TrustedKey[] {
  const raw = readJson<JWK | JWK[] | { keys: JWK[] }>(file, 'public keys');
  const list = Array.isArray(raw) ? raw : 'keys' in raw && Array.isArray(raw.keys) ? raw.keys : [raw as JWK];
  return list.map((jwk) => {
    if (!jwk.kid) throw new WardenError('USAGE', `a key in ${file} has no "kid"`);
    if ('d' in jwk)
      throw new WardenError('USAGE', `${file} holds a private key; verification needs public keys only`);
    return { kid: jwk.kid, jwk };
  });
}

/**
 * `policy keygen`: a new Ed25519 signing key; the private JWK goes to `privateKey` (mode 0600,
 * never overwritten), the public JWK to stdout.
 * @throws WardenError USAGE when the file exists or cannot be written.
 */
export async function keygen(options: { privateKey: string }): Promise<void> {
  const key = await generateSigningKey();
  try {
    fs.writeFileSync(options.privateKey, JSON.stringify(key.privateJwk, null, 2) + '\n', {
      mode: 0o600,
      flag: 'wx',
    });
  } catch (error) {
    throw new WardenError(
      'USAGE',
      `cannot write ${options.privateKey}: ${(error as NodeJS.ErrnoException).code === 'EEXIST' ? 'it exists (never overwritten)' : String(error)}`,
    );
  }
  out(JSON.stringify(key.publicJwk, null, 2));
}

/**
 * `policy sign <policy.json>`: the document signed as a JWS valid for `expiresIn` (30d, 12h, 90m),
 * to `output` or stdout.
 * @throws WardenError USAGE for an unreadable file or key, or a malformed duration.
 */
export async function sign(
  file: string,
  options: { key: string; expiresIn: string; output?: string },
): Promise<void> {
  const doc = readJson<Omit<OrgPolicyInput, 'issuedAt' | 'expires'>>(file, 'policy');
  const now = Date.now();
  const jws = await signOrgPolicy(
    {
      ...doc,
      issuedAt: new Date(now).toISOString(),
      expires: new Date(now + durationMs(options.expiresIn)).toISOString(),
    },
    readJson<JWK>(options.key, 'private key'),
  );
  if (options.output) fs.writeFileSync(options.output, jws + '\n');
  else out(jws);
}

/**
 * `policy verify <signed-file>`: checks a signed org policy against public keys and prints its
 * org, version and expiry.
 * @throws WardenError USAGE for unreadable or private keys; the verification's error otherwise.
 */
export async function verify(file: string, options: { keys: string }): Promise<void> {
  const verified = await verifyOrgPolicy(fs.readFileSync(file, 'utf8'), loadKeys(options.keys));
  const p = verified.payload;
  out(
    `valid: org "${p.org}", version ${p.version}, signed with key ${verified.kid}, issued ${p.issuedAt}, expires ${p.expires}`,
  );
  out(
    `${p.policy.rules?.length ?? 0} rule(s), ${p.policy.servers?.length ?? 0} server rule(s), ${p.catalog.length} catalog entr${p.catalog.length === 1 ? 'y' : 'ies'}`,
  );
}
