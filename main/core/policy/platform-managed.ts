import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse as parsePlist } from 'plist';
import { WardenError } from '../errors.ts';

/**
 * The managed policy from the platform's own management channel:
 * - macOS: managed preferences of the bundle id {@link MANAGED_BUNDLE_ID}, written by a
 *   configuration profile (MDM, or installed by an administrator) to
 *   `/Library/Managed Preferences/dev.mcp-warden.app.plist` and, for a user-scoped profile,
 *   `/Library/Managed Preferences/<user>/dev.mcp-warden.app.plist`.
 *   Apple reference: "Configuration Profile Reference" and the Device Management payload
 *   documentation (a payload whose PayloadType is an app's preference domain).
 * - Windows: Group Policy values under {@link WINDOWS_POLICY_KEY}, set through the ADMX
 *   template resources/managed/mcp-warden.admx (or by any tool that writes policy values).
 *   Microsoft reference: "Group Policy ADMX syntax reference guide" and `reg query`.
 *
 * Linux has no such channel: its managed location is the root-owned JSON file read by
 * sources.ts (loadManagedPolicy).
 *
 * Both platforms use one vocabulary of settings. Each setting is optional; the ones present are
 * laid over the document given in PolicyJson (see {@link documentFromSettings}):
 *
 * | Setting                  | macOS type (plist)          | Windows type           | Policy document field        |
 * | ------------------------ | --------------------------- | ---------------------- | ---------------------------- |
 * | `PolicyJson`             | string (JSON)               | REG_SZ or REG_MULTI_SZ | the whole document (base)    |
 * | `OrgPolicyUrl`           | string                      | REG_SZ                 | `orgPolicy.url`              |
 * | `OrgPolicyKeys`          | string (JSON array of JWKs) | REG_SZ or REG_MULTI_SZ | `orgPolicy.keys`             |
 * | `OrgId`                  | string                      | REG_SZ                 | `orgPolicy.org`              |
 * | `OrgPollSeconds`         | integer (seconds)           | REG_DWORD              | `orgPolicy.pollSeconds`      |
 * | `OrgGraceHours`          | integer (hours)             | REG_DWORD              | `orgPolicy.graceHours`       |
 * | `CatalogOnly`            | boolean                     | REG_DWORD 0 or 1       | `catalogOnly`                |
 * | `LockServerApprovals`    | boolean                     | REG_DWORD 0 or 1       | `lock` gains serverApprovals |
 * | `LockUserAllowRules`     | boolean                     | REG_DWORD 0 or 1       | `lock` gains userAllowRules  |
 * | `LockAlwaysAllow`        | boolean                     | REG_DWORD 0 or 1       | `lock` gains alwaysAllow     |
 * | `ApprovalTimeoutSeconds` | integer (seconds)           | REG_DWORD              | `approvalTimeoutSeconds`     |
 *
 * A REG_MULTI_SZ (what an ADMX multi-line text box writes) holds the lines of the JSON text.
 * REG_EXPAND_SZ is read as written (no %VARIABLE% expansion). Booleans may also be given as the
 * integers 0 and 1 on either platform.
 */

/** The preference domain (bundle id) configuration profiles target on macOS. */
export const MANAGED_BUNDLE_ID = 'dev.mcp-warden.app';

/**
 * The Group Policy registry key on Windows, exactly as `reg query` takes it. Only
 * administrators (and SYSTEM) can write under HKLM\SOFTWARE\Policies; standard users can read
 * it. That is the ownership guarantee, the counterpart of the root-owned file elsewhere.
 */
export const WINDOWS_POLICY_KEY = 'HKLM\\SOFTWARE\\Policies\\MCP Warden';

/** Where macOS writes managed preferences (machine-wide; per-user ones in a subfolder per user). */
export const MAC_MANAGED_PREFERENCES_DIR = '/Library/Managed Preferences';

/** How each setting is typed: see the table above. */
export const MANAGED_SETTINGS = {
  PolicyJson: 'json',
  OrgPolicyUrl: 'string',
  OrgPolicyKeys: 'json',
  OrgId: 'string',
  OrgPollSeconds: 'integer',
  OrgGraceHours: 'integer',
  CatalogOnly: 'boolean',
  LockServerApprovals: 'boolean',
  LockUserAllowRules: 'boolean',
  LockAlwaysAllow: 'boolean',
  ApprovalTimeoutSeconds: 'integer',
} as const;

