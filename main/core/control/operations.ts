import { z } from 'zod';
import {
  auditChainSchema,
  approvalAnswerBodySchema,
  approvalRequestSchema,
  auditExportFormatSchema,
  auditPageSchema,
  auditQuerySchema,
  catalogItemSchema,
  changeOkSchema,
  clientConfigSchema,
  controlEventSchema,
  effectivePolicySchema,
  eventLoopSchema,
  explainQuerySchema,
  explainSchema,
  okSchema,
  orgSyncStatusSchema,
  pinApproveBodySchema,
  pinsSchema,
  policyStatusSchema,
  protectBodySchema,
  protectPreviewBodySchema,
  protectPreviewSchema,
  protectResultSchema,
  rememberedRuleSchema,
  restoreResultSchema,
  secretBindBodySchema,
  secretBindingSchema,
  secretEntrySchema,
  secretSetBodySchema,
  serverApproveBodySchema,
  serverEntrySchema,
  statusSchema,
} from './contract.ts';
import type { OperationSpec, PathParamNames, RequestParts } from './operation-spec.ts';

export * from './operation-spec.ts';

/**
 * The control API's operations, each defined once: its name (the WardenApi method), HTTP method
 * and path under /api/v1, the positional arguments of the WardenApi method (a zod tuple: the IPC
 * edge validates them with it), how those arguments become the request's path parameters, query
 * and body, the schemas the daemon validates those with, the output schema the client validates
 * the answer with, and the events (ControlEvent types) the operation may cause.
 *
 * Everything else is derived from this table: the daemon's dispatch (control-api.ts), the HTTP
 * client (control-client.ts), the WardenApi type (warden-api.ts), the IPC registration
 * (main/app/ipc.ts), the preload bridge (preload/api.ts) and the CLI's in-process calls
 * (local-api.ts). Adding an operation is one entry here and one handler (control/handlers/).
 * A caller that needs more of a request than the positional arguments carry (the CLI's
 * `channel`, a secret's binding) passes the parts itself (ControlCaller.request); the daemon
 * validates them with the same schemas.
 * This module imports only zod and zod-only schema modules: the renderer and the sandboxed
 * preload bundle it.
 *
 * Not here: /ui/ticket and /ui/session, which mint dashboard access and are the gateway's own
 * (daemon/gateway.ts).
 */

/** A path segment as WardenApi arguments take it: never empty, "." or "..". */
const segment = z
  .string()
  .min(1)
  .max(1024)
  .refine((text) => text !== '.' && text !== '..', 'must not be "." or ".."');
const sha256 = z.string().regex(/^[0-9a-f]{64}$/, 'a sha256 in hex');

/** The audit query as a caller passes it (the daemon coerces and defaults: auditQuerySchema). */
const auditArgSchema = auditQuerySchema.extend({
  before: z.number().int().positive().optional(),
  limit: z.number().int().min(1).max(1000).optional(),
});
const noArgs = z.tuple([]);

/** Keeps each entry's own types while checking it is an OperationSpec. */
function op<
  const A extends z.ZodTuple,
  const O extends z.ZodType,
  const Spec extends Omit<OperationSpec, 'args' | 'output' | 'request'> & {
    request?: (...args: z.input<A>) => RequestParts;
  },
>(args: A, output: O, spec: Spec): Spec & { args: A; output: O } {
  return { ...spec, args, output };
}

