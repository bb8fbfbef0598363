import path from 'node:path';
import { WardenError } from '../errors.ts';
import { documentFromSettings, MANAGED_SETTING_NAMES, type RunCommand } from './platform-managed-settings.ts';

// Windows: Group Policy values in the registry (see platform-managed.ts).

/**
 * The Group Policy registry key on Windows, exactly as `reg query` takes it. Only
 * administrators (and SYSTEM) can write under HKLM\SOFTWARE\Policies; standard users can read
 * it. That is the ownership guarantee, the counterpart of the root-owned file elsewhere.
 */
export const WINDOWS_POLICY_KEY = 'HKLM\\SOFTWARE\\Policies\\MCP Warden';

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

const REG_KEY_MISSING = /unable to find the specified registry key or value/i;

/**
 * Reads the Group Policy values under {@link WINDOWS_POLICY_KEY} with reg.exe (64-bit view).
 * @returns `{ origin, document }` (see readPlatformManagedPolicy), or undefined when the key is
 *   missing or holds no values.
 * @throws WardenError POLICY_INVALID when reg query fails otherwise, or for values parseRegQuery
 *   or documentFromSettings refuses.
 */
export function readWindowsGroupPolicy(run: RunCommand): { origin: string; document: unknown } | undefined {
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
