import { z } from 'zod';
import {
  auditDestinationsSchema,
  policyDocumentSchema,
  resultSecretsActionSchema,
  type AuditDestinations,
  type PolicyDocument,
  type ResultSecretsAction,
} from './policy-schema.ts';
import { quoteName, SERVER_NAME_RULES, serverNameProblem } from './server-name.ts';
import { serverSandboxSchema, type ServerSandbox } from './sandbox-schema.ts';

/** The default loopback port of the daemon; `daemon.port`, `--port` or `$MCP_WARDEN_PORT` change it. */
export const DEFAULT_PORT = 47113;

const toolListsSchema = z.strictObject({
  allow: z
    .array(z.string().min(1))
    .optional()
    .describe('Tool name globs that are visible and callable; when set, every other tool is hidden.'),
  deny: z
    .array(z.string().min(1))
    .optional()
    .describe('Tool name globs that are hidden and refused; deny wins over allow.'),
});

/**
 * One entry of `mcpServers`, in the shape Claude Desktop and Cursor already use:
 * `command`/`args`/`env` (+ optional `cwd`) for a stdio server, or `url`/`headers` for a remote
 * Streamable HTTP server. `tools` is Warden's own addition (allow and deny lists).
 */
export const serverConfigSchema = z
  .strictObject({
    type: z
      .enum(['stdio', 'http', 'streamable-http', 'streamableHttp'])
      .optional()
      .describe('Transport; inferred from `command` or `url` when absent.'),
    command: z.string().min(1).optional(),
    args: z.array(z.string()).optional(),
    env: z.record(z.string(), z.string()).optional(),
    cwd: z.string().min(1).optional(),
    url: z.url({ protocol: /^https?$/ }).optional(),
    headers: z.record(z.string(), z.string()).optional(),
    disabled: z.boolean().optional(),
    warm: z
      .boolean()
      .optional()
      .describe(
        'Keep one started, initialized process of this stdio server ready for the next session (default true; see `daemon.warmUpstreams`). `false` turns it off for this server.',
      ),
    tools: toolListsSchema.optional(),
    resultSecrets: resultSecretsActionSchema
      .optional()
      .describe(
        'A secret in what this server sends the client (results, resources, prompts, elicitations): "mask" (default) replaces it, "block" answers an error naming the rule, "allow" lets it through. Policy may make it stricter, never looser.',
      ),
    sandbox: serverSandboxSchema
      .optional()
      .describe('stdio servers: the OS sandbox it runs in (docs/sandbox.md); on by default'),
  })
  .superRefine((server, ctx) => {
    const hasCommand = server.command !== undefined;
    const hasUrl = server.url !== undefined;
    if (hasCommand === hasUrl) {
      ctx.addIssue({
        code: 'custom',
        message: hasCommand
          ? 'has both "command" and "url"; a server is either a local command (stdio) or a remote URL (Streamable HTTP)'
          : 'needs either "command" (a local stdio server) or "url" (a remote Streamable HTTP server)',
      });
      return;
    }
    if (
      hasCommand &&
      (server.type === 'http' || server.type === 'streamable-http' || server.type === 'streamableHttp')
    ) {
      ctx.addIssue({
        code: 'custom',
        path: ['type'],
        message: `"${server.type}" needs "url", not "command"`,
      });
    }
    if (hasUrl && server.type === 'stdio') {
      ctx.addIssue({ code: 'custom', path: ['type'], message: '"stdio" needs "command", not "url"' });
    }
    if (hasCommand && server.headers !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['headers'], message: '"headers" applies to "url" servers only' });
    }
    if (hasUrl && (server.args !== undefined || server.env !== undefined || server.cwd !== undefined)) {
      ctx.addIssue({ code: 'custom', message: '"args", "env" and "cwd" apply to "command" servers only' });
    }
    if (hasUrl && server.sandbox !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['sandbox'],
        message:
          '"sandbox" applies to "command" servers only (a url server runs elsewhere, out of reach of the OS sandbox)',
      });
    }
    if (hasUrl && server.warm !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['warm'],
        message: '"warm" applies to "command" servers only (a url server has no process to keep ready)',
      });
    }
  });

/**
 * A server name: the user's own, kept as written (see server-name.ts for what is refused and why).
 * An issue names the server and what is wrong with its name.
 */
export const serverNameSchema = z
  .string()
  .min(1, 'the server name "" is empty; every server needs a name')
  .superRefine((name, ctx) => {
    const problem = serverNameProblem(name);
    if (problem !== undefined && name.length > 0)
      ctx.addIssue({ code: 'custom', message: `the server name ${quoteName(name)} ${problem}` });
  })
  .describe(`server name: ${SERVER_NAME_RULES}`);

/** `mcpServers` as the file shows it (for the JSON Schema; parsing uses serverMapSchema). */
const serverRecordSchema = z.record(serverNameSchema, serverConfigSchema);

/**
 * `mcpServers` parsed into a Map by the object's own keys. A plain record would lose a server
 * named "__proto__" (zod skips that key, like every object-building parser that assigns keys).
 */