export const OPERATIONS = {
  status: op(noArgs, statusSchema, {
    method: 'GET',
    path: '/status',
    summary: 'daemon and server status, with the event-loop delay of the last measuring window',
    emits: [],
    cli: {
      command: 'status',
      description:
        "the daemon's status: its servers, pending approvals, pause, org policy and event-loop delay",
    },
  }),
  measureEventLoop: op(noArgs, eventLoopSchema, {
    method: 'POST',
    path: '/status/event-loop',
    summary:
      "open a new window of the daemon's event-loop delay (1 ms samples, 10 minutes at most); answers the window it ends",
    emits: [],
    ui: false,
    cli: {
      command: 'measure-event-loop',
      description:
        "start measuring the daemon's event-loop delay anew (read it with `status`); prints the window it ends",
    },
  }),
  version: op(noArgs, z.object({ version: z.string(), pid: z.number(), api: z.literal('v1') }), {
    method: 'GET',
    path: '/version',
    summary: "the daemon's version, its process id and the control API version",
    emits: [],
    cli: {
      command: 'version',
      description: "the running daemon's version, process id and control API version",
    },
  }),
  servers: op(noArgs, serverEntrySchema.array(), {
    method: 'GET',
    path: '/servers',
    summary: 'configured servers and whether they may run',
    emits: [],
  }),
  approveServer: op(z.tuple([segment, sha256]), okSchema, {
    method: 'POST',
    path: '/servers/:name/approve',
    summary: "approve a server's exact identity",
    body: serverApproveBodySchema,
    request: (name, identityHash) => ({ params: { name }, body: { identityHash } }),
    emits: ['status.changed'],
  }),
  restartServer: op(z.tuple([segment]), okSchema, {
    method: 'POST',
    path: '/servers/:name/restart',
    summary: "end a server's sessions' upstream processes; they start again on the next message",
    request: (name) => ({ params: { name } }),
    emits: ['status.changed'],
  }),
  pause: op(noArgs, okSchema, {
    method: 'POST',
    path: '/pause',
    summary: 'stop every server and refuse calls',
    emits: ['status.changed'],
  }),
  resume: op(noArgs, okSchema, {
    method: 'POST',
    path: '/resume',
    summary: 'let servers run again',
    emits: ['status.changed'],
  }),
  approvals: op(noArgs, approvalRequestSchema.array(), {
    method: 'GET',
    path: '/approvals',
    summary: 'calls waiting for a person',
    emits: [],
  }),
  answer: op(z.tuple([segment, approvalAnswerBodySchema]), okSchema, {
    method: 'POST',
    path: '/approvals/:id',
    summary: 'answer a held call',
    body: approvalAnswerBodySchema,
    request: (id, body) => ({ params: { id }, body }),
    emits: ['approval.resolved'],
  }),
  rules: op(noArgs, rememberedRuleSchema.array(), {
    method: 'GET',
    path: '/rules',
    summary: 'remembered "always allow" decisions',
    emits: [],
  }),
  revokeRule: op(z.tuple([z.number().int().nonnegative()]), okSchema, {
    method: 'DELETE',
    path: '/rules/:id(\\d+)',
    summary: 'revoke a remembered decision',
    params: z.object({ id: z.coerce.number().int().nonnegative() }),
    request: (id) => ({ params: { id } }),
    emits: [],
  }),
  pins: op(noArgs, pinsSchema, {
    method: 'GET',
    path: '/pins',
    summary: 'pins, pending reviews with diffs, shadowed tool names',
    emits: [],
  }),
  approvePin: op(z.tuple([segment, segment, segment, sha256]), okSchema, {
    method: 'POST',
    path: '/pins/:server/:kind(tool|prompt|resourceTemplate)/:name/approve',
    summary: 'approve a reviewed definition, by the hash the person saw (409 when it changed since)',
    params: z.object({
      server: z.string(),
      kind: z.enum(['tool', 'prompt', 'resourceTemplate']),
      name: z.string(),
    }),
    body: pinApproveBodySchema,
    request: (server, kind, name, hash) => ({ params: { server, kind, name }, body: { hash } }),
    emits: ['status.changed'],
  }),
  policyStatus: op(noArgs, policyStatusSchema, {
    method: 'GET',
    path: '/policy/status',
    summary: 'policy sources in force and the org policy sync status',
    emits: [],
  }),
  effectivePolicy: op(noArgs, effectivePolicySchema, {
    method: 'GET',
    path: '/policy/effective',
    summary: 'every rule in force with its source, and the locked settings',
    emits: [],
  }),
  syncPolicy: op(noArgs, orgSyncStatusSchema, {
    method: 'POST',
    path: '/policy/sync',
    summary: 'check the org policy server now',
    emits: ['status.changed'],
  }),
  explain: op(z.tuple([explainQuerySchema]), explainSchema, {
    method: 'GET',
    path: '/policy/explain',
    summary: 'the decision for a call and the rule behind it',
    query: explainQuerySchema,
    request: (query) => ({ query }),
    emits: [],
  }),
  audit: op(z.tuple([auditArgSchema]), auditPageSchema, {
    method: 'GET',
    path: '/audit',
    summary: 'recorded calls, newest first, filtered',
    query: auditQuerySchema,
    request: (query) => ({ query }),
    emits: [],
  }),
  exportAudit: op(z.tuple([auditArgSchema, auditExportFormatSchema]), z.string(), {
    method: 'GET',
    path: '/audit/export',
    summary: 'the filtered audit log as CSV or JSON lines (?format=csv|jsonl), streamed',
    query: auditQuerySchema.extend({ format: auditExportFormatSchema.default('jsonl') }),
    request: (query, format) => ({ query: { ...query, format } }),
    response: 'text',
    emits: [],
  }),
  auditChain: op(noArgs, auditChainSchema, {
    method: 'GET',
    path: '/audit/chain',
    summary:
      "the audit log's hash chain: verified up to which row, the last checkpoint, whether the signing key is present",
    emits: [],
  }),
  clients: op(noArgs, clientConfigSchema.array(), {
    method: 'GET',
    path: '/clients',
    summary: 'client configs on this machine, their servers and plaintext secrets found',
    emits: [],
  }),
  previewProtect: op(z.tuple([segment]), protectPreviewSchema, {
    method: 'POST',
    path: '/clients/:id/preview',
    summary: 'what protecting the client (all its servers, or those the body names) would change',
    body: protectPreviewBodySchema.optional(),
    request: (id) => ({ params: { id }, body: {} }),
    emits: [],
  }),
  protect: op(z.tuple([segment, sha256, z.array(z.string()).optional()]), protectResultSchema, {
    method: 'POST',
    path: '/clients/:id/protect',
    summary: 'route the client through Warden, secrets to the keychain',
    body: protectBodySchema,
    request: (id, clientSha256, servers) => ({
      params: { id },
      body: { clientSha256, ...(servers ? { servers } : {}) },
    }),
    emits: ['status.changed'],
  }),
  restore: op(z.tuple([segment]), restoreResultSchema, {
    method: 'POST',
    path: '/clients/:id/restore',
    summary: 'put the client config back as it was',
    request: (id) => ({ params: { id } }),
    emits: ['status.changed'],
  }),
  secrets: op(noArgs, secretEntrySchema.array(), {
    method: 'GET',
    path: '/secrets',
    summary: 'secret names, bindings and users (never values)',
    emits: [],
  }),
  setSecret: op(z.tuple([segment, secretSetBodySchema.shape.value]), changeOkSchema, {
    method: 'PUT',
    path: '/secrets/:name',
    summary: 'store a secret in the OS keychain (bound to one server when the body names it)',
    body: secretSetBodySchema,
    request: (name, value) => ({ params: { name }, body: { value } }),
    emits: ['status.changed'],
  }),
  deleteSecret: op(z.tuple([segment]), changeOkSchema, {
    method: 'DELETE',
    path: '/secrets/:name',
    summary: 'delete a secret and its binding',
    request: (name) => ({ params: { name } }),
    emits: ['status.changed'],
  }),
  bindSecret: op(z.tuple([segment, segment]), secretBindingSchema, {
    method: 'POST',
    path: '/secrets/:name/bind',
    summary: "give a secret only to a server's current exact command (or URL)",
    body: secretBindBodySchema,
    request: (name, server) => ({ params: { name }, body: { server } }),
    emits: ['status.changed'],
    ui: false,
  }),
  catalog: op(noArgs, catalogItemSchema.array(), {
    method: 'GET',
    path: '/catalog',
    summary: 'the org catalog of the policy in force (servers IT approved)',
    emits: [],
    ui: false,
  }),
  events: op(noArgs, controlEventSchema, {
    method: 'GET',
    path: '/events',
    summary: 'server-sent events: one ControlEvent each, named by its type (WardenApi.subscribe)',
    response: 'events',
    emits: ['approval.requested', 'approval.resolved', 'audit.recorded', 'status.changed'],
  }),
} as const satisfies Record<string, OperationSpec>;

