import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { createTwoFilesPatch } from 'diff';
import { findNodeAtLocation } from 'jsonc-parser';
import { parseConfig } from '../config/load.ts';
import { connectArgs, quoteName, SERVER_NAME_RULES, serverNameProblem } from '../config/server-name.ts';
import { describeError, isWardenError, WardenError } from '../errors.ts';
import { serverIdentity } from '../policy/identity.ts';
import { referencedSecrets } from '../secrets/references.ts';
import { assertSecretName } from '../secrets/secret-store.ts';
import { runChange, type ChangeContext, type ChangeOutcome, type Intent } from '../change/run-change.ts';
import { sha256 } from '../change/steps.ts';
import { backupKeyName, sealBackup, sealLegacyBackups } from './backup.ts';
import { assertUniqueServers, editJsonc, parseJsonc, readJsonc, serversOf } from './jsonc-file.ts';
import type { ClientLocation } from './locations.ts';
import { findSecrets, type SecretFinding } from './secret-scan.ts';

export { readJsonc } from './jsonc-file.ts';

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

/** What `protect` will do, shown before anything is written. */
export interface ProtectPlan {
  location: ClientLocation;
  launcher: string;
  servers: {
    name: string;
    /** The exact command line (or URL) Warden will run, secrets as `${secret:NAME}`. */
    target: string;
    /** Secrets moved to the keychain: entry key -> secret name. */
    moves: { where: 'env' | 'headers'; key: string; secret: string; value: string }[];
    wardenEntry: Record<string, unknown>;
  }[];
  /** What the person should know before applying (e.g. a moved value also elsewhere in the file). */
  warnings: string[];
  /** The client file's text as read (its exact bytes as UTF-8, byte order mark included). */
  clientBefore: string;
  clientAfter: string;
  wardenBefore: string;
  wardenAfter: string;
}

