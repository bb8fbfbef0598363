import type { Command } from 'commander';

/**
 * IT's tooling for signed org policy: `policy keygen`, `policy sign`, `policy verify`. Declared
 * here; the signing (jose) is in actions/policy-signing.ts, loaded on use.
 */
export function registerPolicySigningCommands(policy: Command): void {
  const actions = () => import('./actions/policy-signing.ts');
  policy
    .command('keygen')
    .description(
      'create an Ed25519 signing key: the private key goes to a file readable by you alone, the public key to stdout (put it in the managed policy)',
    )
    .requiredOption('-o, --private-key <file>', 'where to write the private key (JWK); must not exist')
    .action(async (options: { privateKey: string }) => (await actions()).keygen(options));
  policy
    .command('sign')
    .description(
      'sign an org policy (JSON: org, version, policy, catalog) as a JWS to host on any static web server',
    )
    .argument('<policy.json>', 'the unsigned document: { "org", "version", "policy", "catalog" }')
    .requiredOption('-k, --key <file>', 'private key from `policy keygen`')
    .option('--expires-in <duration>', 'validity, e.g. 30d, 12h', '30d')
    .option('-o, --output <file>', 'where to write the signed document (default: stdout)')
    .action(async (file: string, options: { key: string; expiresIn: string; output?: string }) =>
      (await actions()).sign(file, options),
    );
  policy
    .command('verify')
    .description('check a signed org policy against public keys; prints its org, version and expiry')
    .argument('<signed-file>')
    .requiredOption('--keys <file>', 'public key(s): a JWK, a JWK array or a JWKS')
    .action(async (file: string, options: { keys: string }) => (await actions()).verify(file, options));
}