export type ManagedSettingName = keyof typeof MANAGED_SETTINGS;

/** Every setting name of the shared vocabulary, in table order. */
export const MANAGED_SETTING_NAMES = Object.keys(MANAGED_SETTINGS) as ManagedSettingName[];

const LOCK_SETTINGS = {
  LockServerApprovals: 'serverApprovals',
  LockUserAllowRules: 'userAllowRules',
  LockAlwaysAllow: 'alwaysAllow',
} as const;

const ORG_SETTINGS = {
  OrgPolicyUrl: 'url',
  OrgPolicyKeys: 'keys',
  OrgId: 'org',
  OrgPollSeconds: 'pollSeconds',
  OrgGraceHours: 'graceHours',
} as const;

/** Runs a program without a shell and returns its exit status and output (decoded as UTF-8). */
export type RunCommand = (cmd: string, args: string[]) => { status: number; stdout: string; stderr: string };

/** Options of {@link readPlatformManagedPolicy}; every OS access can be replaced (tests). */
export interface PlatformManagedOptions {
  /** Default: process.platform. */
  platform?: NodeJS.Platform;
  /** Runs `plutil` (macOS) or `reg` (Windows). Default: spawnSync, 10 s timeout. */
  run?: RunCommand;
  /** Ownership of the macOS plist files. Default: fs.statSync. */
  stat?: typeof fs.statSync;
  /**
   * The account whose per-user managed preferences apply (macOS). Default: the name of the
   * process's user id from the user database (os.userInfo), never $USER, which the user sets.
   */
  user?: string;
  /** Whether a plist file exists (macOS). Default: fs.existsSync. */
  exists?: (file: string) => boolean;
}

/**
 * Reads the managed policy from the platform's management channel.
 *
 * @param options.platform which channel: 'darwin' (managed preferences), 'win32' (Group
 *   Policy); any other platform has none here.
 * @returns `{ origin, document }`: where the settings came from (for messages, e.g. "Group
 *   Policy HKLM\SOFTWARE\Policies\MCP Warden") and the raw policy document built by
 *   {@link documentFromSettings}, still to be validated (parsePolicy in sources.ts).
 *   undefined on Linux and other platforms, and when nothing is configured (no plist file, no
 *   registry key, or only profile bookkeeping keys / no values in it).
 * @throws WardenError POLICY_INVALID when something is configured but cannot be trusted or read:
 *   a plist file not owned by root or writable by group/others, `plutil` or `reg` failing, output
 *   that does not parse, an unknown setting name or a setting of the wrong type (fail closed).
 */
export function readPlatformManagedPolicy(
  options: PlatformManagedOptions = {},
): { origin: string; document: unknown } | undefined {
  const platform = options.platform ?? process.platform;
  const run = options.run ?? runCommand;
  if (platform === 'darwin') {
    return readMacManagedPreferences(
      run,
      options.stat ?? fs.statSync,
      options.exists ?? fs.existsSync,
      options.user === undefined ? currentUser() : options.user,
    );
  }
  if (platform === 'win32') return readWindowsGroupPolicy(run);
  return undefined;
}

/**
 * Builds one raw policy document from platform settings.
 *
 * Order: the document in `PolicyJson` (if any) is the base; then `OrgPolicyUrl`, `OrgPolicyKeys`,
 * `OrgId`, `OrgPollSeconds` and `OrgGraceHours` replace the matching fields of `orgPolicy`
 * (keeping its other fields), `CatalogOnly` and `ApprovalTimeoutSeconds` replace their fields,
 * and each `Lock*` setting that is true adds its lock to the `lock` list of PolicyJson (a lock
 * is never removed here: false, or 0, only means "this setting adds nothing").
 *
 * @param settings setting name -> value as read from the platform: strings, numbers (integers;
 *   seconds or hours as named), booleans, or for PolicyJson/OrgPolicyKeys an array of strings
 *   (lines of a REG_MULTI_SZ, joined with "\n").
 * @param origin where the settings came from; every error names it.
 * @returns the document, not yet validated: pass it through parsePolicy (sources.ts).
 * @throws WardenError POLICY_INVALID naming the origin and the setting when a name is not in the
 *   vocabulary (a misspelt setting would otherwise be dropped silently; the message lists the
 *   known names), when PolicyJson is not JSON or not a JSON object, when OrgPolicyKeys is not
 *   a JSON array, or when a value has the wrong type (e.g. a string where an integer is expected).
 */
