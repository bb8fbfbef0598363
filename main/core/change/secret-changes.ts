import type { ServerConfig } from '../config/schema.ts';
import { WardenError } from '../errors.ts';
import { runChange, type ChangeContext, type ChangeOutcome } from './run-change.ts';
import { assertSecretName } from '../secrets/secret-store.ts';

/**
 * Stores a secret in the keychain, optionally bound to one server's exact identity, as one
 * change: the binding is recorded first (a secret is never left unbound and given to any
 * server), the value second; a failure of either undoes both (see runChange). The CLI's
 * `secrets set` and the control API's PUT /secrets/:name both come here.
 * @throws WardenError USAGE (bad name, empty value), KEYCHAIN_UNAVAILABLE, STORE_FAILED.
 */
export function setSecret(
  ctx: ChangeContext,
  name: string,
  value: string,
  server?: ServerConfig,
): Promise<ChangeOutcome> {
  assertSecretName(name);
  if (!value) throw new WardenError('USAGE', `the value of secret "${name}" is empty`);
  return runChange(ctx, `secrets set ${name}${server ? ` --server ${server.name}` : ''}`, [
    ...(server ? [{ kind: 'bind-secret' as const, name, server }] : []),
    { kind: 'set-secret', name, value },
  ]);
}

/**
 * Deletes a secret from the keychain and its binding from state.db, as one change: the value
 * goes first (a binding without its secret is harmless; a secret without its binding would not
 * be), and a failure of either undoes both. The CLI's `secrets delete` and the control API's
 * DELETE /secrets/:name both come here.
 * @throws WardenError NOT_FOUND when the keychain has no such secret, USAGE, KEYCHAIN_UNAVAILABLE.
 */
export async function deleteSecret(ctx: ChangeContext, name: string): Promise<ChangeOutcome> {
  assertSecretName(name);
  if ((await ctx.secrets.get(name)) === undefined)
    throw new WardenError('NOT_FOUND', `no secret "${name}" in the keychain`);
  return runChange(ctx, `secrets delete ${name}`, [
    { kind: 'delete-secret', name },
    { kind: 'unbind-secret', name },
  ]);
}