/** Every operation's name. */
export type OperationName = keyof typeof OPERATIONS;

/** The operations answered once (JSON or text): WardenApi's request methods. */
export type RequestOperationName = {
  [K in OperationName]: (typeof OPERATIONS)[K] extends { response: 'events' } ? never : K;
}[OperationName];

/** The operations the UI may call: WardenApi's request methods, exposed over IPC. */
export type UiOperationName = {
  [K in RequestOperationName]: (typeof OPERATIONS)[K] extends { ui: false } ? never : K;
}[RequestOperationName];

/** An operation's positional arguments, as a caller passes them. */
export type OperationArgs<K extends OperationName> = z.input<(typeof OPERATIONS)[K]['args']>;

/** What an operation resolves with. */
export type OperationOutput<K extends OperationName> = z.output<(typeof OPERATIONS)[K]['output']>;

type SchemaOutput<S, Fallback> = [S] extends [never]
  ? Fallback
  : S extends z.ZodType
    ? z.output<S>
    : Fallback;

/** What a handler receives: the request's parts as the daemon validated them. */
export interface OperationInput<K extends OperationName> {
  params: SchemaOutput<
    (typeof OPERATIONS)[K] extends { params: infer P } ? P : never,
    Record<PathParamNames<(typeof OPERATIONS)[K]['path']>, string>
  >;
  query: SchemaOutput<(typeof OPERATIONS)[K] extends { query: infer Q } ? Q : never, undefined>;
  body: SchemaOutput<(typeof OPERATIONS)[K] extends { body: infer B } ? B : never, undefined>;
}

/** The entry of an operation, as the derivations read it. */
export function operation(name: OperationName): OperationSpec {
  return OPERATIONS[name];
}

/** The request operations' names, in table order. */
export const REQUEST_OPERATIONS = (Object.keys(OPERATIONS) as OperationName[]).filter(
  (name) => operation(name).response !== 'events',
) as RequestOperationName[];

/** The UI's operations' names, in table order: WardenApi's request methods. */
export const UI_OPERATIONS = REQUEST_OPERATIONS.filter(
  (name) => operation(name).ui !== false,
) as UiOperationName[];
