import { z } from 'zod';
import { argumentConditionSchema } from '../config/policy-schema.ts';

/**
 * The control API's one typed contract: zod schemas for every request and response, used by
 * the daemon (validating what it receives), the CLI and, later, the Electron preload bridge.
 * Served over local HTTP under /api/v1 (loopback, bearer token, Origin checked).
 */

export const approvalChoiceSchema = z.enum(['deny', 'allow-once', 'allow-session', 'allow-always']);

export const approvalRequestSchema = z.object({
  id: z.string(),
  createdAt: z.string(),
  expiresAt: z.string(),
  sessionId: z.string(),
  client: z.object({ name: z.string().optional(), version: z.string().optional() }),
  server: z.string(),
  tool: z.string(),
  arguments: z.record(z.string(), z.unknown()).optional(),
  annotations: z.record(z.string(), z.unknown()).optional(),
  rule: z.object({ source: z.string(), text: z.string() }),
  choices: z.array(approvalChoiceSchema),
  argumentsHash: z.string(),
});

/** POST /approvals/:id */
export const approvalAnswerBodySchema = z.strictObject({
  choice: approvalChoiceSchema,
  argumentsHash: z.string().regex(/^[0-9a-f]{64}$/, 'the sha256 shown with the request'),
  conditions: z.array(argumentConditionSchema).optional(),
  reason: z.string().max(500).optional(),
  channel: z
    .string()
    .regex(/^[a-z][a-z0-9-]{0,31}$/)
    .optional()
    .describe('who answers: "cli", "popup", …'),
});

export const serverEntrySchema = z.object({
  name: z.string(),
  kind: z.enum(['stdio', 'http']),
  target: z.string().describe('the exact command line, or the URL'),
  envKeys: z.array(z.string()),
  identityHash: z.string(),
  allowed: z.boolean(),
  reason: z.string().optional(),
  trusted: z.boolean(),
  sessions: z.number(),
  breaker: z.string(),
});

export const statusSchema = z.object({
  version: z.string(),
  pid: z.number(),
  config: z.string(),
  servers: z.array(serverEntrySchema),
  pendingApprovals: z.number(),
  /** While paused no server runs: new sessions and calls are refused. */
  paused: z.boolean(),
  /** "org acme v6" when an org policy is in force, else null. */
  policyVersion: z.string().nullable(),
});

export const rememberedRuleSchema = z.object({
  id: z.number(),
  server: z.string(),
  tool: z.string(),
  conditions: z.array(argumentConditionSchema).nullable(),
  createdAt: z.string(),
  createdBy: z.string(),
  approvalId: z.string().nullable(),
});

export const pinsSchema = z.object({
  pins: z.array(
    z.object({
      server: z.string(),
      kind: z.string(),
      name: z.string(),
      hash: z.string(),
      pinnedAt: z.string(),
    }),
  ),
  reviews: z.array(
    z.object({
      server: z.string(),
      kind: z.string(),
      name: z.string(),
      status: z.enum(['new', 'changed', 'removed']),
      hash: z.string().nullable().describe('sha256 of the definition now offered; null when removed'),
      pinnedHash: z.string().nullable().describe('sha256 of the pinned definition; null when new'),
      diff: z.string().nullable(),
      detectedAt: z.string(),
    }),
  ),
  shadows: z.array(z.object({ client: z.string(), tool: z.string(), servers: z.array(z.string()) })),
});

/**
 * POST /pins/:server/:kind/:name/approve: the hash of what the person reviewed (the review's
 * `hash`, or its `pinnedHash` for a removal); another hash answers 409 and approves nothing.
 */
export const pinApproveBodySchema = z.strictObject({
  hash: z.string().regex(/^[0-9a-f]{64}$/, 'the sha256 shown with the review'),
});

/** POST /servers/:name/approve */
export const serverApproveBodySchema = z.strictObject({ identityHash: z.string().regex(/^[0-9a-f]{64}$/) });

/** GET /policy/explain query */
export const explainQuerySchema = z.object({
  server: z.string().min(1),
  tool: z.string().min(1),
  args: z.string().optional(),
  annotations: z.string().optional(),
});

