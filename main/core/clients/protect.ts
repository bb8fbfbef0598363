import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { createTwoFilesPatch } from 'diff';
import { applyEdits, modify, type ParseError, printParseErrorCode } from 'jsonc-parser';
import writeFileAtomic from 'write-file-atomic';
import { parseConfig } from '../config/load.ts';
import { connectArgs, quoteName, SERVER_NAME_RULES, serverNameProblem } from '../config/server-name.ts';
import { isWardenError, WardenError } from '../errors.ts';
import { ownValue } from '../own-property.ts';
import type { SecretStore } from '../secrets/secret-store.ts';
import type { ClientLocation } from './locations.ts';
import { parseJsonc } from './jsonc.ts';
import { findSecrets, type SecretFinding } from './secret-scan.ts';

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
    /** The exact command line (or URL) Warden will run. */
    target: string;
    /** Secrets moved to the keychain: entry key -> secret name. */
    moves: { where: 'env' | 'headers'; key: string; secret: string; value: string }[];
    wardenEntry: Record<string, unknown>;
  }[];
  clientBefore: string;
  clientAfter: string;
  wardenBefore: string;
  wardenAfter: string;
}

/** How edits to JSON(C) config files are formatted (jsonc-parser `modify`). */
export const FORMAT = { formattingOptions: { insertSpaces: true, tabSize: 2, eol: '\n' } };

/**
 * Reads a JSON-with-comments config file.
 * @throws WardenError CONFIG_NOT_JSON when it is not a JSON object (naming the first error).
 */
export function readJsonc(file: string): { text: string; value: Record<string, unknown> } {
  const text = fs.readFileSync(file, 'utf8');
  const errors: ParseError[] = [];
  const value = parseJsonc(text, errors);
  if (errors.length || !value || typeof value !== 'object' || Array.isArray(value)) {
    const first = errors[0];
    throw new WardenError(
      'CONFIG_NOT_JSON',
      `${file} is not a JSON object${first ? ` (${printParseErrorCode(first.error)} at offset ${first.offset})` : ''}`,
    );
  }
  return { text, value: value as Record<string, unknown> };
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
    const { value } = readJsonc(location.file);
    const servers = (ownValue(value, location.key) ?? {}) as Record<string, Record<string, unknown>>;
    const list: ClientServer[] = [];
    for (const [name, entry] of Object.entries(servers)) {
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
 * plaintext secrets into the keychain, leaving `${secret:NAME}` references) and the client's
 * entry becomes `<launcher> connect <name>`. Nothing is written.
 * @throws WardenError NOT_FOUND (no file / no such server), CONFLICT (Warden already has another
 *   server of that name).
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
  const warden = readJsonc(wardenConfigFile);
  const servers = (ownValue(client.value, location.key) ?? {}) as Record<string, Record<string, unknown>>;
  const wardenServers = (ownValue(warden.value, 'mcpServers') ?? {}) as Record<string, unknown>;
  const names = only?.length ? only : Object.keys(servers);
  let clientText = client.text;
  let wardenText = warden.text;
  const planned: ProtectPlan['servers'] = [];
  for (const name of names) {
    const entry = ownValue(servers, name);
    if (!entry)
      throw new WardenError(
        'NOT_FOUND',
        `${location.label} has no server "${name}" (it has: ${Object.keys(servers).join(', ') || 'none'})`,
      );
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
      record[finding.key] = `${bearer}\${secret:${secret}}`;
      moves.push({ where: finding.where, key: finding.key, secret, value: value.slice(bearer.length) });
    }
    const existing = ownValue(wardenServers, name);
    if (existing !== undefined && JSON.stringify(existing) !== JSON.stringify(wardenEntry)) {
      throw new WardenError(
        'CONFLICT',
        `Warden's config already has another server named "${name}"; rename one of them first`,
      );
    }
    const target =
      typeof entry.url === 'string'
        ? entry.url
        : [entry.command, ...((entry.args as string[] | undefined) ?? [])].join(' ');
    const shim: Record<string, unknown> = { command: launcher, args: connectArgs(name) };
    if (location.client === 'vscode') shim.type = 'stdio';
    clientText = applyEdits(clientText, modify(clientText, [location.key, name], shim, FORMAT));
    wardenText = applyEdits(wardenText, modify(wardenText, ['mcpServers', name], wardenEntry, FORMAT));
    planned.push({ name, target, moves, wardenEntry });
  }
  // Never write a config the daemon would refuse to start with (that would take every server away).
  if (planned.length) {
    try {
      parseConfig(wardenText, wardenConfigFile);
    } catch (error) {
      if (!isWardenError(error)) throw error;
      throw new WardenError(
        'CONFIG_INVALID',
        `protecting ${planned.map((s) => JSON.stringify(s.name)).join(', ')} would leave Warden's config invalid, so nothing was changed: ${error.message}`,
      );
    }
  }
  return {
    location,
    launcher,
    servers: planned,
    clientBefore: client.text,
    clientAfter: clientText,
    wardenBefore: warden.text,
    wardenAfter: wardenText,
  };
}