/** Whether an entry launches the connect shim. */
export function isShimEntry(entry: Record<string, unknown>): boolean {
  const args = Array.isArray(entry.args) ? (entry.args as unknown[]) : [];
  return typeof entry.command === 'string' && /mcp-warden/.test(entry.command) && args[0] === 'connect';
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
 * The keychain name for a value moved out of `env.<key>` or `headers.<key>` of server `server`:
 * a valid secret name (secret-store.ts) that no other (server, key) pair gets, so two servers
 * never overwrite each other's secret.
 * - `<server>-<key in lower case>` when the server name is already lower-case letters, digits,
 *   ".", "_" and "-" and the key upper-case letters, digits and "_" (the usual environment
 *   variable): "github" + "GITHUB_TOKEN" -> "github-github_token".
 * - otherwise a readable part of the same kind with a hash of the exact pair after a ".":
 *   "My Notes" + "API_KEY" -> "my-notes-api_key.<12 hex digits>". (The text after the last
 *   "-" of a name of the first kind never holds a ".", so the two kinds never meet.)
 */
export function secretNameFor(server: string, key: string): string {
  const plain = `${server}-${key.toLowerCase()}`;
  if (/^[a-z0-9][a-z0-9_.-]*$/.test(server) && /^[A-Z0-9_]+$/.test(key) && plain.length <= 128) return plain;
  const hash = createHash('sha256')
    .update(JSON.stringify([server, key]))
    .digest('hex')
    .slice(0, 12);
  const readable =
    `${server}-${key}`
      .toLowerCase()
      .replace(/[^a-z0-9_.-]+/g, '-')
      .replace(/^[^a-z0-9]+/, '')
      .slice(0, 128 - hash.length - 1) || 'secret';
  return `${readable}.${hash}`;
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

/**
 * Checks the complete results of a plan before anything is written.
 * @returns warnings for the person.
 * @throws WardenError (see planProtect).
 */
function validatePlan(plan: ProtectPlan, wardenConfigFile: string): string[] {
  const { location } = plan;
  const refuse = (code: WardenError['code'], why: string): never => {
    throw new WardenError(
      code,
      `cannot protect ${location.label} (${location.file}): ${why}; nothing was changed`,
    );
  };
  if (!plan.servers.length) return [];
  let config: ReturnType<typeof parseConfig>;
  try {
    config = parseConfig(plan.wardenAfter, wardenConfigFile);
  } catch (error) {
    if (!isWardenError(error)) throw error;
    return refuse(
      error.code,
      `Warden's config would not be valid afterwards:\n${error.message.replace('; nothing was started', '')}`,
    );
  }
  for (const s of plan.servers)
    if (!config.servers.has(s.name))
      refuse('CONFIG_INVALID', `server "${s.name}" would not be in force in Warden's config`);
  const before = parseJsonc(plan.clientBefore, location.file);
  const after = parseJsonc(plan.clientAfter, location.file);
  const expected = structuredClone(before.value);
  const shims = serversOf(after, location.key);
  for (const s of plan.servers) {
    const shim = {
      command: plan.launcher,
      args: connectArgs(s.name),
      ...(location.client === 'vscode' ? { type: 'stdio' } : {}),
    };
    if (JSON.stringify(shims[s.name]) !== JSON.stringify(shim))
      refuse('CONFIG_INVALID', `the edit of server "${s.name}" would not take effect`);
    Object.defineProperty(expected[location.key] as object, s.name, {
      value: shims[s.name],
      enumerable: true,
    });
  }
  if (JSON.stringify(expected) !== JSON.stringify(after.value))
    refuse('CONFIG_INVALID', 'the edit would change more than the protected servers');
  const secrets = new Map<string, string>();
  const warnings: string[] = [];
  for (const s of plan.servers)
    for (const m of s.moves) {
      try {
        assertSecretName(m.secret);
      } catch (error) {
        refuse(
          'USAGE',
          `the secret of server "${s.name}" ${m.where}.${m.key} cannot be named: ${describeError(error)}`,
        );
      }
      const other = secrets.get(m.secret);
      if (other !== undefined && other !== m.value)
        refuse(
          'CONFLICT',
          `two different secrets would both be named "${m.secret}"; rename one of the servers or keys`,
        );
      secrets.set(m.secret, m.value);
      if (plan.servers.some((p) => stringsOf(p.wardenEntry).some((t) => holds(t, m.value))))
        refuse(
          'CONFLICT',
          `the value of ${s.name} ${m.where}.${m.key} would stay in plain text in Warden's config`,
        );
      if (m.value.length >= MIN_SEARCHED && holds(plan.clientAfter, m.value))
        warnings.push(
          `the value of ${s.name} ${m.where}.${m.key} also appears elsewhere in ${location.file} (outside the server entries protect rewrites): it stays there in plain text`,
        );
    }
  return [...new Set(warnings)];
}

/** Values shorter than this are looked for as whole strings only (a short one is in many words). */
const MIN_SEARCHED = 8;

/** Whether `text` is `value`, or holds it (as it is or as a JSON string writes it) when it is long enough. */
function holds(text: string, value: string): boolean {
  if (text === value) return true;
  if (value.length < MIN_SEARCHED) return false;
  return text.includes(value) || text.includes(JSON.stringify(value).slice(1, -1));
}

/** Every string in a JSON value. */
function stringsOf(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.flatMap(stringsOf);
  if (isObject(value)) return Object.values(value).flatMap(stringsOf);
  return [];
}

/** Replaces every other occurrence of a moved value in the entry (args, env, headers, URL) by its reference. */
function referenceEverywhere(
  entry: Record<string, unknown>,
  moves: ProtectPlan['servers'][number]['moves'],
): void {
  const swap = (text: string): string => {
    for (const m of moves) {
      const ref = `\${secret:${m.secret}}`;
      if (text === m.value) return ref;
      if (m.value.length >= MIN_SEARCHED) text = text.split(m.value).join(ref);
    }
    return text;
  };
  if (Array.isArray(entry.args))
    entry.args = (entry.args as unknown[]).map((a) => (typeof a === 'string' ? swap(a) : a));
  for (const where of ['env', 'headers'] as const) {
    const record = entry[where];
    if (!isObject(record)) continue;
    for (const key of Object.keys(record))
      if (typeof record[key] === 'string') record[key] = swap(record[key]);
  }
  if (typeof entry.url === 'string') entry.url = swap(entry.url);
}

/** The plan as a person reviews it: both diffs, secret values replaced by their names. */
export function describePlan(plan: ProtectPlan, wardenConfigFile: string): string {
  const moves = plan.servers.flatMap((s) => s.moves.map((m) => ({ ...m, server: s.name })));
  const hide = (text: string): string =>
    moves.reduce(
      (t, m) =>
        [m.value, JSON.stringify(m.value).slice(1, -1)]
          .filter((v) => v.length >= MIN_SEARCHED)
          .reduce((u, v) => u.split(v).join(`[moved to keychain as ${m.secret}]`), t),
      text,
    );
  const lines = [
    `Protect ${plan.servers.length} server(s) of ${plan.location.label} (${plan.location.file}):`,
  ];
  for (const s of plan.servers) {
    lines.push(`  ${s.name}: Warden will run exactly: ${s.target}`);
    for (const m of s.moves) lines.push(`    ${m.where}.${m.key} -> OS keychain as "${m.secret}"`);
  }
  for (const w of plan.warnings) lines.push(`  warning: ${w}`);
  lines.push(
    '',
    hide(
      createTwoFilesPatch(
        plan.location.file,
        plan.location.file,
        redactLiterals(plan.clientBefore, plan),
        plan.clientAfter,
        'now',
        'protected',
      ),
    ),
  );
  lines.push(
    hide(
      createTwoFilesPatch(
        wardenConfigFile,
        wardenConfigFile,
        plan.wardenBefore,
        plan.wardenAfter,
        'now',
        'protected',
      ),
    ),
  );
  return lines.join('\n');
}

/** The client text with each moved value's string literal replaced by a placeholder, however it is escaped. */
function redactLiterals(text: string, plan: ProtectPlan): string {
  const doc = parseJsonc(text, plan.location.file);
  const bom = text.startsWith('\uFEFF') ? 1 : 0;
  const ranges: { offset: number; length: number; secret: string }[] = [];
  for (const s of plan.servers)
    for (const m of s.moves) {
      const node = findNodeAtLocation(doc.tree, [plan.location.key, s.name, m.where, m.key]);
      if (node) ranges.push({ offset: node.offset + bom, length: node.length, secret: m.secret });
    }
  ranges.sort((a, b) => b.offset - a.offset);
  let out = text;
  for (const r of ranges)
    out = `${out.slice(0, r.offset)}"[moved to keychain as ${r.secret}]"${out.slice(r.offset + r.length)}`;
  return out;
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

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