export const explainSchema = z.object({
  server: z.object({ allowed: z.boolean(), trusted: z.boolean(), reason: z.string() }),
  tool: z.object({
    action: z.enum(['allow', 'ask', 'deny']),
    source: z.string(),
    rule: z.string(),
    reason: z.string().optional(),
    remember: z.string().optional(),
  }),
});

export const orgSyncStatusSchema = z.object({
  url: z.string(),
  version: z.number().nullable(),
  org: z.string().nullable(),
  expires: z.string().nullable(),
  inGrace: z.boolean(),
  lastSuccess: z.string().nullable(),
  lastAttempt: z.string().nullable(),
  lastError: z.string().nullable(),
});

export const policyStatusSchema = z.object({
  sources: z.array(z.object({ kind: z.string(), origin: z.string() })),
  org: orgSyncStatusSchema.nullable(),
});

export const okSchema = z.object({ ok: z.literal(true) });

/** One recorded `tools/call` (the audit log's row; see AuditRecord). */
export const auditRecordSchema = z.object({
  id: z.number(),
  ts: z.string(),
  sessionId: z.string(),
  clientName: z.string().nullable(),
  clientVersion: z.string().nullable(),
  server: z.string(),
  tool: z.string(),
  requestId: z.string().nullable(),
  arguments: z.unknown(),
  decision: z.enum(['allow', 'deny']),
  reason: z.string().nullable(),
  outcome: z.enum(['ok', 'tool_error', 'error', 'refused', 'cancelled']).nullable(),
  error: z.string().nullable(),
  durationMs: z.number().nullable(),
  policyVersion: z.string().nullable(),
});

/** GET /audit and /audit/export query: every filter is optional and they combine with AND. */
export const auditQuerySchema = z.object({
  client: z.string().optional(),
  server: z.string().optional(),
  tool: z.string().optional(),
  decision: z.enum(['allow', 'deny']).optional(),
  outcome: z.enum(['ok', 'tool_error', 'error', 'refused', 'cancelled', 'pending']).optional(),
  /** ISO 8601 instants; `since` inclusive, `until` exclusive. */
  since: z.iso.datetime({ offset: true }).optional(),
  until: z.iso.datetime({ offset: true }).optional(),
  /** Substring of the tool, server, client, reason, error or arguments (case-insensitive). */
  q: z.string().max(200).optional(),
  /** Only rows with an id below this (paging back). */
  before: z.coerce.number().int().positive().optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(200),
});

export const auditPageSchema = z.object({
  /** Newest first. */
  records: z.array(auditRecordSchema),
  /** How many rows match the filters in all. */
  total: z.number(),
});

export const auditExportFormatSchema = z.enum(['csv', 'jsonl']);

/** A client config file found on this machine; secret values never leave the daemon. */
export const clientConfigSchema = z.object({
  id: z.string(),
  client: z.string(),
  label: z.string(),
  scope: z.enum(['user', 'project']),
  file: z.string(),
  exists: z.boolean(),
  error: z.string().optional(),
  hasBackup: z.boolean(),
  servers: z.array(
    z.object({
      name: z.string(),
      target: z.string(),
      protected: z.boolean(),
      secrets: z.array(z.object({ where: z.string(), key: z.string(), why: z.string() })),
    }),
  ),
});

/** POST /clients/:id/preview: what protect would do, values replaced by secret names. */
export const protectPreviewSchema = z.object({
  summary: z.string(),
  servers: z.array(
    z.object({
      name: z.string(),
      target: z.string(),
      moves: z.array(z.object({ where: z.string(), key: z.string(), secret: z.string() })),
    }),
  ),
  /** Unified diffs of the client's file and of Warden's config. */
  diff: z.string(),
  /** sha256 of the client file the preview was made from; protect refuses another. */
  clientSha256: z.string(),
});

export const protectBodySchema = z.strictObject({
  servers: z.array(z.string()).optional(),
  clientSha256: z.string().regex(/^[0-9a-f]{64}$/),
});

export const protectResultSchema = z.object({ servers: z.array(z.string()), backup: z.string() });
export const restoreResultSchema = z.object({ report: z.array(z.string()) });

export const secretEntrySchema = z.object({
  name: z.string(),
  /** The server identity it is bound to, if any: "<server>: <command line or URL>". */
  boundTo: z.string().nullable(),
  /** Servers whose config references it. */
  usedBy: z.array(z.string()),
});

