import fs from 'node:fs';
import { currentUser, readMacManagedPreferences } from './platform-managed-macos.ts';
import { runCommand, type RunCommand } from './platform-managed-settings.ts';
import { readWindowsGroupPolicy } from './platform-managed-windows.ts';

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
 * Both platforms use one vocabulary of settings (platform-managed-settings.ts), laid over the
 * document given in PolicyJson. Each platform's reader is in its own file:
 * platform-managed-macos.ts and platform-managed-windows.ts.
 */

export {
  MAC_MANAGED_PREFERENCES_DIR,
  MANAGED_BUNDLE_ID,
  managedPreferenceSettings,
} from './platform-managed-macos.ts';
export {
  documentFromSettings,
  MANAGED_SETTING_NAMES,
  MANAGED_SETTINGS,
  type ManagedSettingName,
  type RunCommand,
} from './platform-managed-settings.ts';
export { parseRegQuery, WINDOWS_POLICY_KEY } from './platform-managed-windows.ts';

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