export function documentFromSettings(settings: Record<string, unknown>, origin: string): unknown {
  const unknownNames = Object.keys(settings).filter((name) => !Object.hasOwn(MANAGED_SETTINGS, name));
  if (unknownNames.length > 0) {
    const hints = unknownNames.map((name) => {
      const near = MANAGED_SETTING_NAMES.find((known) => known.toLowerCase() === name.toLowerCase());
      return near ? `"${name}" (did you mean "${near}"?)` : `"${name}"`;
    });
    throw new WardenError(
      'POLICY_INVALID',
      `${origin}: unknown setting${unknownNames.length > 1 ? 's' : ''} ${hints.join(', ')}; it is refused rather than ignored. Known settings: ${MANAGED_SETTING_NAMES.join(', ')}`,
    );
  }
  const value = (name: ManagedSettingName): unknown => settings[name];

  let document: Record<string, unknown> = {};
  if (value('PolicyJson') !== undefined) {
    const parsed = jsonSetting(settings, 'PolicyJson', origin);
    if (!isPlainObject(parsed)) {
      throw new WardenError(
        'POLICY_INVALID',
        `${origin}: setting "PolicyJson" must be a JSON object (a policy document), not ${describeValue(parsed)}`,
      );
    }
    document = { ...parsed };
  }

  const orgNames = (Object.keys(ORG_SETTINGS) as (keyof typeof ORG_SETTINGS)[]).filter(
    (name) => value(name) !== undefined,
  );
  if (orgNames.length > 0) {
    if (document.orgPolicy !== undefined && !isPlainObject(document.orgPolicy)) {
      throw new WardenError(
        'POLICY_INVALID',
        `${origin}: "orgPolicy" in setting "PolicyJson" must be an object to combine it with ${orgNames.join(', ')}`,
      );
    }
    const orgPolicy: Record<string, unknown> = { ...(document.orgPolicy as Record<string, unknown>) };
    for (const name of orgNames) {
      if (name === 'OrgPolicyKeys') {
        const keys = jsonSetting(settings, name, origin);
        if (!Array.isArray(keys)) {
          throw new WardenError(
            'POLICY_INVALID',
            `${origin}: setting "OrgPolicyKeys" must be a JSON array of Ed25519 public keys (JWK), not ${describeValue(keys)}`,
          );
        }
        orgPolicy.keys = keys;
      } else {
        orgPolicy[ORG_SETTINGS[name]] = typedSetting(settings, name, origin);
      }
    }
    document.orgPolicy = orgPolicy;
  }

  if (value('CatalogOnly') !== undefined) {
    document.catalogOnly = typedSetting(settings, 'CatalogOnly', origin);
  }

  const locks = (Object.keys(LOCK_SETTINGS) as (keyof typeof LOCK_SETTINGS)[])
    .filter((name) => value(name) !== undefined && typedSetting(settings, name, origin) === true)
    .map((name) => LOCK_SETTINGS[name]);
  if (locks.length > 0) {
    if (document.lock !== undefined && !Array.isArray(document.lock)) {
      throw new WardenError(
        'POLICY_INVALID',
        `${origin}: "lock" in setting "PolicyJson" must be an array to combine it with the Lock* settings`,
      );
    }
    const existing = (document.lock as unknown[] | undefined) ?? [];
    document.lock = [...existing, ...locks.filter((lock) => !existing.includes(lock))];
  }

  if (value('ApprovalTimeoutSeconds') !== undefined) {
    document.approvalTimeoutSeconds = typedSetting(settings, 'ApprovalTimeoutSeconds', origin);
  }
  return document;
}

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
 * Parses the text `reg query <key>` prints (no /s) into settings:
 *
 *     HKEY_LOCAL_MACHINE\SOFTWARE\Policies\MCP Warden
 *         OrgPolicyUrl    REG_SZ    https://policy.example.com/mcp-warden/policy.jws
 *         CatalogOnly    REG_DWORD    0x1
 *         PolicyJson    REG_MULTI_SZ    {\0  "rules": []\0}
 *
 * REG_SZ and REG_EXPAND_SZ become strings (spaces kept, no variable expansion), REG_DWORD and
 * REG_QWORD numbers, REG_MULTI_SZ an array of its strings (printed joined by the two characters
 * `\0`). Value names are matched to the vocabulary case-insensitively, as the registry does;
 * other names are kept as they are, for documentFromSettings to refuse. An empty default value
 * (`(Default)`) is skipped.
 * @throws WardenError POLICY_INVALID naming `origin` for a subkey (MCP Warden reads none), a
 *   value type it does not read (REG_BINARY, REG_NONE, …), a line it cannot parse, or
 *   characters that did not survive reg.exe's console encoding (write JSON with \u escapes).
 */