/** PUT /secrets/:name */
export const secretSetBodySchema = z.strictObject({
  value: z
    .string()
    .min(1)
    .max(64 * 1024),
});

/** The effective policy: every rule with its source, and the settings a user cannot change. */
export const effectivePolicySchema = z.object({
  rules: z.array(
    z.object({
      source: z.string(),
      origin: z.string(),
      kind: z.enum(['server', 'tool', 'limit']),
      action: z.string(),
      text: z.string(),
    }),
  ),
  locked: z.array(z.object({ setting: z.string(), value: z.unknown(), source: z.string() })),
});

/** An org catalog entry of the policy in force, and whether Warden's config has it. */
export const catalogItemSchema = z.object({
  name: z.string(),
  description: z.string(),
  command: z.string().optional(),
  args: z.array(z.string()).optional(),
  url: z.string().optional(),
  /** The exact command line or URL. */
  target: z.string(),
  /** "org acme v6": the policy it comes from. */
  from: z.string(),
  /** Warden's config has a server of that name with exactly this command (or URL). */
  configured: z.boolean(),
});

/** POST /ui/session: trade the one-time ticket `serve` printed for a bearer token. */
export const uiSessionBodySchema = z.strictObject({ ticket: z.string().min(16).max(200) });
export const uiSessionSchema = z.object({ token: z.string() });

export const controlEventSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('approval.requested'), request: approvalRequestSchema }),
  z.object({
    type: z.literal('approval.resolved'),
    id: z.string(),
    outcome: z.record(z.string(), z.unknown()),
  }),
  /** A row was added or completed (id); the Activity page refreshes. */
  z.object({ type: z.literal('audit.recorded'), id: z.number() }),
  /** Servers, pause state, pins or policy changed; the status is worth reading again. */
  z.object({ type: z.literal('status.changed') }),
]);

export type StatusResponse = z.infer<typeof statusSchema>;
export type ServerEntry = z.infer<typeof serverEntrySchema>;
export type ApprovalAnswerBody = z.infer<typeof approvalAnswerBodySchema>;
export type PinApproveBody = z.infer<typeof pinApproveBodySchema>;
export type ExplainResponse = z.infer<typeof explainSchema>;
export type PinsResponse = z.infer<typeof pinsSchema>;
export type ControlEvent = z.infer<typeof controlEventSchema>;
export type ApprovalRequest = z.infer<typeof approvalRequestSchema>;
export type ApprovalChoice = z.infer<typeof approvalChoiceSchema>;
export type RememberedRule = z.infer<typeof rememberedRuleSchema>;
export type PolicyStatus = z.infer<typeof policyStatusSchema>;
export type OrgSyncStatus = z.infer<typeof orgSyncStatusSchema>;
export type AuditQuery = Omit<z.output<typeof auditQuerySchema>, 'limit'> & { limit?: number };
export type AuditRecordDto = z.infer<typeof auditRecordSchema>;
export type AuditPage = z.infer<typeof auditPageSchema>;
export type AuditExportFormat = z.infer<typeof auditExportFormatSchema>;
export type ClientConfig = z.infer<typeof clientConfigSchema>;
export type ProtectPreview = z.infer<typeof protectPreviewSchema>;
export type ProtectResult = z.infer<typeof protectResultSchema>;
export type RestoreResult = z.infer<typeof restoreResultSchema>;
export type SecretEntry = z.infer<typeof secretEntrySchema>;
export type EffectivePolicy = z.infer<typeof effectivePolicySchema>;
export type CatalogItem = z.infer<typeof catalogItemSchema>;