/** The plan as a person reviews it: both diffs, secret values replaced by their names. */
export function describePlan(plan: ProtectPlan, wardenConfigFile: string): string {
  const hide = (text: string): string =>
    plan.servers
      .flatMap((s) => s.moves)
      .reduce((t, m) => t.split(m.value).join(`[moved to keychain as ${m.secret}]`), text);
  const lines = [
    `Protect ${plan.servers.length} server(s) of ${plan.location.label} (${plan.location.file}):`,
  ];
  for (const s of plan.servers) {
    lines.push(`  ${s.name}: Warden will run exactly: ${s.target}`);
    for (const m of s.moves) lines.push(`    ${m.where}.${m.key} -> OS keychain as "${m.secret}"`);
  }
  lines.push(
    '',
    hide(
      createTwoFilesPatch(
        plan.location.file,
        plan.location.file,
        plan.clientBefore,
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

/** A backup of a client config taken by `protect`, for `restore`. */
interface Backup {
  file: string;
  createdAt: string;
  original: string;
  originalSha256: string;
  protectedSha256: string;
  servers: string[];
  /** The entries protect wrote (restore puts back the original only where these are unchanged). */
  shimEntries: Record<string, unknown>;
}

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

/**
 * Carries out a plan: secrets into the keychain first (nothing else is written if that fails),
 * then Warden's config, then a backup of the client file, then the client file (atomic writes).
 * @returns the backup file.
 */
export async function applyProtect(
  plan: ProtectPlan,
  wardenConfigFile: string,
  secrets: SecretStore,
  backupDir: string,
): Promise<string> {
  for (const s of plan.servers) for (const m of s.moves) await secrets.set(m.secret, m.value);
  if (fs.readFileSync(plan.location.file, 'utf8') !== plan.clientBefore) {
    throw new WardenError(
      'CONFLICT',
      `${plan.location.file} changed while the plan was reviewed; run protect again`,
    );
  }
  await writeFileAtomic(wardenConfigFile, plan.wardenAfter, { mode: 0o600 });
  fs.mkdirSync(backupDir, { recursive: true, mode: 0o700 });
  const backupFile = path.join(
    backupDir,
    `${plan.location.id}--${new Date().toISOString().replace(/[:.]/g, '-')}.json`,
  );
  const protectedEntries =
    ownValue(parseJsonc(plan.clientAfter) as Record<string, Record<string, unknown>>, plan.location.key) ??
    {};
  const backup: Backup = {
    file: plan.location.file,
    createdAt: new Date().toISOString(),
    original: plan.clientBefore,
    originalSha256: sha256(plan.clientBefore),
    protectedSha256: sha256(plan.clientAfter),
    servers: plan.servers.map((s) => s.name),
    shimEntries: Object.fromEntries(plan.servers.map((s) => [s.name, ownValue(protectedEntries, s.name)])),
  };
  fs.writeFileSync(backupFile, JSON.stringify(backup, null, 2), { mode: 0o600 });
  const mode = fs.statSync(plan.location.file).mode & 0o777;
  await writeFileAtomic(plan.location.file, plan.clientAfter, { mode });
  return backupFile;
}

/**
 * Puts a client config back as it was before `protect`: byte for byte when the file is still
 * exactly what protect wrote; otherwise each protected entry that still launches the shim gets
 * its original back and everything else is kept, with a report.
 * @returns a sentence per server saying what happened.
 */
export async function restoreClient(location: ClientLocation, backupDir: string): Promise<string[]> {
  const candidates = fs.existsSync(backupDir)
    ? fs
        .readdirSync(backupDir)
        .filter((f) => f.startsWith(`${location.id}--`) && f.endsWith('.json'))
        .sort()
    : [];
  const latest = candidates.at(-1);
  if (!latest)
    throw new WardenError('NOT_FOUND', `no backup of ${location.label} (${location.file}) in ${backupDir}`);
  const backup = JSON.parse(fs.readFileSync(path.join(backupDir, latest), 'utf8')) as Backup;
  const current = fs.existsSync(location.file) ? fs.readFileSync(location.file, 'utf8') : '';
  const mode = fs.existsSync(location.file) ? fs.statSync(location.file).mode & 0o777 : 0o600;
  if (sha256(current) === backup.protectedSha256) {
    await writeFileAtomic(location.file, backup.original, { mode });
    fs.renameSync(path.join(backupDir, latest), path.join(backupDir, `${latest}.restored`));
    return [`${location.file} is back to its original, byte for byte`];
  }
  const original = parseJsonc(backup.original) as Record<string, Record<string, unknown>>;
  const originals = ownValue(original, location.key) ?? {};
  const now = readJsonc(location.file);
  const servers = (ownValue(now.value, location.key) ?? {}) as Record<string, Record<string, unknown>>;
  let text = now.text;
  const report: string[] = [`${location.file} changed since it was protected; merging:`];
  for (const name of backup.servers) {
    const entry = ownValue(servers, name);
    if (entry && JSON.stringify(entry) === JSON.stringify(ownValue(backup.shimEntries, name))) {
      text = applyEdits(text, modify(text, [location.key, name], ownValue(originals, name), FORMAT));
      report.push(`  ${name}: original entry restored`);
    } else {
      report.push(`  ${name}: ${entry ? 'changed since (left as it is)' : 'removed since (not restored)'}`);
    }
  }
  await writeFileAtomic(location.file, text, { mode });
  fs.renameSync(path.join(backupDir, latest), path.join(backupDir, `${latest}.restored`));
  return report;
}