export function parseRegQuery(stdout: string, origin: string): Record<string, unknown> {
  if (stdout.includes('\uFFFD')) {
    throw new WardenError(
      'POLICY_INVALID',
      `${origin}: a value contains characters reg.exe does not print faithfully; use ASCII only (write other characters in JSON as \\u escapes, e.g. \\u00e9)`,
    );
  }
  const ourKey = WINDOWS_POLICY_KEY.replace(/^HKLM\\/, 'HKEY_LOCAL_MACHINE\\').toLowerCase();
  const canonical = new Map(MANAGED_SETTING_NAMES.map((name) => [name.toLowerCase(), name]));
  const settings: Record<string, unknown> = {};
  let header = false;
  for (const line of stdout.split(/\r?\n/)) {
    if (line.trim() === '') continue;
    if (/^HKEY_/.test(line)) {
      if (!header && line.trim().toLowerCase() === ourKey) {
        header = true;
        continue;
      }
      throw new WardenError(
        'POLICY_INVALID',
        `${origin}: unexpected key ${line.trim()}; MCP Warden reads only the values of ${WINDOWS_POLICY_KEY}, not subkeys`,
      );
    }
    const match = /^ {4}(.+?) {4}(REG_[A-Z0-9_]+)(?: {4}(.*))?$/.exec(line);
    if (!match || !header) {
      throw new WardenError('POLICY_INVALID', `${origin}: cannot parse this line of reg query: ${line}`);
    }
    const [, rawName = '', type = '', data = ''] = match;
    // An empty default value ("(Default)", translated on other Windows languages) holds nothing.
    if (/^\(.+\)$/.test(rawName) && (data === '' || data === '(value not set)')) continue;
    const name = canonical.get(rawName.toLowerCase()) ?? rawName;
    switch (type) {
      case 'REG_SZ':
      case 'REG_EXPAND_SZ':
        settings[name] = data;
        break;
      case 'REG_MULTI_SZ':
        settings[name] = data === '' ? [] : data.split('\\0');
        break;
      case 'REG_DWORD':
      case 'REG_QWORD': {
        if (!/^0x[0-9a-fA-F]+$/.test(data)) {
          throw new WardenError(
            'POLICY_INVALID',
            `${origin}: value "${name}" (${type}) is not a number: ${data}`,
          );
        }
        settings[name] = Number(BigInt(data));
        break;
      }
      default:
        throw new WardenError(
          'POLICY_INVALID',
          `${origin}: value "${name}" has type ${type}; MCP Warden reads REG_SZ, REG_EXPAND_SZ, REG_MULTI_SZ, REG_DWORD and REG_QWORD`,
        );
    }
  }
  return settings;
}

// ---------------------------------------------------------------------------------------------
// macOS

