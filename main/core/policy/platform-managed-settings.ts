import { spawnSync } from 'node:child_process';
import { WardenError } from '../errors.ts';

/**
 * The settings vocabulary shared by macOS managed preferences and Windows Group Policy
 * (platform-managed.ts reads them), and how they become one policy document.
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

/** {@link RunCommand} by spawnSync: no shell, 10 s timeout, 16 MiB of output at most. */
export function runCommand(cmd: string, args: string[]): { status: number; stdout: string; stderr: string } {
  const result = spawnSync(cmd, args, {
    encoding: 'utf8',
    timeout: 10_000,
    windowsHide: true,
    maxBuffer: 16 * 1024 * 1024,
  });
  if (result.error) return { status: -1, stdout: result.stdout ?? '', stderr: result.error.message };
  return { status: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
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

/** A dictionary (plist or JSON object): not null, an array, a date or bytes. */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    !(value instanceof Date) &&
    !(value instanceof Uint8Array)
  );
}

/** A short description of a setting's value for error messages (never more than 40 characters of a string). */
export function describeValue(value: unknown): string {
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
