import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { createTwoFilesPatch } from 'diff';
import { applyEdits, modify, parse, type ParseError, printParseErrorCode } from 'jsonc-parser';
import writeFileAtomic from 'write-file-atomic';
import { WardenError } from '../errors.ts';
import type { SecretStore } from '../secrets/secret-store.ts';
import type { ClientLocation } from './locations.ts';
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
  const value = parse(text, errors, { allowTrailingComma: true }) as unknown;
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
    const servers = (value[location.key] ?? {}) as Record<string, Record<string, unknown>>;
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

/** Secret name for a moved value: "<server>-<key>", lower-case, safe characters. */
export function secretNameFor(server: string, key: string): string {
  return `${server}-${key}`
    .toLowerCase()
    .replace(/[^a-z0-9_.-]+/g, '-')
    .replace(/^-+/, '')
    .slice(0, 128);
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
  const servers = (client.value[location.key] ?? {}) as Record<string, Record<string, unknown>>;
  const wardenServers = (warden.value.mcpServers ?? {}) as Record<string, unknown>;
  const names = only?.length ? only : Object.keys(servers);
  let clientText = client.text;
  let wardenText = warden.text;
  const planned: ProtectPlan['servers'] = [];
  for (const name of names) {
    const entry = servers[name];
    if (!entry)
      throw new WardenError(
        'NOT_FOUND',
        `${location.label} has no server "${name}" (it has: ${Object.keys(servers).join(', ') || 'none'})`,
      );
    if (isShimEntry(entry)) continue;
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
    if (
      wardenServers[name] !== undefined &&
      JSON.stringify(wardenServers[name]) !== JSON.stringify(wardenEntry)
    ) {
      throw new WardenError(
        'CONFLICT',
        `Warden's config already has another server named "${name}"; rename one of them first`,
      );
    }
    const target =
      typeof entry.url === 'string'
        ? entry.url
        : [entry.command, ...((entry.args as string[] | undefined) ?? [])].join(' ');
    const shim: Record<string, unknown> = { command: launcher, args: ['connect', name] };
    if (location.client === 'vscode') shim.type = 'stdio';
    clientText = applyEdits(clientText, modify(clientText, [location.key, name], shim, FORMAT));
    wardenText = applyEdits(wardenText, modify(wardenText, ['mcpServers', name], wardenEntry, FORMAT));
    planned.push({ name, target, moves, wardenEntry });
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
    (parse(plan.clientAfter) as Record<string, Record<string, unknown>>)[plan.location.key] ?? {};
  const backup: Backup = {
    file: plan.location.file,
    createdAt: new Date().toISOString(),
    original: plan.clientBefore,
    originalSha256: sha256(plan.clientBefore),
    protectedSha256: sha256(plan.clientAfter),
    servers: plan.servers.map((s) => s.name),
    shimEntries: Object.fromEntries(plan.servers.map((s) => [s.name, protectedEntries[s.name]])),
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
  const original = parse(backup.original) as Record<string, Record<string, unknown>>;
  const originals = original[location.key] ?? {};
  const now = readJsonc(location.file);
  const servers = (now.value[location.key] ?? {}) as Record<string, Record<string, unknown>>;
  let text = now.text;
  const report: string[] = [`${location.file} changed since it was protected; merging:`];
  for (const name of backup.servers) {
    const entry = servers[name];
    if (entry && JSON.stringify(entry) === JSON.stringify(backup.shimEntries[name])) {
      text = applyEdits(text, modify(text, [location.key, name], originals[name], FORMAT));
      report.push(`  ${name}: original entry restored`);
    } else {
      report.push(`  ${name}: ${entry ? 'changed since (left as it is)' : 'removed since (not restored)'}`);
    }
  }
  await writeFileAtomic(location.file, text, { mode });
  fs.renameSync(path.join(backupDir, latest), path.join(backupDir, `${latest}.restored`));
  return report;
}