function readMacManagedPreferences(
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
  let value: unknown;
  try {
    value = parsePlist(result.stdout);
  } catch (error) {
    throw new WardenError(
      'POLICY_INVALID',
      `the ${origin} is not a property list: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  return managedPreferenceSettings(value, origin);
}

function currentUser(): string | undefined {
  try {
    return os.userInfo().username;
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// Windows

const REG_KEY_MISSING = /unable to find the specified registry key or value/i;

function readWindowsGroupPolicy(run: RunCommand): { origin: string; document: unknown } | undefined {
  const origin = `Group Policy ${WINDOWS_POLICY_KEY}`;
  const reg = path.win32.join(process.env.SystemRoot ?? 'C:\\Windows', 'System32', 'reg.exe');
  // /reg:64: the native (64-bit) view, where Group Policy writes, however Warden was started.
  const result = run(reg, ['query', WINDOWS_POLICY_KEY, '/reg:64']);
  if (result.status !== 0) {
    if (keyIsMissing(result, run, reg)) return undefined;
    throw new WardenError(
      'POLICY_INVALID',
      `cannot read ${origin}: reg query exited with status ${result.status}: ${(result.stderr || result.stdout).trim()}`,
    );
  }
  const settings = parseRegQuery(result.stdout, origin);
  if (Object.keys(settings).length === 0) return undefined;
  return { origin, document: documentFromSettings(settings, origin) };
}

/**
 * Whether a failed `reg query` means "no such key". reg.exe prints its error in the language of
 * Windows, so the English message is only a shortcut: otherwise the parent key is listed (key
 * paths are not translated) and the answer is whether ours is among its subkeys.
 */
function keyIsMissing(
  result: { status: number; stdout: string; stderr: string },
  run: RunCommand,
  reg: string,
): boolean {
  if (result.status === 1 && REG_KEY_MISSING.test(result.stderr)) return true;
  const parentKey = WINDOWS_POLICY_KEY.slice(0, WINDOWS_POLICY_KEY.lastIndexOf('\\'));
  const parent = run(reg, ['query', parentKey, '/reg:64']);
  if (parent.status !== 0) return false;
  const ourKey = WINDOWS_POLICY_KEY.replace(/^HKLM\\/, 'HKEY_LOCAL_MACHINE\\').toLowerCase();
  return !parent.stdout.split(/\r?\n/).some((line) => line.trim().toLowerCase() === ourKey);
}

// ---------------------------------------------------------------------------------------------
// Helpers

function runCommand(cmd: string, args: string[]): { status: number; stdout: string; stderr: string } {
  const result = spawnSync(cmd, args, {
    encoding: 'utf8',
    timeout: 10_000,
    windowsHide: true,
    maxBuffer: 16 * 1024 * 1024,
  });
  if (result.error) return { status: -1, stdout: result.stdout ?? '', stderr: result.error.message };
  return { status: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
}

/** A string/integer/boolean setting, checked against its type in the vocabulary. */
function typedSetting(settings: Record<string, unknown>, name: ManagedSettingName, origin: string): unknown {
  const value = settings[name];
  const type = MANAGED_SETTINGS[name];
  switch (type) {
    case 'string':
      if (typeof value === 'string') return value;
      break;
    case 'integer':
      if (typeof value === 'number' && Number.isSafeInteger(value)) return value;
      break;
    case 'boolean':
      if (typeof value === 'boolean') return value;
      if (value === 0 || value === 1) return value === 1;
      break;
    case 'json':
      return jsonSetting(settings, name, origin);
  }
  const expected: Record<string, string> = {
    string: 'a string (plist <string>, REG_SZ)',
    integer: 'an integer (plist <integer>, REG_DWORD)',
    boolean: 'a boolean (plist <true/>/<false/>, REG_DWORD 0 or 1)',
  };
  throw new WardenError(
    'POLICY_INVALID',
    `${origin}: setting "${name}" must be ${expected[type]}, not ${describeValue(value)}`,
  );
}

/** A JSON-text setting, parsed; an array of strings is lines of text (a REG_MULTI_SZ). */
function jsonSetting(settings: Record<string, unknown>, name: ManagedSettingName, origin: string): unknown {
  const value = settings[name];
  let text: string;
  if (typeof value === 'string') text = value;
  else if (Array.isArray(value) && value.every((line) => typeof line === 'string')) text = value.join('\n');
  else {
    throw new WardenError(
      'POLICY_INVALID',
      `${origin}: setting "${name}" must be JSON text (a plist <string>, REG_SZ or REG_MULTI_SZ), not ${describeValue(value)}`,
    );
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new WardenError(
      'POLICY_INVALID',
      `${origin}: setting "${name}" is not valid JSON: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    !(value instanceof Date) &&
    !(value instanceof Uint8Array)
  );
}

function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'string') {
    return `a string (${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)})`;
  }
  if (typeof value === 'number')
    return Number.isInteger(value) ? `the integer ${value}` : `the number ${value}`;
  if (typeof value === 'boolean') return `the boolean ${value}`;
  if (Array.isArray(value)) return 'an array';
  if (value instanceof Date) return 'a date';
  if (value instanceof Uint8Array) return 'data (bytes)';
  if (typeof value === 'object') return 'a dictionary';
  return typeof value;
}
