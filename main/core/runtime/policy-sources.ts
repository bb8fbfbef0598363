import type { PolicySource } from '../config/policy-schema.ts';
import type { WardenConfig } from '../config/schema.ts';
import { PolicyEngine } from '../policy/engine.ts';
import { loadMachinePolicy } from '../policy/sources.ts';

/**
 * The policy sources in force: the managed file (if any), the org policy (if any) and the user's
 * config, in that order (the engine ranks them managed > org > user).
 * @throws WardenError POLICY_INVALID when the managed policy cannot be read or is not valid.
 */
export function policySources(
  config: WardenConfig,
  managedPolicyFile?: string,
  org?: PolicySource,
): PolicySource[] {
  return combineSources(loadMachinePolicy(managedPolicyFile), org, config);
}

/** The sources of one policy from its parts (see policySources). */
export function combineSources(
  managed: PolicySource | undefined,
  org: PolicySource | undefined,
  config: WardenConfig,
): PolicySource[] {
  return [
    ...(managed ? [managed] : []),
    ...(org ? [org] : []),
    { kind: 'user', origin: config.file, document: config.policy },
  ];
}

/**
 * The policy in force while the managed policy cannot be read: every server and every tool call
 * is refused, naming `reason` (fail closed).
 * @param origin where the managed policy is (for `policy status`).
 */
export function failClosedEngine(origin: string, reason: string): PolicyEngine {
  return new PolicyEngine([
    {
      kind: 'managed',
      origin,
      document: {
        servers: [
          { action: 'deny', command: '**' },
          { action: 'deny', url: '**' },
        ],
        rules: [{ server: '*', tool: '*', action: 'deny', reason }],
      },
    },
  ]);
}