/** Every route: method, path pattern, and what it does. */
export const CONTROL_ROUTES = [
  { method: 'GET', path: '/api/v1/status', response: statusSchema, description: 'daemon and server status' },
  {
    method: 'GET',
    path: '/api/v1/servers',
    response: z.array(serverEntrySchema),
    description: 'configured servers and whether they may run',
  },
  {
    method: 'POST',
    path: '/api/v1/servers/:name/approve',
    request: serverApproveBodySchema,
    response: okSchema,
    description: "approve a server's exact identity",
  },
  {
    method: 'GET',
    path: '/api/v1/approvals',
    response: z.array(approvalRequestSchema),
    description: 'calls waiting for a person',
  },
  {
    method: 'POST',
    path: '/api/v1/approvals/:id',
    request: approvalAnswerBodySchema,
    response: okSchema,
    description: 'answer a held call',
  },
  {
    method: 'GET',
    path: '/api/v1/events',
    description: 'server-sent events: approval.requested, approval.resolved',
  },
  {
    method: 'GET',
    path: '/api/v1/rules',
    response: z.array(rememberedRuleSchema),
    description: 'remembered "always allow" decisions',
  },
  {
    method: 'DELETE',
    path: '/api/v1/rules/:id',
    response: okSchema,
    description: 'revoke a remembered decision',
  },
  {
    method: 'GET',
    path: '/api/v1/pins',
    response: pinsSchema,
    description: 'pins, pending reviews with diffs, shadowed tool names',
  },
  {
    method: 'POST',
    path: '/api/v1/pins/:server/:kind/:name/approve',
    request: pinApproveBodySchema,
    response: okSchema,
    description: 'approve a reviewed definition, by the hash the person saw (409 when it changed since)',
  },
  {
    method: 'GET',
    path: '/api/v1/policy/status',
    response: policyStatusSchema,
    description: 'policy sources in force and the org policy sync status',
  },
  {
    method: 'POST',
    path: '/api/v1/policy/sync',
    response: orgSyncStatusSchema,
    description: 'check the org policy server now',
  },
  {
    method: 'POST',
    path: '/api/v1/servers/:name/restart',
    response: okSchema,
    description: "end a server's sessions' upstream processes; they start again on the next message",
  },
  {
    method: 'POST',
    path: '/api/v1/pause',
    response: okSchema,
    description: 'stop every server and refuse calls',
  },
  { method: 'POST', path: '/api/v1/resume', response: okSchema, description: 'let servers run again' },
  {
    method: 'GET',
    path: '/api/v1/audit',
    query: auditQuerySchema,
    response: auditPageSchema,
    description: 'recorded calls, newest first, filtered',
  },
  {
    method: 'GET',
    path: '/api/v1/audit/export',
    query: auditQuerySchema,
    description: 'the filtered audit log as CSV or JSON lines (?format=csv|jsonl)',
  },
  {
    method: 'GET',
    path: '/api/v1/clients',
    response: z.array(clientConfigSchema),
    description: 'client configs on this machine, their servers and plaintext secrets found',
  },
  {
    method: 'POST',
    path: '/api/v1/clients/:id/preview',
    response: protectPreviewSchema,
    description: 'what protecting the client would change',
  },
  {
    method: 'POST',
    path: '/api/v1/clients/:id/protect',
    request: protectBodySchema,
    response: protectResultSchema,
    description: 'route the client through Warden, secrets to the keychain',
  },
  {
    method: 'POST',
    path: '/api/v1/clients/:id/restore',
    response: restoreResultSchema,
    description: 'put the client config back as it was',
  },
  {
    method: 'GET',
    path: '/api/v1/secrets',
    response: z.array(secretEntrySchema),
    description: 'secret names, bindings and users (never values)',
  },
  {
    method: 'PUT',
    path: '/api/v1/secrets/:name',
    request: secretSetBodySchema,
    response: okSchema,
    description: 'store a secret in the OS keychain',
  },
  { method: 'DELETE', path: '/api/v1/secrets/:name', response: okSchema, description: 'delete a secret' },
  {
    method: 'GET',
    path: '/api/v1/policy/effective',
    response: effectivePolicySchema,
    description: 'every rule in force with its source, and the locked settings',
  },
  {
    method: 'GET',
    path: '/api/v1/catalog',
    response: z.array(catalogItemSchema),
    description: 'the org catalog of the policy in force (servers IT approved)',
  },
  {
    method: 'POST',
    path: '/api/v1/ui/session',
    request: uiSessionBodySchema,
    response: uiSessionSchema,
    description: 'exchange the one-time dashboard ticket for a bearer token (no token needed)',
  },
  {
    method: 'GET',
    path: '/api/v1/policy/explain',
    query: explainQuerySchema,
    response: explainSchema,
    description: 'the decision for a call and the rule behind it',
  },
] as const;
