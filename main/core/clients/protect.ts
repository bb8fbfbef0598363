import fs from 'node:fs';
import path from 'node:path';
import { parseConfig } from '../config/load.ts';
import { connectArgs, quoteName, SERVER_NAME_RULES, serverNameProblem } from '../config/server-name.ts';
import { WardenError } from '../errors.ts';
import { serverIdentity } from '../policy/identity.ts';
import { referencedSecrets } from '../secrets/references.ts';
import { runChange, type ChangeContext, type ChangeOutcome, type Intent } from '../change/run-change.ts';
import { sha256 } from '../change/steps.ts';
import { backupKeyName, sealBackup, sealLegacyBackups } from './backup.ts';
import { assertUniqueServers, editJsonc, parseJsonc, readJsonc, serversOf } from './jsonc-file.ts';
import type { ClientLocation } from './locations.ts';
import { validatePlan } from './protect-check.ts';
import {
  isObject,
  isShimEntry,
  referenceEverywhere,
  secretNameFor,
  type ProtectPlan,
} from './protect-plan.ts';
import { findSecrets, type SecretFinding } from './secret-scan.ts';

export { readJsonc } from './jsonc-file.ts';
export { describePlan } from './protect-describe.ts';
export { isShimEntry, secretNameFor, type ProtectPlan } from './protect-plan.ts';

/** A server entry of a client config, as found. */
export interface ClientServer {
  name: string;
  entry: Record<string, unknown>;
  /** The entry already launches `mcp-warden connect`. */
  protected: boolean;
  secrets: SecretFinding[];
}

export interface ClientReport {
  location: ClientLocation;
  exists: boolean;
  error?: string;
  servers: ClientServer[];
}

/** What a client config holds: servers, which are protected, plaintext secrets. */
export async function inspectClient(location: ClientLocation): Promise<ClientReport> {
  if (!fs.existsSync(location.file)) return { location, exists: false, servers: [] };
  try {
    const doc = readJsonc(location.file);
    assertUniqueServers(doc, location.key);
    const list: ClientServer[] = [];
    for (const [name, entry] of Object.entries(serversOf(doc, location.key))) {
      if (!isObject(entry)) continue;
      list.push({ name, entry, protected: isShimEntry(entry), secrets: await findSecrets(entry) });
    }
    return { location, exists: true, servers: list };
  } catch (error) {
    return {
      location,
      exists: true,
      error: error instanceof Error ? error.message : String(error),
      servers: [],
    };
  }
}

/**
 * Plans protecting servers of a client config: each entry moves into Warden's config (its
 * plaintext secrets into the keychain, leaving `${secret:NAME}` references, also wherever else
 * the same value appears in the entry) and the client's entry becomes `<launcher> connect
 * <name>`. Nothing is written. The complete results are validated: Warden's config through the
 * daemon's own schema, the client file as JSONC with exactly the planned entries changed.
 * @throws WardenError NOT_FOUND (no file / no such server), CONFLICT (Warden already has another
 *   server of that name; two secrets would share a name), CONFIG_NOT_JSON / CONFIG_INVALID (a file
 *   that cannot be edited safely, or a result the daemon would refuse), USAGE (a secret name that
 *   references cannot use). Every message says that nothing was changed.
 */
export async function planProtect(
  location: ClientLocation,
  wardenConfigFile: string,
  launcher: string,
  only?: string[],
): Promise<ProtectPlan> {
  if (!fs.existsSync(location.file))
    throw new WardenError('NOT_FOUND', `no ${location.label} config at ${location.file}`);
  const client = readJsonc(location.file);
  assertUniqueServers(client, location.key);
  const warden = readJsonc(wardenConfigFile);
  assertUniqueServers(warden, 'mcpServers');
  const servers = serversOf(client, location.key);
  const wardenServers = serversOf(warden, 'mcpServers');
  const names = only?.length ? only : Object.keys(servers);
  let clientText = client.text;
  let wardenText = warden.text;
  const planned: ProtectPlan['servers'] = [];
  for (const name of names) {
    const entry = Object.hasOwn(servers, name) ? servers[name] : undefined;
    if (entry === undefined)
      throw new WardenError(
        'NOT_FOUND',
        `${location.label} has no server "${name}" (it has: ${Object.keys(servers).join(', ') || 'none'})`,
      );
    if (!isObject(entry))
      throw new WardenError('CONFIG_INVALID', `server "${name}" in ${location.file} is not an object`);
    if (isShimEntry(entry)) continue;
    const problem = serverNameProblem(name);
    if (problem !== undefined)
      throw new WardenError(
        'CONFIG_INVALID',
        `${location.label}'s server ${quoteName(name)} cannot be protected: its name ${problem}. ` +
          `Rename it in ${location.file} (${SERVER_NAME_RULES}), or leave it out; nothing was changed`,
      );
    const wardenEntry: Record<string, unknown> = {};
    for (const key of ['command', 'args', 'env', 'cwd', 'url', 'headers'] as const)
      if (entry[key] !== undefined) wardenEntry[key] = structuredClone(entry[key]);
    const moves: ProtectPlan['servers'][number]['moves'] = [];
    for (const finding of await findSecrets(entry)) {
      if (finding.where === 'args') continue;
      const record = wardenEntry[finding.where] as Record<string, string>;
      const value = record[finding.key]!;
      const secret = secretNameFor(name, finding.key);
      const bearer = /^Bearer\s+/i.exec(value)?.[0] ?? '';
      if (value.length === bearer.length) continue; // nothing after "Bearer ": no secret to move
      record[finding.key] = `${bearer}\${secret:${secret}}`;
      moves.push({ where: finding.where, key: finding.key, secret, value: value.slice(bearer.length) });
    }
    planned.push({ name, target: '', moves, wardenEntry });
  }
  // A moved value anywhere else in a protected entry (args, another key, another server) becomes
  // a reference too: no copy of it stays in Warden's config.
  const allMoves = planned.flatMap((p) => p.moves);
  for (const p of planned) {
    referenceEverywhere(p.wardenEntry, [...p.moves, ...allMoves]);
    if (
      Object.hasOwn(wardenServers, p.name) &&
      JSON.stringify(wardenServers[p.name]) !== JSON.stringify(p.wardenEntry)
    ) {
      throw new WardenError(
        'CONFLICT',
        `Warden's config already has another server named "${p.name}"; rename one of them first`,
      );
    }
    p.target =
      typeof p.wardenEntry.url === 'string'
        ? p.wardenEntry.url
        : [p.wardenEntry.command, ...((p.wardenEntry.args as string[] | undefined) ?? [])].join(' ');
    const shim: Record<string, unknown> = { command: launcher, args: connectArgs(p.name) };
    if (location.client === 'vscode') shim.type = 'stdio';
    clientText = editJsonc(clientText, [location.key, p.name], shim);
    wardenText = editJsonc(wardenText, ['mcpServers', p.name], p.wardenEntry);
  }
  const plan: ProtectPlan = {
    location,
    launcher,
    servers: planned,
    warnings: [],
    clientBefore: client.text,
    clientAfter: clientText,
    wardenBefore: warden.text,
    wardenAfter: wardenText,
  };
  plan.warnings = validatePlan(plan, wardenConfigFile);
  return plan;
}

