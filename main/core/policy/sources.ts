import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { WardenError } from '../errors.ts';
import { readPlatformManagedPolicy } from './platform-managed.ts';
import { policyDocumentSchema, type PolicyDocument, type PolicySource } from '../config/policy-schema.ts';

/** Environment variable naming another managed policy file (tests, non-standard installs). */
export const MANAGED_POLICY_ENV_VAR = 'MCP_WARDEN_MANAGED_POLICY';

/**
 * The machine-managed policy file IT deploys, per OS. It must be owned by root (POSIX) and not
 * writable by group or others, so a user cannot loosen it:
 * - Linux: /etc/mcp-warden/managed-policy.json
 * - macOS: /Library/Application Support/MCP Warden/managed-policy.json
 * - Windows: %ProgramData%\MCP Warden\managed-policy.json
 */
export function managedPolicyPath(
  platform: NodeJS.Platform = process.platform,
  env: NodeJS.ProcessEnv = process.env,
): string {
  if (env[MANAGED_POLICY_ENV_VAR]) return path.resolve(env[MANAGED_POLICY_ENV_VAR]);
  switch (platform) {
    case 'darwin':
      return '/Library/Application Support/MCP Warden/managed-policy.json';
    case 'win32':
      return path.join(env.ProgramData ?? 'C:\\ProgramData', 'MCP Warden', 'managed-policy.json');
    default:
      return '/etc/mcp-warden/managed-policy.json';
  }
}

/**
 * The machine's managed policy, wherever IT put it: on macOS the managed preferences of
 * dev.mcp-warden.app (configuration profiles) and on Windows Group Policy
 * (HKLM\SOFTWARE\Policies\MCP Warden) when configured there, else the JSON file (see
 * managedPolicyPath; on Linux always the file). `$MCP_WARDEN_MANAGED_POLICY` or an explicit
 * file skips the platform stores. One source, never a mix (docs/managed-policy.md).
 * @returns undefined when nothing is configured.
 * @throws WardenError POLICY_INVALID when what is configured is unsafe, unreadable or invalid.
 */
export function loadMachinePolicy(
  file?: string,
  env: NodeJS.ProcessEnv = process.env,
): PolicySource | undefined {
  if (file === undefined && !env[MANAGED_POLICY_ENV_VAR]) {
    const platform = readPlatformManagedPolicy();
    if (platform) {
      return {
        kind: 'managed',
        origin: platform.origin,
        document: parsePolicy(JSON.stringify(platform.document), platform.origin),
      };
    }
  }
  return loadManagedPolicy(file ?? managedPolicyPath());
}

/**
 * Loads the managed policy file, if there is one.
 * @returns undefined when the file does not exist.
 * @throws WardenError POLICY_INVALID when it exists but is not root-owned, is writable by
 *   others, is not JSON or does not match the schema: Warden then starts nothing (fail closed).
 */
export function loadManagedPolicy(file = managedPolicyPath()): PolicySource | undefined {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new WardenError('POLICY_INVALID', `cannot read the managed policy ${file}: ${String(error)}`);
  }
  if (process.platform !== 'win32') {
    if (stat.uid !== 0) {
      throw new WardenError(
        'POLICY_INVALID',
        `the managed policy ${file} is not owned by root (uid ${stat.uid}); it is ignored only by refusing to run`,
      );
    }
    if (stat.mode & 0o022) {
      throw new WardenError(
        'POLICY_INVALID',
        `the managed policy ${file} is writable by group or others (mode ${(stat.mode & 0o777).toString(8)}); fix its permissions (chmod 644)`,
      );
    }
  }
  return {
    kind: 'managed',
    origin: file,
    document: parsePolicy(fs.readFileSync(file, 'utf8'), `managed policy ${file}`),
  };
}

/**
 * Parses and validates a policy document.
 * @throws WardenError POLICY_INVALID naming `what` and each invalid field.
 */
export function parsePolicy(text: string, what: string): PolicyDocument {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new WardenError(
      'POLICY_INVALID',
      `${what} is not valid JSON: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  const parsed = policyDocumentSchema.safeParse(raw);
  if (!parsed.success) {
    throw new WardenError(
      'POLICY_INVALID',
      `${what} is not a valid MCP Warden policy; nothing was started:\n${z.prettifyError(parsed.error)}`,
    );
  }
  return parsed.data;
}
