import { parseConfig } from '../config/load.ts';
import { connectArgs } from '../config/server-name.ts';
import { describeError, isWardenError, WardenError } from '../errors.ts';
import { assertSecretName } from '../secrets/secret-store.ts';
import { parseJsonc, serversOf } from './jsonc-file.ts';
import { isObject, MIN_SEARCHED, type ProtectPlan } from './protect-plan.ts';

/**
 * Checks the complete results of a plan before anything is written.
 * @returns warnings for the person.
 * @throws WardenError (see planProtect).
 */
export function validatePlan(plan: ProtectPlan, wardenConfigFile: string): string[] {
  const { location } = plan;
  const refuse = (code: WardenError['code'], why: string): never => {
    throw new WardenError(
      code,
      `cannot protect ${location.label} (${location.file}): ${why}; nothing was changed`,
    );
  };
  if (!plan.servers.length) return [];
  let config: ReturnType<typeof parseConfig>;
  try {
    config = parseConfig(plan.wardenAfter, wardenConfigFile);
  } catch (error) {
    if (!isWardenError(error)) throw error;
    return refuse(
      error.code,
      `Warden's config would not be valid afterwards:\n${error.message.replace('; nothing was started', '')}`,
    );
  }
  for (const s of plan.servers)
    if (!config.servers.has(s.name))
      refuse('CONFIG_INVALID', `server "${s.name}" would not be in force in Warden's config`);
  const before = parseJsonc(plan.clientBefore, location.file);
  const after = parseJsonc(plan.clientAfter, location.file);
  const expected = structuredClone(before.value);
  const shims = serversOf(after, location.key);
  for (const s of plan.servers) {
    const shim = {
      command: plan.launcher,
      args: connectArgs(s.name),
      ...(location.client === 'vscode' ? { type: 'stdio' } : {}),
    };
    if (JSON.stringify(shims[s.name]) !== JSON.stringify(shim))
      refuse('CONFIG_INVALID', `the edit of server "${s.name}" would not take effect`);
    Object.defineProperty(expected[location.key] as object, s.name, {
      value: shims[s.name],
      enumerable: true,
    });
  }
  if (JSON.stringify(expected) !== JSON.stringify(after.value))
    refuse('CONFIG_INVALID', 'the edit would change more than the protected servers');
  const secrets = new Map<string, string>();
  const warnings: string[] = [];
  for (const s of plan.servers)
    for (const m of s.moves) {
      try {
        assertSecretName(m.secret);
      } catch (error) {
        refuse(
          'USAGE',
          `the secret of server "${s.name}" ${m.where}.${m.key} cannot be named: ${describeError(error)}`,
        );
      }
      const other = secrets.get(m.secret);
      if (other !== undefined && other !== m.value)
        refuse(
          'CONFLICT',
          `two different secrets would both be named "${m.secret}"; rename one of the servers or keys`,
        );
      secrets.set(m.secret, m.value);
      if (plan.servers.some((p) => stringsOf(p.wardenEntry).some((t) => holds(t, m.value))))
        refuse(
          'CONFLICT',
          `the value of ${s.name} ${m.where}.${m.key} would stay in plain text in Warden's config`,
        );
      if (m.value.length >= MIN_SEARCHED && holds(plan.clientAfter, m.value))
        warnings.push(
          `the value of ${s.name} ${m.where}.${m.key} also appears elsewhere in ${location.file} (outside the server entries protect rewrites): it stays there in plain text`,
        );
    }
  return [...new Set(warnings)];
}

/** Whether `text` is `value`, or holds it (as it is or as a JSON string writes it) when it is long enough. */
function holds(text: string, value: string): boolean {
  if (text === value) return true;
  if (value.length < MIN_SEARCHED) return false;
  return text.includes(value) || text.includes(JSON.stringify(value).slice(1, -1));
}

/** Every string in a JSON value. */
function stringsOf(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.flatMap(stringsOf);
  if (isObject(value)) return Object.values(value).flatMap(stringsOf);
  return [];
}
