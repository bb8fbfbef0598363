import { z } from 'zod';
import { policySandboxSchema } from './sandbox-schema.ts';

/**
 * The policy document: the same shape in every source (machine-managed file, org policy, the
 * `policy` key of the user's config). Sources rank managed > org > user > built-in defaults.
 * See policy/engine.ts for how they combine.
 */

/** A condition on one argument of a `tools/call`: a JSON pointer (RFC 6901) and a glob or regex. */
export const argumentConditionSchema = z
  .strictObject({
    pointer: z.string().regex(/^(\/.*)?$/, 'a JSON pointer such as "/path" (RFC 6901)'),
    glob: z
      .string()
      .min(1)
      .refine((g) => !/^([A-Za-z]:)?\\/.test(g), {
        message:
          'write paths in globs with "/" (a backslash escapes the next character), e.g. "C:/Users/me/**"',
      })
      .optional()
      .describe(
        'picomatch glob the value must match, e.g. "/home/me/sandbox/**". A path glob (starting with "/", "C:/", "//server/share/" or "**/") matches the path as the OS resolves it: symbolic links followed, ".." applied, case-insensitive on macOS and Windows; a path that cannot be resolved does not match an allow rule and does match a deny or ask rule',
      ),
    regex: z.string().min(1).optional().describe('JavaScript regular expression the value must match'),
  })
  .refine((c) => (c.glob === undefined) !== (c.regex === undefined), {
    message: 'set exactly one of "glob" or "regex"',
  });

/** How name globs read (policy/name-glob.ts), for the schema's descriptions. */
const NAME_GLOB =
  '"*" any characters, "/" and "." included; "?" one; "[abc]"; "{a,b}"; "\\" escapes; a leading "!" negates';

export const remembranceSchema = z.enum(['never', 'session', 'always']);

/**
 * A class of tools by their annotations (MCP 2025-11-25, server/tools, ToolAnnotations). A tool
 * without a hint counts as the spec's default: destructiveHint true, openWorldHint true,
 * readOnlyHint false, idempotentHint false, so an unannotated tool is in the risky classes.
 */
export const annotationClassSchema = z.strictObject({
  readOnlyHint: z.boolean().optional(),
  destructiveHint: z.boolean().optional(),
  idempotentHint: z.boolean().optional(),
  openWorldHint: z.boolean().optional(),
});

/** allow / ask / deny for tools of servers matching globs, optionally only for some arguments. */
export const toolRuleSchema = z.strictObject({
  server: z.string().min(1).default('*').describe(`server name glob (${NAME_GLOB})`),
  tool: z.string().min(1).default('*').describe(`tool name glob (${NAME_GLOB})`),
  annotations: annotationClassSchema
    .optional()
    .describe(
      'only tools whose annotations have these values (missing hints count as the MCP defaults: destructive and open-world), e.g. {"destructiveHint": true} to ask for every destructive tool',
    ),
  action: z.enum(['allow', 'ask', 'deny']),
  when: z
    .array(argumentConditionSchema)
    .optional()
    .describe('every condition must hold for the rule to match'),
  remember: remembranceSchema
    .optional()
    .describe('for "ask": how long a person\'s approval may be remembered (default "always")'),
  reason: z.string().optional().describe('shown to the user and the client when this rule decides'),
});

/** Which servers may run, by identity (a name alone never grants anything). */
export const serverRuleSchema = z
  .strictObject({
    action: z.enum(['allow', 'deny']).default('allow'),
    command: z.string().min(1).optional().describe('exact command, or a glob'),
    args: z.array(z.string()).optional().describe('exact argv after the command; elements may be globs'),
    package: z
      .string()
      .min(1)
      .optional()
      .describe(
        'package@version run by npx / uvx / pipx, e.g. "@modelcontextprotocol/server-filesystem@2026.8.31"; globs allowed',
      ),
    url: z.string().min(1).optional().describe('URL glob of a remote server'),
    sha256: z
      .string()
      .regex(/^[0-9a-f]{64}$/)
      .optional()
      .describe('hex SHA-256 the command binary must have'),
    trusted: z
      .boolean()
      .optional()
      .describe("trust the server's tool annotations (readOnlyHint may then allow)"),
  })
  .refine((r) => r.command !== undefined || r.package !== undefined || r.url !== undefined, {
    message: 'a server rule needs "command", "package" or "url" (a name alone never grants anything)',
  });