const serverMapSchema = z.preprocess(
  (value) =>
    value !== null && typeof value === 'object' && !Array.isArray(value)
      ? new Map(Object.entries(value as Record<string, unknown>))
      : value,
  z.map(serverNameSchema, serverConfigSchema, {
    error: (issue) => (issue.code === 'invalid_type' ? 'expected an object of servers by name' : undefined),
  }),
);

/** `metrics`: the Prometheus metrics (docs/metrics.md). */
export const metricsConfigSchema = z
  .strictObject({
    port: z
      .int()
      .min(1024)
      .max(65535)
      .optional()
      .describe(
        'Also serve GET /metrics without a token on this port of 127.0.0.1, for a local Prometheus (off by default; the daemon port serves /metrics with its bearer token either way).',
      ),
  })
  .describe('Prometheus metrics');

/** `audit.retentionDays`: how long audit rows are kept (audit/retention.ts). */
export const DEFAULT_AUDIT_RETENTION_DAYS = 90;
const auditRetentionDaysSchema = z
  .int()
  .min(1)
  .max(36500)
  .describe(
    `Days the audit log keeps calls (default ${DEFAULT_AUDIT_RETENTION_DAYS}): older whole ranges between signed checkpoints are removed, keeping the boundary so \`audit verify\` still passes, and the file is compacted in the background.`,
  );

const configShape = {
  $schema: z.string().optional(),
  daemon: z
    .strictObject({
      port: z.int().min(1024).max(65535).optional().describe(`Loopback port (default ${DEFAULT_PORT}).`),
      warmUpstreams: z
        .boolean()
        .optional()
        .describe(
          'Keep one started, initialized process ready per stdio server that has run on this machine before, handed to the next session so it does not wait for a spawn (default true). `false` turns it off for every server.',
        ),
    })
    .optional(),
  audit: z
    .strictObject({
      retentionDays: auditRetentionDaysSchema.optional(),
      synchronous: z
        .enum(['normal', 'full'])
        .optional()
        .describe(
          'SQLite synchronous mode for the audit log: "normal" survives a crash of Warden, "full" also a power loss (slower).',
        ),
      destinations: auditDestinationsSchema
        .optional()
        .describe('where audit records are forwarded (otlp, syslog), by name; see docs/forwarding.md'),
    })
    .optional(),
  metrics: metricsConfigSchema.optional(),
  policy: policyDocumentSchema
    .optional()
    .describe("the user's own policy: server rules, tool rules, limits (managed and org policy outrank it)"),
};

/** The config file as documented (resources/config.schema.json is generated from it). */
export const wardenConfigDocumentSchema = z.strictObject({ ...configShape, mcpServers: serverRecordSchema });

/** The config file as Warden parses it: the same, with `mcpServers` as a Map by name. */
export const wardenConfigSchema = z.strictObject({ ...configShape, mcpServers: serverMapSchema });

export type ServerConfigInput = z.input<typeof serverConfigSchema>;
export type WardenConfigInput = z.input<typeof wardenConfigDocumentSchema>;

/** A stdio upstream: Warden spawns `command args` with an explicit environment. */
export interface StdioServerConfig {
  kind: 'stdio';
  name: string;
  command: string;
  args: string[];
  env: Record<string, string>;
  cwd?: string;
  /** `false` when `mcpServers.<name>.warm` turns the warm upstream off; absent otherwise. */
  warm?: false;
  tools: ToolLists;
  /** `mcpServers.<name>.resultSecrets`, when set. */
  resultSecrets?: ResultSecretsAction;
  /** `mcpServers.<name>.sandbox` as written (absent: the defaults, docs/sandbox.md). */
  sandbox?: ServerSandbox;
}

/** A remote Streamable HTTP upstream. */
export interface HttpServerConfig {
  kind: 'http';
  name: string;
  url: string;
  headers: Record<string, string>;
  tools: ToolLists;
  /** `mcpServers.<name>.resultSecrets`, when set. */
  resultSecrets?: ResultSecretsAction;
}

export interface ToolLists {
  allow?: string[];
  deny: string[];
}

export type ServerConfig = StdioServerConfig | HttpServerConfig;

/** The validated, normalized configuration the daemon runs with. */
export interface WardenConfig {
  /** Absolute path of the file it was read from. */
  file: string;
  port: number;
  auditSynchronous: 'normal' | 'full';
  /** `audit.retentionDays` (default DEFAULT_AUDIT_RETENTION_DAYS). */
  auditRetentionDays: number;
  /** `audit.destinations` as written (empty when absent); see forward/destinations.ts for what is in force. */
  auditDestinations: AuditDestinations;
  /** Whether warm upstreams are kept for stdio servers (`daemon.warmUpstreams`, default true). */
  warmUpstreams: boolean;
  /** The tokenless loopback metrics port (`metrics.port`); absent when off (the default). */
  metricsPort?: number;
  /** Enabled servers by name (entries with `"disabled": true` are left out). */
  servers: Map<string, ServerConfig>;
  /** The `policy` key (empty when absent). */
  policy: PolicyDocument;
}
