import fs from 'node:fs';
import path from 'node:path';
import { applyEdits, modify } from 'jsonc-parser';
import writeFileAtomic from 'write-file-atomic';
import { connectArgs } from '../config/server-name.ts';
import { WardenError } from '../errors.ts';
import { ownValue } from '../own-property.ts';
import type { CatalogEntry } from '../policy/org-policy.ts';
import type { ClientLocation } from './locations.ts';
import { parseJsonc } from './jsonc.ts';
import { FORMAT, readJsonc } from './protect.ts';

/** What `catalog install` wrote. */
export interface CatalogInstall {
  /** The entry put into Warden's config (exactly the catalog's command and args, or URL). */
  wardenEntry: Record<string, unknown>;
  /** The entry put into the client's config (it launches the connect shim). */
  clientEntry: Record<string, unknown>;
  /** False when both entries were already there, identical. */
  changed: boolean;
}

/** The file's text; a missing client file reads as an empty object. */
function read(file: string, missingOk: boolean): string {
  if (!fs.existsSync(file)) {
    if (missingOk) return '{}\n';
    throw new WardenError('NOT_FOUND', `no file ${file}`);
  }
  return readJsonc(file).text;
}

function entryAt(text: string, key: string, name: string): unknown {
  return ownValue(ownValue(parseJsonc(text) as Record<string, Record<string, unknown>>, key), name);
}

/**
 * Installs an org catalog server into a client in one step: Warden's config gets the entry
 * with the catalog's exact command and args (or URL), which the org catalog admits as
 * IT-approved; the client's config gets `<launcher> connect <name>`. Comments and formatting of
 * both files are kept (jsonc-parser edits); writes are atomic; a missing client file is created.
 * @throws WardenError CONFLICT when either file already has another server of that name,
 *   CONFIG_NOT_JSON when a file is not a JSON object.
 */
export async function installCatalogEntry(
  entry: CatalogEntry,
  location: ClientLocation,
  wardenConfigFile: string,
  launcher: string,
): Promise<CatalogInstall> {
  const wardenEntry: Record<string, unknown> = entry.url
    ? { url: entry.url }
    : { command: entry.command, args: entry.args ?? [] };
  const clientEntry: Record<string, unknown> = { command: launcher, args: connectArgs(entry.name) };
  if (location.client === 'vscode') clientEntry.type = 'stdio';

  const wardenText = read(wardenConfigFile, false);
  const clientText = read(location.file, true);
  const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);
  const existingWarden = entryAt(wardenText, 'mcpServers', entry.name);
  if (existingWarden !== undefined && !same(existingWarden, wardenEntry))
    throw new WardenError(
      'CONFLICT',
      `Warden's config (${wardenConfigFile}) already has another server named "${entry.name}"; remove or rename it first`,
    );
  const existingClient = entryAt(clientText, location.key, entry.name);
  if (existingClient !== undefined && !same(existingClient, clientEntry))
    throw new WardenError(
      'CONFLICT',
      `${location.label} (${location.file}) already has a server named "${entry.name}"; remove or rename it first`,
    );
  if (existingWarden !== undefined && existingClient !== undefined)
    return { wardenEntry, clientEntry, changed: false };

  if (existingWarden === undefined) {
    const next = applyEdits(wardenText, modify(wardenText, ['mcpServers', entry.name], wardenEntry, FORMAT));
    await writeFileAtomic(wardenConfigFile, next, { mode: 0o600 });
  }
  if (existingClient === undefined) {
    const next = applyEdits(clientText, modify(clientText, [location.key, entry.name], clientEntry, FORMAT));
    fs.mkdirSync(path.dirname(location.file), { recursive: true });
    const mode = fs.existsSync(location.file) ? fs.statSync(location.file).mode & 0o777 : 0o600;
    await writeFileAtomic(location.file, next, { mode });
  }
  return { wardenEntry, clientEntry, changed: true };
}