/** Rate, concurrency and daily limits for tools of servers matching globs. */
export const limitRuleSchema = z.strictObject({
  server: z.string().min(1).default('*').describe(`server name glob (${NAME_GLOB})`),
  tool: z.string().min(1).default('*').describe(`tool name glob (${NAME_GLOB})`),
  ratePerMinute: z
    .number()
    .positive()
    .optional()
    .describe('sustained calls per minute (token bucket refill)'),
  burst: z
    .int()
    .positive()
    .optional()
    .describe('calls allowed at once before the rate applies (bucket size; default: ratePerMinute)'),
  concurrency: z.int().positive().optional().describe('calls in flight at the same time'),
  dailyQuota: z.int().positive().optional().describe('calls per calendar day (UTC), across restarts'),
});

/** Where the org's signed policy is and which keys sign it (honoured from the managed policy only). */
export const orgPolicySourceSchema = z.strictObject({
  url: z.url({ protocol: /^https?$/ }).describe('where the signed org policy (compact JWS) is served'),
  keys: z
    .array(
      z.looseObject({
        kid: z.string().min(1),
        kty: z.literal('OKP'),
        crv: z.literal('Ed25519'),
        x: z.string().min(1),
      }),
    )
    .min(1)
    .describe('trusted public keys (JWK, from `mcp-warden policy keygen`); several allow rotation'),
  org: z.string().min(1).optional().describe('the org id the document must name'),
  pollSeconds: z
    .int()
    .min(10)
    .max(86_400)
    .optional()
    .describe('how often to check for a new version (default 300)'),
  graceHours: z
    .number()
    .min(0)
    .max(24 * 90)
    .optional()
    .describe(
      'how long an expired document stays in force on a laptop that cannot reach the server (default 72)',
    ),
});

/**
 * Settings a managed policy can lock so that no user can loosen them:
 * - `serverApprovals`: only managed and org policy (and the org catalog) admit servers; server
 *   allow rules in the user's config and a person's `servers approve` have no effect.
 * - `userAllowRules`: allow rules (tool rules) in the user's config have no effect (their deny
 *   and ask rules still apply: they only tighten).
 * - `alwaysAllow`: nobody can answer "always allow"; remembered "always" approvals are not
 *   applied (approvals last at most for the client's session).
 * - `sandbox`: the user's config cannot loosen the OS sandbox: its `mode: "off"` and the allow
 *   entries of its sandbox blocks (allowRead, allowWrite, allowedDomains, allowLocalBinding,
 *   allowUnixSockets) have no effect; its denies still apply.
 */
export const lockableSettingSchema = z.enum(['serverApprovals', 'userAllowRules', 'alwaysAllow', 'sandbox']);

export const policyDocumentSchema = z.strictObject({
  lock: z
    .array(lockableSettingSchema)
    .optional()
    .describe(
      'managed policy only: settings no user can loosen (serverApprovals, userAllowRules, alwaysAllow, sandbox)',
    ),
  orgPolicy: orgPolicySourceSchema.optional().describe('managed policy only: the org policy to sync'),
  catalogOnly: z
    .boolean()
    .optional()
    .describe(
      'managed policy only: run only servers that match an entry of the org catalog (deny rules still apply)',
    ),
  servers: z.array(serverRuleSchema).optional(),
  rules: z.array(toolRuleSchema).optional(),
  limits: z.array(limitRuleSchema).optional(),
  approvalTimeoutSeconds: z
    .int()
    .min(5)
    .max(3600)
    .optional()
    .describe('how long a call waits for a person (default 120)'),
  sandbox: policySandboxSchema
    .optional()
    .describe('the OS sandbox of stdio servers: requireSandbox and rules by server (docs/sandbox.md)'),
});

export type ArgumentCondition = z.output<typeof argumentConditionSchema>;
export type ToolRule = z.output<typeof toolRuleSchema>;
export type ServerRule = z.output<typeof serverRuleSchema>;
export type LimitRule = z.output<typeof limitRuleSchema>;
export type PolicyDocument = z.output<typeof policyDocumentSchema>;
export type Remembrance = z.output<typeof remembranceSchema>;
export type OrgPolicySource = z.output<typeof orgPolicySourceSchema>;
export type LockableSetting = z.output<typeof lockableSettingSchema>;

/** Policy sources, highest rank first. */
export type PolicySourceKind = 'managed' | 'org' | 'user' | 'defaults';
export const SOURCE_RANK: Record<PolicySourceKind, number> = { managed: 0, org: 1, user: 2, defaults: 3 };

/** One loaded source: where it came from and its document. */
export interface PolicySource {
  kind: PolicySourceKind;
  /** A file path or URL, for messages ("managed policy /etc/mcp-warden/managed-policy.json"). */
  origin: string;
  document: PolicyDocument;
}
