import { z } from 'zod';
import { argumentConditionSchema } from '../config/policy-schema.ts';

/**
 * The control API's schemas: zod schemas for every request and response. The operations that
 * use them (method, path, arguments, events) are listed once in operations.ts. Served over local
 * HTTP under /api/v1 (loopback, bearer token, Origin checked) and over the tray app's IPC.
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
  warm: z
    .object({
      state: z.enum(['ready', 'starting', 'waiting', 'off']),
      reason: z.string().optional(),
    })
    .optional()
    .describe("the server's warm upstream (one initialized process kept for the next session), and why"),
  sandbox: z
    .object({
      state: z.enum(['enforced', 'off', 'unsandboxed', 'refused', 'not started', 'out of scope']),
      reason: z.string().optional(),
      violations: z.number(),
    })
    .optional()
    .describe(
      'the OS sandbox: enforced, off ("mode": "off"), unsandboxed (the OS cannot; not required), refused (required and the OS cannot), not started yet, or out of scope (a url server)',
    ),
});

/**
 * The daemon's event-loop delay over one measuring window (EventLoopDelay: one
 * perf_hooks.monitorEventLoopDelay histogram, sampling every `resolutionMs`). Delays in ms: how
 * late the loop came back to a timer; null while the window has no samples. A window is opened
 * by the measureEventLoop operation and closes by itself after 10 minutes; its figures stay
 * until the next one.
 */
export const eventLoopSchema = z.object({
  /** Is the window sampling now? (false: the figures are those of the last window, or none) */
  measuring: z.boolean(),
  resolutionMs: z.number(),
  /** How long the window has sampled (or sampled, once closed), ms. */
  windowMs: z.number(),
  samples: z.number(),
  p50Ms: z.number().nullable(),
  p99Ms: z.number().nullable(),
  p999Ms: z.number().nullable(),
  maxMs: z.number().nullable(),
  /** Share of the window the loop was busy, 0..1 (performance.eventLoopUtilization). */
  utilization: z.number().nullable(),
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
  eventLoop: eventLoopSchema,
  /** Whether the audit checkpoints are signed: the device key is in the keychain, or why not. */
  auditSigning: z
    .object({ state: z.enum(['present', 'missing', 'pending']), reason: z.string().nullable() })
    .optional(),
});

/** The audit log's hash chain as `audit verify` finds it (audit/verify.ts), for the Activity page. */
export const auditChainSchema = z.object({
  /** No problem found: rows recomputed, every checkpoint's root and signature valid. */
  ok: z.boolean(),
  /** Chain positions verified: prunedThrough+1 .. verifiedThrough. */
  verifiedThrough: z.number(),
  prunedThrough: z.number(),
  /** Rows chained after the last checkpoint, not yet signed. */
  uncheckedTail: z.object({ from: z.number(), to: z.number() }).nullable(),
  /** Calls not yet in the chain (in flight). */
  inFlight: z.number(),
  checkpoints: z.object({
    total: z.number(),
    valid: z.number(),
    last: z.object({ id: z.number(), treeSize: z.number(), createdAt: z.string() }).nullable(),
  }),
  /** The device's checkpoint signing key: present (with its key hash), or why not. */
  signingKey: z.object({
    present: z.boolean(),
    keyHash: z.string().nullable(),
    reason: z.string().nullable(),
  }),
  /** Each problem, naming the row or checkpoint. */
  problems: z.array(z.object({ kind: z.string(), message: z.string() })),
});

export type AuditChainResponse = z.infer<typeof auditChainSchema>;

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
  tool: z.string().min(1).optional(),
  args: z.string().optional(),
  annotations: z.string().optional(),
});

const sandboxEntrySchema = z.object({ list: z.string(), value: z.string(), source: z.string() });

/** The OS sandbox in force for a stdio server, each entry with its source (`policy explain`). */
export const sandboxExplainSchema = z.object({
  mode: z.enum(['enforce', 'off']),
  modeSource: z.string(),
  requiredBy: z.string().optional(),
  entries: z.array(sandboxEntrySchema),
  dropped: z.array(sandboxEntrySchema.extend({ why: z.string() })),
});

export const explainSchema = z.object({
  server: z.object({ allowed: z.boolean(), trusted: z.boolean(), reason: z.string() }),
  tool: z
    .object({
      action: z.enum(['allow', 'ask', 'deny']),
      source: z.string(),
      rule: z.string(),
      reason: z.string().optional(),
      remember: z.string().optional(),
    })
    .optional()
    .describe('absent when no tool was asked about'),
  sandbox: sandboxExplainSchema.optional().describe('stdio servers: the OS sandbox in force'),
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

/**
 * A change done: `notes` says what it recovered first (an interrupted earlier change) and
 * clean-up that must wait, one sentence each (see change/run-change.ts ChangeOutcome).
 */
export const changeOkSchema = z.object({ ok: z.literal(true), notes: z.array(z.string()) });

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
  outcome: z.enum(['ok', 'tool_error', 'error', 'refused', 'cancelled', 'input_required']).nullable(),
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
  outcome: z
    .enum(['ok', 'tool_error', 'error', 'refused', 'cancelled', 'input_required', 'pending'])
    .optional(),
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
  /** The client config file the preview is of. */
  file: z.string(),
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

/** POST /clients/:id/preview: only the servers named (all when absent). */
export const protectPreviewBodySchema = z.strictObject({ servers: z.array(z.string()).optional() });

/** Who protects: the CLI (`clients protect`) or the dashboard (the default); recorded in state.db. */
export const protectChannelSchema = z.enum(['cli', 'dashboard']);

export const protectBodySchema = z.strictObject({
  servers: z.array(z.string()).optional(),
  clientSha256: z.string().regex(/^[0-9a-f]{64}$/),
  channel: protectChannelSchema.optional(),
});

export const protectResultSchema = z.object({
  servers: z.array(z.string()),
  backup: z.string(),
  notes: z.array(z.string()),
});
export const restoreResultSchema = z.object({ report: z.array(z.string()) });

export const secretEntrySchema = z.object({
  name: z.string(),
  /** The server identity it is bound to, if any: "<server>: <command line or URL>". */
  boundTo: z.string().nullable(),
  /** The name of the server it is bound to, if any. */
  boundServer: z.string().nullable(),
  /** Servers whose config references it. */
  usedBy: z.array(z.string()),
});

/** PUT /secrets/:name; with `server`, bound to that server's current exact identity. */
export const secretSetBodySchema = z.strictObject({
  value: z
    .string()
    .min(1)
    .max(64 * 1024),
  server: z.string().min(1).optional(),
});

/** POST /secrets/:name/bind */
export const secretBindBodySchema = z.strictObject({ server: z.string().min(1) });

/** A binding made: the server and the identity (command line or URL) that alone receives it. */
export const secretBindingSchema = z.object({ server: z.string(), identity: z.string() });

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
export type EventLoopFigures = z.infer<typeof eventLoopSchema>;
export type ServerEntry = z.infer<typeof serverEntrySchema>;
export type ApprovalAnswerBody = z.infer<typeof approvalAnswerBodySchema>;
export type PinApproveBody = z.infer<typeof pinApproveBodySchema>;
export type ExplainResponse = z.infer<typeof explainSchema>;
export type SandboxExplain = z.infer<typeof sandboxExplainSchema>;
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
