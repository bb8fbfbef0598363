import { z } from 'zod';

/**
 * The `sandbox` blocks: one per server in the config (`mcpServers.<name>.sandbox`) and, in every
 * policy source, `policy.sandbox` (requireSandbox plus rules by server glob). They map onto
 * `@anthropic-ai/sandbox-runtime`'s `filesystem` and `network` settings (its README,
 * "Configuration Options"); docs/sandbox.md says how the sources combine.
 */

const pathList = z
  .array(z.string().min(1))
  .optional()
  .describe('absolute paths, "~/…" (the server\'s HOME) or paths relative to the server\'s cwd');

/** Host patterns as sandbox-runtime reads them: "example.com", "*.example.com", "host:443". */
const hostList = z
  .array(
    z
      .string()
      .min(1)
      .regex(/^[^\s/]+$/, 'a host name or pattern such as "api.example.com", "*.example.com" or "host:443"'),
  )
  .optional();

export const sandboxFilesystemSchema = z.strictObject({
  allowRead: pathList.describe('paths readable even inside a denied region'),
  denyRead: pathList.describe('paths the server cannot read (added to the built-in credential stores)'),
  allowWrite: pathList.describe(
    'paths the server may write besides its directory arguments and its temp dir (writes elsewhere fail: the file system is read-only)',
  ),
  denyWrite: pathList.describe('paths never writable, even inside an allowed one'),
});

export const sandboxNetworkSchema = z.strictObject({
  allowedDomains: hostList.describe('hosts the server may connect to without asking'),
  deniedDomains: hostList.describe('hosts the server may never connect to (no one is asked)'),
  allowLocalBinding: z.boolean().optional().describe('let the server listen on loopback ports'),
  allowUnixSockets: pathList.describe('Unix socket paths the server may connect to'),
});

/** `mcpServers.<name>.sandbox` in the user's config. */
export const serverSandboxSchema = z.strictObject({
  mode: z
    .enum(['enforce', 'off'])
    .optional()
    .describe(
      '"enforce" (default): the server runs in the OS sandbox; "off": it runs as you (refused when a policy requires the sandbox)',
    ),
  filesystem: sandboxFilesystemSchema.optional(),
  network: sandboxNetworkSchema.optional(),
});

/** One entry of `policy.sandbox.rules`: a sandbox block for the servers a glob names. */
export const sandboxRuleSchema = serverSandboxSchema.extend({
  server: z.string().min(1).default('*').describe('server name glob'),
});

/** `policy.sandbox` in every policy source. */
export const policySandboxSchema = z.strictObject({
  requireSandbox: z
    .boolean()
    .optional()
    .describe(
      'every stdio server must run in the OS sandbox: "mode": "off" is refused, and a server does not start where the OS cannot sandbox it',
    ),
  rules: z.array(sandboxRuleSchema).optional(),
});

export type ServerSandbox = z.output<typeof serverSandboxSchema>;
export type SandboxRule = z.output<typeof sandboxRuleSchema>;
export type PolicySandbox = z.output<typeof policySandboxSchema>;
