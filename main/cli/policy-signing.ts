import fs from 'node:fs';
import type { Command } from 'commander';
import type { JWK } from 'jose';
import { WardenError } from '../core/errors.ts';
import {
  generateSigningKey,
  signOrgPolicy,
  verifyOrgPolicy,
  type OrgPolicyInput,
  type TrustedKey,
} from '../core/policy/org-policy.ts';

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

/** IT's tooling for signed org policy: `policy keygen`, `policy sign`, `policy verify`. */
export function registerPolicySigningCommands(policy: Command): void {
  policy
    .command('keygen')
    .description(
      'create an Ed25519 signing key: the private key goes to a file readable by you alone, the public key to stdout (put it in the managed policy)',
    )
    .requiredOption('-o, --private-key <file>', 'where to write the private key (JWK); must not exist')
    .action(async (options: { privateKey: string }) => {
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
    });
  policy
    .command('sign')
    .description(
      'sign an org policy (JSON: org, version, policy, catalog) as a JWS to host on any static web server',
    )
    .argument('<policy.json>', 'the unsigned document: { "org", "version", "policy", "catalog" }')
    .requiredOption('-k, --key <file>', 'private key from `policy keygen`')
    .option('--expires-in <duration>', 'validity, e.g. 30d, 12h', '30d')
    .option('-o, --output <file>', 'where to write the signed document (default: stdout)')
    .action(async (file: string, options: { key: string; expiresIn: string; output?: string }) => {
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
    });
  policy
    .command('verify')
    .description('check a signed org policy against public keys; prints its org, version and expiry')
    .argument('<signed-file>')
    .requiredOption('--keys <file>', 'public key(s): a JWK, a JWK array or a JWKS')
    .action(async (file: string, options: { keys: string }) => {
      const verified = await verifyOrgPolicy(fs.readFileSync(file, 'utf8'), loadKeys(options.keys));
      const p = verified.payload;
      out(
        `valid: org "${p.org}", version ${p.version}, signed with key ${verified.kid}, issued ${p.issuedAt}, expires ${p.expires}`,
      );
      out(
        `${p.policy.rules?.length ?? 0} rule(s), ${p.policy.servers?.length ?? 0} server rule(s), ${p.catalog.length} catalog entr${p.catalog.length === 1 ? 'y' : 'ies'}`,
      );
    });
}
