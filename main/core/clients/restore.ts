import fs from 'node:fs';
import path from 'node:path';
import { WardenError } from '../errors.ts';
import { runChange } from '../change/run-change.ts';
import { sha256 } from '../change/steps.ts';
import { backupsOf, openBackup, readBackup, sealLegacyBackups } from './backup.ts';
import { assertUniqueServers, editJsonc, parseJsonc, serversOf, type JsoncDocument } from './jsonc-file.ts';
import type { ClientLocation } from './locations.ts';
import type { ProtectOptions } from './protect.ts';

/**
 * Puts a client config back as it was before `protect`, as one change: byte for byte when the
 * file is still exactly what protect wrote (or is gone); otherwise each protected entry that
 * still launches the shim gets its original back and everything else is kept, with a report.
 * The original comes from the encrypted backup, whose key is in the keychain. Backups earlier
 * versions kept in plain text are encrypted first.
 * @returns a sentence per server saying what happened.
 * @throws WardenError NOT_FOUND (no backup, or its key is gone), CONFLICT (the latest backup is of
 *   another file; the file changed meanwhile), CONFIG_NOT_JSON.
 */
export async function restoreClient(
  location: ClientLocation,
  options: Pick<ProtectOptions, 'ctx' | 'backupDir'>,
): Promise<string[]> {
  const { ctx, backupDir } = options;
  await sealLegacyBackups(backupDir, ctx);
  const latest = backupsOf(backupDir, location.id).at(-1);
  if (!latest)
    throw new WardenError('NOT_FOUND', `no backup of ${location.label} (${location.file}) in ${backupDir}`);
  const backupFile = path.join(backupDir, latest);
  const backup = readBackup(backupFile);
  if (!('sealed' in backup)) throw new WardenError('CONFLICT', `${backupFile} is still in plain text`);
  if (path.resolve(backup.file) !== path.resolve(location.file))
    throw new WardenError(
      'CONFLICT',
      `the latest backup of ${location.label} is of ${backup.file}, not ${location.file}; restore that file (--file ${backup.file})`,
    );
  const original = await openBackup(backup, ctx);
  const current = fs.existsSync(location.file) ? fs.readFileSync(location.file) : null;
  let content: Buffer | string;
  let report: string[];
  if (current === null) {
    content = original;
    report = [`${location.file} was gone; the original is back, byte for byte`];
  } else if (sha256(current) === backup.protectedSha256) {
    content = original;
    report = [`${location.file} is back to its original, byte for byte`];
  } else {
    ({ content, report } = mergeOriginals(
      location,
      parseJsonc(current, location.file),
      parseJsonc(original, backup.file),
      backup,
    ));
  }
  await runChange(ctx, `clients restore ${location.id}`, [
    { kind: 'write-file', file: location.file, content, expect: current },
    { kind: 'rename-file', from: backupFile, to: `${backupFile}.restored` },
  ]);
  return report;
}

function mergeOriginals(
  location: ClientLocation,
  now: JsoncDocument,
  original: JsoncDocument,
  backup: { servers: string[]; shimEntries: Record<string, unknown> },
): { content: string; report: string[] } {
  assertUniqueServers(now, location.key);
  const originals = serversOf(original, location.key);
  const servers = serversOf(now, location.key);
  let text = now.text;
  const report: string[] = [`${location.file} changed since it was protected; merging:`];
  for (const name of backup.servers) {
    const entry = Object.hasOwn(servers, name) ? servers[name] : undefined;
    if (
      entry &&
      Object.hasOwn(originals, name) &&
      JSON.stringify(entry) === JSON.stringify(backup.shimEntries[name])
    ) {
      text = editJsonc(text, [location.key, name], originals[name]);
      report.push(`  ${name}: original entry restored`);
    } else {
      report.push(`  ${name}: ${entry ? 'changed since (left as it is)' : 'removed since (not restored)'}`);
    }
  }
  parseJsonc(text, location.file);
  return { content: text, report };
}
