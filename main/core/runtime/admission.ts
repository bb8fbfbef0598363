import { commandHint } from '../command-hint.ts';
import type { ServerConfig } from '../config/schema.ts';
import { WardenError } from '../errors.ts';
import { ruleText } from '../policy/engine.ts';
import {
  commandBinaryHash,
  describeIdentity,
  identityHash,
  serverIdentity,
  type ServerIdentity,
} from '../policy/identity.ts';
import type { CatalogEntry } from '../policy/org-policy.ts';
import type { ServerApprovalStore } from '../store/server-approvals.ts';
import type { InForce } from './state-in-force.ts';

/** Whether a configured server may run, and why. */
export type ServerAdmission =
  | { allowed: true; identity: ServerIdentity; trusted: boolean; by: string }
  | { allowed: false; identity: ServerIdentity; reason: string };

/** The name of the org catalog entry whose exact command and args (or URL) match, if any. */
export function catalogEntryFor(
  identity: ServerIdentity,
  catalog: readonly CatalogEntry[],
): string | undefined {
  const match = catalog.find((entry) =>
    identity.kind === 'http'
      ? entry.url === identity.url
      : entry.command === identity.command &&
        JSON.stringify(entry.args ?? []) === JSON.stringify(identity.args),
  );
  return match?.name;
}

/**
 * May this configured server run, under the policy and org catalog of `inForce`? A deny rule
 * refuses; an allow rule or a catalog entry admits; otherwise the exact identity must have been
 * approved by a person (`mcp-warden servers approve <name>`), unless the managed policy allows
 * only catalog servers or locks server approvals.
 */
export function admitServer(
  server: ServerConfig,
  inForce: InForce,
  approvals: ServerApprovalStore,
): ServerAdmission {
  const { engine } = inForce;
  const identity = serverIdentity(server);
  const verdict = engine.decideServer(identity, () =>
    identity.kind === 'stdio' ? commandBinaryHash(identity.command) : undefined,
  );
  if (verdict.action === 'deny') return { allowed: false, identity, reason: verdict.reason };
  const entry = catalogEntryFor(identity, inForce.catalog);
  if (entry) return { allowed: true, identity, trusted: false, by: `org catalog entry "${entry}"` };
  const managed = engine.sources.find((source) => source.kind === 'managed');
  if (managed?.document.catalogOnly) {
    return {
      allowed: false,
      identity,
      reason:
        `server "${server.name}" (\`${describeIdentity(identity)}\`) is not in the org catalog, and ` +
        `${managed.origin} allows only catalog servers (see \`mcp-warden policy status\`)`,
    };
  }
  if (verdict.action === 'allow')
    return { allowed: true, identity, trusted: verdict.trusted, by: ruleText(verdict.by) };
  const locked = engine.locks.get('serverApprovals');
  if (locked) {
    return {
      allowed: false,
      identity,
      reason:
        `server "${server.name}" (\`${describeIdentity(identity)}\`) is not allowed by managed or org policy, ` +
        `and ${locked} locks server approvals: ask IT to add it to the org catalog`,
    };
  }
  if (approvals.isApproved(server.name, identity)) {
    return { allowed: true, identity, trusted: false, by: 'approved by a person' };
  }
  const previous = approvals.lastApproved(server.name);
  const now = describeIdentity(identity);
  const approve = commandHint(['mcp-warden', 'servers', 'approve'], [server.name]);
  const reason = previous
    ? `server "${server.name}" changed since it was approved: it was \`${previous}\`, now it is \`${now}\`. ` +
      `Review the new command and approve it with \`${approve}\``
    : `server "${server.name}" (\`${now}\`) is not allowed by any policy and no one has approved it. ` +
      `Review the command and approve it with \`${approve}\``;
  return { allowed: false, identity, reason };
}

/**
 * Records a person's approval of a server's current identity (in the config of `inForce`).
 * @param expectedHash the identity hash the person reviewed; guards against a config change in between.
 * @throws WardenError NOT_FOUND for an unknown server, CONFLICT when the identity changed or the
 *   managed policy locks server approvals.
 */
export function approveServerIdentity(
  inForce: InForce,
  approvals: ServerApprovalStore,
  request: { name: string; expectedHash: string | undefined; by: string },
): { identity: ServerIdentity; hash: string } {
  const { name, expectedHash, by } = request;
  const server = inForce.config.servers.get(name);
  if (!server) throw new WardenError('NOT_FOUND', `no server "${name}" in ${inForce.config.file}`);
  const locked = inForce.engine.locks.get('serverApprovals');
  if (locked)
    throw new WardenError('CONFLICT', `${locked} locks server approvals: only IT can allow servers here`);
  const identity = serverIdentity(server);
  const hash = identityHash(identity);
  if (expectedHash !== undefined && expectedHash !== hash) {
    throw new WardenError(
      'CONFLICT',
      `server "${name}" is no longer the command that was reviewed; review it again`,
    );
  }
  approvals.approve(name, identity, by);
  return { identity, hash };
}
