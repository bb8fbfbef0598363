import type fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type * as Plist from 'plist';
import { WardenError } from '../errors.ts';
import {
  describeValue,
  documentFromSettings,
  isPlainObject,
  type RunCommand,
} from './platform-managed-settings.ts';
import { lazyModule } from '../lazy-module.ts';

// macOS: managed preferences written by configuration profiles (see platform-managed.ts).

/** plist (with xmldom and xmlbuilder), loaded only where managed preferences are read (macOS). */
const plist = lazyModule<typeof Plist>('plist', 'the property list parser');

/** The preference domain (bundle id) configuration profiles target on macOS. */
export const MANAGED_BUNDLE_ID = 'dev.mcp-warden.app';

/** Where macOS writes managed preferences (machine-wide; per-user ones in a subfolder per user). */
export const MAC_MANAGED_PREFERENCES_DIR = '/Library/Managed Preferences';

/**
 * The settings in a parsed managed-preferences plist (or a profile payload): the dictionary
 * without the keys macOS and profile tools add for their own bookkeeping, namely keys starting
 * with `Payload` (PayloadUUID, PayloadIdentifier, PayloadType, PayloadVersion,
 * PayloadDisplayName, PayloadOrganization, …), keys starting with `com.apple.`, and
 * `_manualProfile` (set when a profile was installed by hand). No setting of the vocabulary
 * starts like these, so nothing IT meant as a setting is dropped.
 * @throws WardenError POLICY_INVALID when `value` is not a dictionary.
 */
export function managedPreferenceSettings(value: unknown, origin: string): Record<string, unknown> {
  if (!isPlainObject(value)) {
    throw new WardenError(
      'POLICY_INVALID',
      `${origin}: expected a dictionary of settings, found ${describeValue(value)}`,
    );
  }
  const settings: Record<string, unknown> = {};
  for (const [key, setting] of Object.entries(value)) {
    if (key.startsWith('Payload') || key.startsWith('com.apple.') || key === '_manualProfile') continue;
    settings[key] = setting;
  }
  return settings;
}

/**
 * Reads the managed preferences of {@link MANAGED_BUNDLE_ID}: the machine-wide file and, for
 * `user`, the per-user one; machine settings win over per-user settings of the same name.
 * @returns `{ origin, document }` (see readPlatformManagedPolicy), or undefined when neither
 *   file exists or holds a setting.
 * @throws WardenError POLICY_INVALID for a user name that is not a plain name, a file not owned
 *   by root or writable by group/others, plutil failing, or settings documentFromSettings refuses.
 */
export function readMacManagedPreferences(
  run: RunCommand,
  stat: typeof fs.statSync,
  exists: (file: string) => boolean,
  user: string | undefined,
): { origin: string; document: unknown } | undefined {
  const fileName = `${MANAGED_BUNDLE_ID}.plist`;
  const machineFile = path.posix.join(MAC_MANAGED_PREFERENCES_DIR, fileName);
  let userFile: string | undefined;
  if (user !== undefined && user !== '') {
    if (user.includes('/') || user === '.' || user === '..') {
      throw new WardenError(
        'POLICY_INVALID',
        `cannot look up per-user managed preferences for the user name "${user}"`,
      );
    }
    userFile = path.posix.join(MAC_MANAGED_PREFERENCES_DIR, user, fileName);
  }

  // Machine settings win over per-user settings of the same name: the machine-wide (device)
  // profile is the organization's policy for the computer; a user-scoped profile only adds to it.
  const read: { file: string; settings: Record<string, unknown> }[] = [];
  for (const file of [userFile, machineFile]) {
    if (file === undefined || !exists(file)) continue;
    const settings = readManagedPlist(file, run, stat);
    if (settings === undefined || Object.keys(settings).length === 0) continue;
    documentFromSettings(settings, `macOS managed preferences ${file}`); // names the file on error
    read.push({ file, settings });
  }
  if (read.length === 0) return undefined;
  const merged = Object.assign({}, ...read.map((r) => r.settings)) as Record<string, unknown>;
  const origin = `macOS managed preferences ${read
    .map((r) => r.file)
    .reverse()
    .join(' and ')}`;
  return { origin, document: documentFromSettings(merged, origin) };
}

/** The settings of one managed-preferences file, or undefined when it vanished meanwhile. */
function readManagedPlist(
  file: string,
  run: RunCommand,
  stat: typeof fs.statSync,
): Record<string, unknown> | undefined {
  const origin = `macOS managed preferences ${file}`;
  let stats: fs.Stats;
  try {
    stats = stat(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new WardenError('POLICY_INVALID', `cannot read the ${origin}: ${String(error)}`);
  }
  // Same rule as the managed JSON file (sources.ts): only root may have written it.
  if (stats.uid !== 0) {
    throw new WardenError(
      'POLICY_INVALID',
      `the ${origin} is not owned by root (uid ${stats.uid}); only a configuration profile may write it`,
    );
  }
  if (stats.mode & 0o022) {
    throw new WardenError(
      'POLICY_INVALID',
      `the ${origin} is writable by group or others (mode ${(stats.mode & 0o777).toString(8)})`,
    );
  }
  // The files are usually binary plists; plutil prints them as XML.
  const result = run('/usr/bin/plutil', ['-convert', 'xml1', '-o', '-', file]);
  if (result.status !== 0) {
    throw new WardenError(
      'POLICY_INVALID',
      `cannot read the ${origin}: plutil exited with status ${result.status}: ${(result.stderr || result.stdout).trim()}`,
    );
  }
  const { parse } = plist();
  let value: unknown;
  try {
    value = parse(result.stdout);
  } catch (error) {
    throw new WardenError(
      'POLICY_INVALID',
      `the ${origin} is not a property list: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  return managedPreferenceSettings(value, origin);
}

/** The name of the process's user id from the user database (never $USER), or undefined. */
export function currentUser(): string | undefined {
  try {
    return os.userInfo().username;
  } catch {
    return undefined;
  }
}
