import { z } from 'zod';
import { argumentConditionSchema } from '../policy/schema.ts';

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
      hash: z.string().nullable(),
      diff: z.string().nullable(),
      detectedAt: z.string(),
    }),
  ),
  shadows: z.array(z.object({ client: z.string(), tool: z.string(), servers: z.array(z.string()) })),
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

export const controlEventSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('approval.requested'), request: approvalRequestSchema }),
  z.object({
    type: z.literal('approval.resolved'),
    id: z.string(),
    outcome: z.record(z.string(), z.unknown()),
  }),
]);

export type StatusResponse = z.infer<typeof statusSchema>;
export type ServerEntry = z.infer<typeof serverEntrySchema>;
export type ApprovalAnswerBody = z.infer<typeof approvalAnswerBodySchema>;
export type ExplainResponse = z.infer<typeof explainSchema>;
export type PinsResponse = z.infer<typeof pinsSchema>;
export type ControlEvent = z.infer<typeof controlEventSchema>;

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
    response: okSchema,
    description: 'approve a reviewed definition',
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
    method: 'GET',
    path: '/api/v1/policy/explain',
    query: explainQuerySchema,
    response: explainSchema,
    description: 'the decision for a call and the rule behind it',
  },
] as const;