/** Where protect and restore keep backups and journals, and what they write with. */
export interface ProtectOptions {
  wardenConfigFile: string;
  ctx: ChangeContext;
  backupDir: string;
  /** Who approves the protected servers' exact commands (state.db); no approvals when absent. */
  approvedBy?: string;
}

/**
 * Carries out a plan as one change (see runChange): the secrets and the backup's key into the
 * keychain, the encrypted backup, Warden's config, the servers' approvals, and last the client
 * file, which then launches the shim. Any failure leaves every file, the keychain and state.db
 * as they were; a crash is recovered by the next run.
 * @returns the backup file, and what the change recovered or could not clean up.
 * @throws WardenError CONFLICT when a file changed since the plan or the keychain already holds
 *   another value under a moved secret's name that another server uses; see runChange.
 */
export async function applyProtect(
  plan: ProtectPlan,
  options: ProtectOptions,
): Promise<{ backup: string; outcome: ChangeOutcome }> {
  const { ctx, location } = { ctx: options.ctx, location: plan.location };
  validatePlan(plan, options.wardenConfigFile);
  await sealLegacyBackups(options.backupDir, ctx);
  const before = parseConfig(plan.wardenBefore, options.wardenConfigFile);
  const after = parseConfig(plan.wardenAfter, options.wardenConfigFile);
  const planned = new Set(plan.servers.map((s) => s.name));
  const intents: Intent[] = [];
  const named = new Set<string>();
  for (const m of plan.servers.flatMap((s) => s.moves)) {
    if (named.has(m.secret)) continue;
    named.add(m.secret);
    const held = await ctx.secrets.get(m.secret);
    const users = [...before.servers.values()]
      .filter((s) => !planned.has(s.name) && referencedSecrets(s).includes(m.secret))
      .map((s) => `"${s.name}"`);
    if (held !== undefined && held !== m.value && users.length)
      throw new WardenError(
        'CONFLICT',
        `the keychain already holds another value as "${m.secret}", which server ${users.join(', ')} uses; ` +
          `rename the server in ${location.file} first; nothing was changed`,
      );
    intents.push({ kind: 'set-secret', name: m.secret, value: m.value });
  }
  const keyName = backupKeyName();
  const backupFile = path.join(
    options.backupDir,
    `${location.id}--${new Date().toISOString().replace(/[:.]/g, '-')}.json`,
  );
  const shimEntries = serversOf(parseJsonc(plan.clientAfter, location.file), location.key);
  const sealed = sealBackup(
    {
      file: location.file,
      createdAt: new Date().toISOString(),
      servers: plan.servers.map((s) => s.name),
      shimEntries: Object.fromEntries(plan.servers.map((s) => [s.name, shimEntries[s.name]])),
      protectedSha256: sha256(plan.clientAfter),
    },
    Buffer.from(plan.clientBefore, 'utf8'),
    keyName,
  );
  intents.push({ kind: 'set-secret', name: keyName, value: sealed.key });
  intents.push({ kind: 'write-file', file: backupFile, content: sealed.text, expect: null, mode: 0o600 });
  intents.push({
    kind: 'write-file',
    file: options.wardenConfigFile,
    content: plan.wardenAfter,
    expect: plan.wardenBefore,
    mode: 0o600,
  });
  if (options.approvedBy)
    for (const s of plan.servers)
      intents.push({
        kind: 'approve-server',
        server: s.name,
        identity: serverIdentity(after.servers.get(s.name)!),
        by: options.approvedBy,
      });
  intents.push({
    kind: 'write-file',
    file: location.file,
    content: plan.clientAfter,
    expect: plan.clientBefore,
  });
  const outcome = await runChange(ctx, `clients protect ${location.id}`, intents);
  return { backup: backupFile, outcome };
}
