import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { describeError, WardenError } from '../errors.ts';
import { runChange, type ChangeContext, type Intent } from '../change/run-change.ts';

/**
 * A backup of a client config taken by `protect`, for `restore`. The original file holds the
 * plaintext secrets protect moved (and perhaps others), so it is kept only encrypted:
 * AES-256-GCM with a random key of its own, kept in the OS keychain under `sealed.key`. The
 * metadata is authenticated with it (GCM additional data).
 */
export interface ClientBackup {
  version: 2;
  /** The client config file it is of. */
  file: string;
  createdAt: string;
  /** The servers protect rewrote. */
  servers: string[];
  /** The entries protect wrote (restore puts back the original only where these are unchanged). */
  shimEntries: Record<string, unknown>;
  /** sha256 of the file protect wrote: when it is still exactly that, restore is byte for byte. */
  protectedSha256: string;
  sealed: { cipher: 'aes-256-gcm'; key: string; iv: string; tag: string; data: string };
}

/** A backup as versions before 2 wrote it: the original in plain text. */
interface LegacyBackup extends Omit<ClientBackup, 'version' | 'sealed'> {
  original: string;
}

/** Name of the keychain entry holding a backup's key. */
export const backupKeyName = (): string => `backup.${randomBytes(8).toString('hex')}`;

/**
 * Encrypts a client config's original bytes into a backup.
 * @returns the backup file's text and the key (base64) to keep in the keychain as `keyName`.
 */
export function sealBackup(
  meta: Omit<ClientBackup, 'version' | 'sealed'>,
  original: Buffer,
  keyName: string,
): { text: string; key: string } {
  const key = randomBytes(32);
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  const partial = { version: 2 as const, ...meta };
  cipher.setAAD(additionalData(partial, keyName));
  const data = Buffer.concat([cipher.update(original), cipher.final()]);
  const backup: ClientBackup = {
    ...partial,
    sealed: {
      cipher: 'aes-256-gcm',
      key: keyName,
      iv: iv.toString('base64'),
      tag: cipher.getAuthTag().toString('base64'),
      data: data.toString('base64'),
    },
  };
  return { text: JSON.stringify(backup, null, 2) + '\n', key: key.toString('base64') };
}

/**
 * Decrypts a backup's original bytes with its key from the keychain.
 * @throws WardenError NOT_FOUND when the key is not in the keychain, CONFLICT when the backup
 *   was altered (authentication fails).
 */
export async function openBackup(backup: ClientBackup, ctx: Pick<ChangeContext, 'secrets'>): Promise<Buffer> {
  const key = await ctx.secrets.get(backup.sealed.key);
  if (key === undefined)
    throw new WardenError(
      'NOT_FOUND',
      `the key of the backup of ${backup.file} ("${backup.sealed.key}") is not in the OS keychain, so it cannot be restored`,
    );
  try {
    const decipher = createDecipheriv(
      'aes-256-gcm',
      Buffer.from(key, 'base64'),
      Buffer.from(backup.sealed.iv, 'base64'),
    );
    decipher.setAAD(additionalData(backup, backup.sealed.key));
    decipher.setAuthTag(Buffer.from(backup.sealed.tag, 'base64'));
    return Buffer.concat([decipher.update(Buffer.from(backup.sealed.data, 'base64')), decipher.final()]);
  } catch (error) {
    throw new WardenError(
      'CONFLICT',
      `the backup of ${backup.file} was altered or its key does not match (${describeError(error)}); it cannot be restored`,
    );
  }
}

/**
 * Reads a backup file.
 * @throws WardenError CONFLICT when it is not a backup this version knows.
 */
export function readBackup(file: string): ClientBackup | LegacyBackup {
  const value = JSON.parse(fs.readFileSync(file, 'utf8')) as Partial<ClientBackup & LegacyBackup>;
  if (value.version === 2 && value.sealed) return value as ClientBackup;
  if (typeof value.original === 'string') return value as LegacyBackup;
  throw new WardenError('CONFLICT', `${file} is not a client config backup this version of MCP Warden knows`);
}

/** The backups of one client config location, oldest first (names sort by time). */
export function backupsOf(backupDir: string, locationId: string): string[] {
  if (!fs.existsSync(backupDir)) return [];
  return fs
    .readdirSync(backupDir)
    .filter((f) => f.startsWith(`${locationId}--`) && f.endsWith('.json'))
    .sort();
}

/**
 * Encrypts backups that earlier versions wrote in plain text (`*.json` and `*.json.restored`),
 * in one change: each gets its own key in the keychain, and the plaintext file is replaced.
 * @returns the files sealed.
 */
export async function sealLegacyBackups(backupDir: string, ctx: ChangeContext): Promise<string[]> {
  if (!fs.existsSync(backupDir)) return [];
  const intents: Intent[] = [];
  const sealed: string[] = [];
  for (const name of fs.readdirSync(backupDir)) {
    if (!/\.json(\.restored)?$/.test(name)) continue;
    const file = path.join(backupDir, name);
    let backup: ClientBackup | LegacyBackup;
    try {
      backup = readBackup(file);
    } catch {
      continue; // not ours to judge
    }
    if (!('original' in backup)) continue;
    const keyName = backupKeyName();
    const { text, key } = sealBackup(
      {
        file: backup.file,
        createdAt: backup.createdAt,
        servers: backup.servers,
        shimEntries: backup.shimEntries,
        protectedSha256: backup.protectedSha256,
      },
      Buffer.from(backup.original, 'utf8'),
      keyName,
    );
    intents.push({ kind: 'set-secret', name: keyName, value: key });
    intents.push({ kind: 'write-file', file, content: text, expect: fs.readFileSync(file), mode: 0o600 });
    sealed.push(file);
  }
  if (intents.length) await runChange(ctx, 'encrypt client config backups kept in plain text', intents);
  return sealed;
}

function additionalData(backup: Omit<ClientBackup, 'sealed'>, keyName: string): Buffer {
  return Buffer.from(
    JSON.stringify([
      backup.version,
      backup.file,
      backup.createdAt,
      backup.servers,
      backup.shimEntries,
      backup.protectedSha256,
      keyName,
    ]),
  );
}
