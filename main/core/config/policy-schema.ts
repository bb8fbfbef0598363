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

/** What is done with a secret found in what a server sends the client (results masking). */
export const resultSecretsActionSchema = z.enum(['mask', 'block', 'allow']);

/**
 * Results masking for servers matching a glob: `mask` replaces each secret by
 * `[REDACTED:<rule>]`, `block` answers an error naming the rule instead, `allow` lets it through.
 * Across every source (and the server's own `resultSecrets`) the most restrictive wins:
 * block > mask > allow; where nothing says, `mask`.
 */
export const resultSecretsRuleSchema = z.strictObject({
  server: z.string().min(1).default('*').describe(`server name glob (${NAME_GLOB})`),
  action: resultSecretsActionSchema.describe('mask (the default) | block | allow'),
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

// Audit destinations (forwarding, docs/forwarding.md): the config's `audit.destinations` and the
// managed policy's `auditDestinations`.

/** `${secret:NAME}`: a header value that is read from the keychain when the sender starts. */
const headerValueSchema = z
  .string()
  .describe('a header value; `${secret:NAME}` is replaced by the secret from the keychain');

/** How a sender batches and retries (both kinds). */
const deliveryShape = {
  disabled: z
    .boolean()
    .optional()
    .describe('true: forward nothing here (a locked managed destination cannot be disabled)'),
  batchSize: z
    .int()
    .min(1)
    .max(1000)
    .optional()
    .describe('records sent in one request or one write (default 100)'),
  timeoutSeconds: z
    .number()
    .min(1)
    .max(300)
    .optional()
    .describe('how long one send may take before it counts as failed (default 10)'),
  maxBackoffSeconds: z
    .number()
    .min(1)
    .max(3600)
    .optional()
    .describe('the longest wait between two attempts after failures (default 300)'),
};

/** An OpenTelemetry collector (or any OTLP/HTTP logs receiver). */
export const otlpDestinationSchema = z.strictObject({
  type: z.literal('otlp'),
  endpoint: z
    .url({ protocol: /^https?$/ })
    .describe('the OTLP/HTTP logs URL, e.g. http://127.0.0.1:4318/v1/logs'),
  headers: z
    .record(z.string().min(1), headerValueSchema)
    .optional()
    .describe('extra request headers, e.g. {"Authorization": "Bearer ${secret:OTLP_TOKEN}"}'),
  ...deliveryShape,
});

/** A syslog receiver that speaks RFC 5424 over TCP (RFC 6587 octet counting), optionally TLS (RFC 5425). */
export const syslogDestinationSchema = z.strictObject({
  type: z.literal('syslog'),
  host: z.string().min(1).describe('host name or address of the receiver'),
  port: z.int().min(1).max(65535).describe('TCP port (514 plain, 6514 TLS by convention)'),
  tls: z
    .union([
      z.boolean(),
      z.strictObject({
        ca: z.string().min(1).optional().describe('PEM file of the CA that signs the receiver'),
        servername: z.string().min(1).optional().describe('the name to verify (default: host)'),
      }),
    ])
    .optional()
    .describe('true or {ca, servername}: TLS (RFC 5425); the receiver certificate is always verified'),
  facility: z.int().min(0).max(23).optional().describe('syslog facility number (default 13, log audit)'),
  appName: z.string().min(1).max(48).optional().describe('APP-NAME of the messages (default mcp-warden)'),
  ...deliveryShape,
});

/** One `audit.destinations` entry. */
export const auditDestinationSchema = z.discriminatedUnion('type', [
  otlpDestinationSchema,
  syslogDestinationSchema,
]);

/** What a destination name may be: what `audit status` shows and outbox records are filed under. */
export const DESTINATION_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

/**
 * `audit.destinations` in the config and `auditDestinations` in the managed policy:
 * destinations by name. An issue names a name that is not valid and says what a name is.
 */
export const auditDestinationsSchema = z
  .record(z.string(), auditDestinationSchema)
  .superRefine((destinations, ctx) => {
    for (const name of Object.keys(destinations))
      if (!DESTINATION_NAME.test(name))
        ctx.addIssue({
          code: 'custom',
          path: [name],
          message: `the destination name "${name}" is not valid: a destination name is letters, digits, ".", "_" and "-" (at most 64), starting with a letter or digit`,
        });
  });

export type AuditDestination = z.output<typeof auditDestinationSchema>;
export type OtlpDestination = z.output<typeof otlpDestinationSchema>;
export type SyslogDestination = z.output<typeof syslogDestinationSchema>;
export type AuditDestinations = z.output<typeof auditDestinationsSchema>;

/**
 * Settings a managed policy can lock so that no user can loosen them:
 * - `serverApprovals`: only managed and org policy (and the org catalog) admit servers; server
 *   allow rules in the user's config and a person's `servers approve` have no effect.
 * - `userAllowRules`: allow rules (tool rules) in the user's config have no effect (their deny
 *   and ask rules still apply: they only tighten).
 * - `alwaysAllow`: nobody can answer "always allow"; remembered "always" approvals are not
 *   applied (approvals last at most for the client's session).
 * - `auditDestinations`: the managed policy's audit destinations cannot be replaced or disabled
 *   by an entry of the same name in the user's `audit.destinations` (forward/destinations.ts).
 * - `sandbox`: the user's config cannot loosen the OS sandbox: its `mode: "off"` and the allow
 *   entries of its sandbox blocks (allowRead, allowWrite, allowedDomains, allowLocalBinding,
 *   allowUnixSockets) have no effect; its denies still apply.
 */
export const lockableSettingSchema = z.enum([
  'serverApprovals',
  'userAllowRules',
  'alwaysAllow',
  'auditDestinations',
  'sandbox',
]);

export const policyDocumentSchema = z.strictObject({
  lock: z
    .array(lockableSettingSchema)
    .optional()
    .describe(
      'managed policy only: settings no user can loosen (serverApprovals, userAllowRules, alwaysAllow, auditDestinations, sandbox)',
    ),
  auditDestinations: auditDestinationsSchema
    .optional()
    .describe(
      "managed policy only: where audit records are forwarded, by name, besides the user's audit.destinations",
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
  resultSecrets: z
    .array(resultSecretsRuleSchema)
    .optional()
    .describe(
      'secrets in results, resources, prompts and elicitations: mask, block or allow, per server glob',
    ),
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
export type ResultSecretsAction = z.output<typeof resultSecretsActionSchema>;
export type ResultSecretsRule = z.output<typeof resultSecretsRuleSchema>;
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
