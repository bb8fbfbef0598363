import { createHash } from 'node:crypto';
import fs from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { z } from 'zod';
import { exportStream } from '../audit/audit-export.ts';
import { AuditReader, type AuditFilter } from '../audit/audit-reader.ts';
import { clientLocations, type ClientLocation } from '../clients/locations.ts';
import { applyProtect, describePlan, inspectClient, planProtect } from '../clients/protect.ts';
import { restoreClient } from '../clients/restore.ts';
import { journalDir } from '../change/context.ts';
import type { ChangeContext } from '../change/run-change.ts';
import { launcher } from '../launcher.ts';
import { referencedSecrets } from '../secrets/references.ts';
import { deleteSecret, setSecret } from '../change/secret-changes.ts';
import { assertSecretName } from '../secrets/secret-store.ts';
import { describeIdentity, serverIdentity } from '../policy/identity.ts';
import { describeServerRule, describeToolRule, label, ruleText } from '../policy/engine.ts';
import type { WardenCore } from '../runtime/warden-core.ts';
import { describeError, httpStatusOf, toWire, WardenError } from '../errors.ts';
import { formatCommandLine } from '../command-line.ts';
import { identityHash } from '../policy/identity.ts';
import type { PinKind } from '../pins/definition-hash.ts';
import { WARDEN_VERSION } from '../version.ts';
import { decodeSegment } from '../request-target.ts';
import {
  approvalAnswerBodySchema,
  auditExportFormatSchema,
  auditQuerySchema,
  explainQuerySchema,
  pinApproveBodySchema,
  protectBodySchema,
  secretSetBodySchema,
  serverApproveBodySchema,
  type CatalogItem,
  type ClientConfig,
  type EffectivePolicy,
  type ExplainResponse,
  type ProtectPreview,
  type SecretEntry,
  type ServerEntry,
  type StatusResponse,
} from './contract.ts';

/** What the gateway tells the control API about live sessions. */
export interface ControlRuntime {
  sessionsFor(server: string): number;
  breakerState(server: string): string;
  /** Ends every session (their upstream processes stop); new ones are refused while paused. */
  pauseAll(): Promise<void>;
  /** Restarts the upstream of every session of `server`; resolves to how many. */
  restart(server: string): Promise<number>;
}

/** Largest control request body, bytes (1 MiB). */
export const MAX_CONTROL_BODY_BYTES = 1024 * 1024;

/** SSE keep-alive comment interval, ms. */
const KEEP_ALIVE_MS = 15_000;

type Handler = (req: IncomingMessage, res: ServerResponse, params: string[], url: URL) => Promise<unknown>;

/**
 * The control API's HTTP handler (routes in contract.ts). Requests reach it only after the
 * daemon's gate (Host, Origin, bearer token). Every body and query is validated with the
 * contract; errors answer `{ error: { code, message } }` (toWire) with their code's HTTP status
 * (httpStatusOf, errors.ts): 400, 404, 405, 409, 413 or 500 in practice.
 */
export function createControlApi(
  core: WardenCore,
  runtime: ControlRuntime,
): (req: IncomingMessage, res: ServerResponse, url: URL) => Promise<void> {
  const servers = (): ServerEntry[] =>
    [...core.config.servers.values()].map((server) => {
      const admission = core.admit(server);
      return {
        name: server.name,
        kind: server.kind,
        target: server.kind === 'stdio' ? formatCommandLine(server) : server.url,
        envKeys: server.kind === 'stdio' ? Object.keys(server.env) : Object.keys(server.headers),
        identityHash: identityHash(admission.identity),
        allowed: admission.allowed,
        ...(admission.allowed ? {} : { reason: admission.reason }),
        trusted: admission.allowed ? admission.trusted : false,
        sessions: runtime.sessionsFor(server.name),
        breaker: runtime.breakerState(server.name),
      };
    });

  const routes: [string, RegExp, Handler][] = [
    [
      'GET',
      /^\/api\/v1\/status$/,
      () =>
        Promise.resolve<StatusResponse>({
          version: WARDEN_VERSION,
          pid: process.pid,
          config: core.config.file,
          servers: servers(),
          pendingApprovals: core.broker.list().length,
          paused: core.paused,
          policyVersion: core.policyVersion() ?? null,
        }),
    ],
    ['GET', /^\/api\/v1\/servers$/, () => Promise.resolve(servers())],
    [
      'POST',
      /^\/api\/v1\/servers\/([^/]+)\/approve$/,
      async (req, _res, [name]) => {
        const body = parse(serverApproveBodySchema, await readJson(req), 'body');
        core.approveServer(name!, body.identityHash, 'control-api');
        return { ok: true };
      },
    ],
    ['GET', /^\/api\/v1\/approvals$/, () => Promise.resolve(core.broker.list())],
    [
      'POST',
      /^\/api\/v1\/approvals\/([^/]+)$/,
      async (req, _res, [id]) => {
        const body = parse(approvalAnswerBodySchema, await readJson(req), 'body');
        core.broker.answer(id!, {
          choice: body.choice,
          argumentsHash: body.argumentsHash,
          by: body.channel ?? 'control-api',
          ...(body.conditions ? { conditions: body.conditions } : {}),
          ...(body.reason ? { reason: body.reason } : {}),
        });
        return { ok: true };
      },
    ],
    ['GET', /^\/api\/v1\/events$/, (req, res) => streamEvents(core, req, res)],
    ['GET', /^\/api\/v1\/rules$/, () => Promise.resolve(core.remembered.list())],
    [
      'DELETE',
      /^\/api\/v1\/rules\/(\d+)$/,
      (_req, _res, [id]) => {
        core.remembered.revoke(Number(id));
        return Promise.resolve({ ok: true });
      },
    ],
    [
      'GET',
      /^\/api\/v1\/pins$/,
      () =>
        Promise.resolve({
          pins: core.pins.pins(),
          reviews: core.pins.reviews(),
          shadows: core.shadows.shadows(),
        }),
    ],
    [
      'POST',
      /^\/api\/v1\/pins\/([^/]+)\/(tool|prompt|resourceTemplate)\/([^/]+)\/approve$/,
      async (req, _res, [server, kind, name]) => {
        const body = parse(pinApproveBodySchema, await readJson(req), 'body');
        core.pins.approve(server!, kind as PinKind, name!, { hash: body.hash });
        core.emit({ type: 'status.changed' });
        return { ok: true };
      },
    ],
    [
      'GET',
      /^\/api\/v1\/policy\/status$/,
      () =>
        Promise.resolve({
          sources: core.engine.sources.map((s) => ({ kind: s.kind, origin: s.origin })),
          org: core.orgSync?.status() ?? null,
        }),
    ],
    [
      'POST',
      /^\/api\/v1\/policy\/sync$/,
      async () => {
        if (!core.orgSync)
          throw new WardenError('NOT_FOUND', 'the managed policy names no org policy to sync');
        await core.orgSync.syncNow();
        return core.orgSync.status();
      },
    ],
    ['GET', /^\/api\/v1\/policy\/explain$/, (_req, _res, _p, url) => Promise.resolve(explain(core, url))],
    ['GET', /^\/api\/v1\/policy\/effective$/, () => Promise.resolve(effectivePolicy(core))],
    [
      'POST',
      /^\/api\/v1\/servers\/([^/]+)\/restart$/,
      async (_req, _res, [name]) => {
        if (!core.config.servers.has(name!))
          throw new WardenError('NOT_FOUND', `no server "${name}" in ${core.config.file}`);
        await runtime.restart(name!);
        core.emit({ type: 'status.changed' });
        return { ok: true };
      },
    ],
    [
      'POST',
      /^\/api\/v1\/pause$/,
      async () => {
        core.setPaused(true);
        await runtime.pauseAll();
        return { ok: true };
      },
    ],
    [
      'POST',
      /^\/api\/v1\/resume$/,
      () => {
        core.setPaused(false);
        return Promise.resolve({ ok: true });
      },
    ],
    [
      'GET',
      /^\/api\/v1\/audit$/,
      (_req, _res, _p, url) => {
        const query = parse(auditQuerySchema, Object.fromEntries(url.searchParams), 'query');
        return Promise.resolve(withReader(core, (reader) => reader.query(auditFilter(query), query.limit)));
      },
    ],
    [
      'GET',
      /^\/api\/v1\/audit\/export$/,
      async (_req, res, _p, url) => {
        const { format: rawFormat, ...rest } = Object.fromEntries(url.searchParams);
        const format = parse(auditExportFormatSchema, rawFormat ?? 'jsonl', 'format');
        const query = parse(auditQuerySchema, rest, 'query');
        const reader = AuditReader.open(core.audit.file);
        try {
          res.writeHead(200, {
            'content-type':
              format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson; charset=utf-8',
            'content-disposition': `attachment; filename="mcp-warden-audit.${format}"`,
            'cache-control': 'no-store',
          });
          await pipeline(exportStream(reader.iterateFiltered(auditFilter(query)), format), res);
        } finally {
          reader.close();
        }
        return STREAMING;
      },
    ],
    ['GET', /^\/api\/v1\/clients$/, () => listClients(core)],
    [
      'POST',
      /^\/api\/v1\/clients\/([^/]+)\/preview$/,
      async (_req, _res, [id]) => previewProtect(core, locate(id!)),
    ],
    [
      'POST',
      /^\/api\/v1\/clients\/([^/]+)\/protect$/,
      async (req, _res, [id]) => {
        const body = parse(protectBodySchema, await readJson(req), 'body');
        const location = locate(id!);
        const plan = await planProtect(location, core.config.file, launcher(), body.servers);
        if (sha256(plan.clientBefore) !== body.clientSha256)
          throw new WardenError('CONFLICT', `${location.file} changed since the preview; preview it again`);
        if (!plan.servers.length) throw new WardenError('CONFLICT', `nothing to protect in ${location.file}`);
        const { backup } = await applyProtect(plan, {
          wardenConfigFile: core.config.file,
          ctx: changeContext(core),
          backupDir: backupDir(core),
          approvedBy: `dashboard protect ${id}`,
        });
        core.emit({ type: 'status.changed' });
        return { servers: plan.servers.map((s) => s.name), backup };
      },
    ],
    [
      'POST',
      /^\/api\/v1\/clients\/([^/]+)\/restore$/,
      async (_req, _res, [id]) => ({
        report: await restoreClient(locate(id!), { ctx: changeContext(core), backupDir: backupDir(core) }),
      }),
    ],
    ['GET', /^\/api\/v1\/secrets$/, () => listSecrets(core)],
    ['GET', /^\/api\/v1\/catalog$/, () => Promise.resolve(catalog(core))],
    [
      'PUT',
      /^\/api\/v1\/secrets\/([^/]+)$/,
      async (req, _res, [name]) => {
        assertName(name!);
        const body = parse(secretSetBodySchema, await readJson(req), 'body');
        await setSecret(changeContext(core), name!, body.value);
        return { ok: true };
      },
    ],
    [
      'DELETE',
      /^\/api\/v1\/secrets\/([^/]+)$/,
      async (_req, _res, [name]) => {
        assertName(name!);
        await deleteSecret(changeContext(core), name!);
        return { ok: true };
      },
    ],
  ];

  return async (req, res, url) => {
    try {
      const path = url.pathname;
      const candidates = routes.filter(([, pattern]) => pattern.test(path));
      if (!candidates.length) throw new WardenError('NOT_FOUND', `no control route ${path}`);
      const route = candidates.find(([method]) => method === req.method);
      if (!route) throw new WardenError('METHOD_NOT_ALLOWED', `${req.method} is not allowed on ${path}`);
      const params = route[1]
        .exec(path)!
        .slice(1)
        .map((segment) => {
          const decoded = decodeSegment(segment);
          if (decoded === undefined)
            throw new WardenError(
              'INVALID_REQUEST',
              `the path segment "${segment}" of ${path} is not valid percent-encoded UTF-8 (encode names with encodeURIComponent)`,
            );
          return decoded;
        });
      const result = await route[2](req, res, params, url);
      if (!res.headersSent && result !== STREAMING) sendJson(res, 200, result);
    } catch (error) {
      if (res.headersSent) {
        res.end();
        return;
      }
      sendControlError(res, error);
    }
  };
}

const STREAMING = Symbol('streaming');

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

const backupDir = (core: WardenCore): string => path.join(core.dataDir, 'backups');

/** Changes made through the control API use the daemon's own keychain access and state.db. */
const changeContext = (core: WardenCore): ChangeContext => ({
  journalDir: journalDir(core.dataDir),
  secrets: core.secrets.store,
  state: () => ({ approvals: core.serverApprovals, bindings: core.secretBindings }),
});

function assertName(name: string): void {
  try {
    assertSecretName(name);
  } catch (error) {
    throw new WardenError('INVALID_REQUEST', describeError(error), { cause: error });
  }
}

/** Runs `read` with a read-only connection to the audit log (WAL: sees every committed row). */
function withReader<T>(core: WardenCore, read: (reader: AuditReader) => T): T {
  const reader = AuditReader.open(core.audit.file);
  try {
    return read(reader);
  } finally {
    reader.close();
  }
}

function auditFilter(query: z.output<typeof auditQuerySchema>): AuditFilter {
  return {
    ...(query.client ? { client: query.client } : {}),
    ...(query.server ? { server: query.server } : {}),
    ...(query.tool ? { tool: query.tool } : {}),
    ...(query.decision ? { decision: query.decision } : {}),
    ...(query.outcome ? { outcome: query.outcome } : {}),
    ...(query.since ? { sinceMs: Date.parse(query.since) } : {}),
    ...(query.until ? { untilMs: Date.parse(query.until) } : {}),
    ...(query.q ? { text: query.q } : {}),
    ...(query.before ? { beforeId: query.before } : {}),
  };
}

function locate(id: string): ClientLocation {
  const location = clientLocations().find((l) => l.id === id);
  if (!location)
    throw new WardenError(
      'NOT_FOUND',
      `no client "${id}" (known: ${clientLocations()
        .map((l) => l.id)
        .join(', ')})`,
    );
  return location;
}

async function listClients(core: WardenCore): Promise<ClientConfig[]> {
  const dir = backupDir(core);
  const backups = fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith('.json')) : [];
  const list: ClientConfig[] = [];
  for (const location of clientLocations()) {
    const report = await inspectClient(location);
    list.push({
      id: location.id,
      client: location.client,
      label: location.label,
      scope: location.scope,
      file: location.file,
      exists: report.exists,
      ...(report.error ? { error: report.error } : {}),
      hasBackup: backups.some((f) => f.startsWith(`${location.id}--`)),
      servers: report.servers.map((s) => ({
        name: s.name,
        target:
          typeof s.entry.url === 'string'
            ? s.entry.url
            : [s.entry.command, ...((s.entry.args as unknown[] | undefined) ?? [])].map(String).join(' '),
        protected: s.protected,
        secrets: s.secrets.map((f) => ({ where: f.where, key: f.key, why: f.reason })),
      })),
    });
  }
  return list;
}

async function previewProtect(core: WardenCore, location: ClientLocation): Promise<ProtectPreview> {
  const plan = await planProtect(location, core.config.file, launcher());
  const text = describePlan(plan, core.config.file);
  const split = text.indexOf('\n\n');
  return {
    summary: split < 0 ? text : text.slice(0, split),
    servers: plan.servers.map((s) => ({
      name: s.name,
      target: s.target,
      moves: s.moves.map((m) => ({ where: m.where, key: m.key, secret: m.secret })),
    })),
    diff: split < 0 ? '' : text.slice(split + 2),
    clientSha256: sha256(plan.clientBefore),
  };
}

async function listSecrets(core: WardenCore): Promise<SecretEntry[]> {
  const names = new Set(await core.secrets.store.list());
  const bindings = new Map(core.secretBindings.all().map((b) => [b.name, b]));
  const usedBy = new Map<string, string[]>();
  for (const server of core.config.servers.values())
    for (const name of referencedSecrets(server))
      usedBy.set(name, [...(usedBy.get(name) ?? []), server.name]);
  return [...names].sort().map((name) => {
    const binding = bindings.get(name);
    const bound = binding ? core.config.servers.get(binding.server) : undefined;
    return {
      name,
      boundTo: binding
        ? `${binding.server}${bound ? `: ${describeIdentity(serverIdentity(bound))}` : ''}`
        : null,
      usedBy: usedBy.get(name) ?? [],
    };
  });
}

function catalog(core: WardenCore): CatalogItem[] {
  const from = core.policyVersion() ?? 'org policy';
  return (core.orgSync?.catalog() ?? []).map((entry) => {
    const configured = core.config.servers.get(entry.name);
    return {
      ...entry,
      target: entry.url ?? [entry.command, ...(entry.args ?? [])].join(' '),
      from,
      configured: configured !== undefined && core.catalogEntry(serverIdentity(configured)) === entry.name,
    };
  });
}

function effectivePolicy(core: WardenCore): EffectivePolicy {
  const rules: EffectivePolicy['rules'] = [];
  for (const source of core.engine.sources) {
    const origin = label(source);
    for (const rule of source.document.servers ?? [])
      rules.push({
        source: source.kind,
        origin,
        kind: 'server',
        action: rule.action,
        text: describeServerRule(rule),
      });
    for (const rule of source.document.rules ?? [])
      rules.push({
        source: source.kind,
        origin,
        kind: 'tool',
        action: rule.action,
        text: `${describeToolRule(rule)}${rule.reason ? ` (${rule.reason})` : ''}`,
      });
    for (const rule of source.document.limits ?? []) {
      const parts = [
        rule.ratePerMinute !== undefined ? `${rule.ratePerMinute}/min` : '',
        rule.burst !== undefined ? `burst ${rule.burst}` : '',
        rule.concurrency !== undefined ? `${rule.concurrency} at once` : '',
        rule.dailyQuota !== undefined ? `${rule.dailyQuota}/day` : '',
      ].filter(Boolean);
      rules.push({
        source: source.kind,
        origin,
        kind: 'limit',
        action: 'limit',
        text: `limit tool "${rule.tool}" of server "${rule.server}": ${parts.join(', ')}`,
      });
    }
  }
  const managed = core.engine.sources.find((s) => s.kind === 'managed');
  const locked: EffectivePolicy['locked'] = [...core.engine.locks].map(([setting, source]) => ({
    setting,
    value: true,
    source,
  }));
  if (managed?.document.catalogOnly)
    locked.push({ setting: 'catalogOnly', value: true, source: label(managed) });
  if (managed?.document.orgPolicy)
    locked.push({ setting: 'orgPolicy.url', value: managed.document.orgPolicy.url, source: label(managed) });
  return { rules, locked };
}

function streamEvents(core: WardenCore, req: IncomingMessage, res: ServerResponse): Promise<unknown> {
  res.writeHead(200, {
    'content-type': 'text/event-stream',
    'cache-control': 'no-cache, no-transform',
    connection: 'keep-alive',
  });
  res.write(': connected\n\n');
  const unsubscribeCore = core.onEvent((event) => {
    res.write(`event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`);
  });
  const unsubscribe = core.broker.subscribe((event) => {
    const name = event.type === 'requested' ? 'approval.requested' : 'approval.resolved';
    const data =
      event.type === 'requested'
        ? { type: name, request: event.request }
        : { type: name, id: event.id, outcome: event.outcome };
    res.write(`event: ${name}\ndata: ${JSON.stringify(data)}\n\n`);
  });
  const keepAlive = setInterval(() => res.write(': keep-alive\n\n'), KEEP_ALIVE_MS);
  return new Promise((resolve) => {
    req.once('close', () => {
      clearInterval(keepAlive);
      unsubscribe();
      unsubscribeCore();
      resolve(STREAMING);
    });
  });
}

function explain(core: WardenCore, url: URL): ExplainResponse {
  const query = parse(explainQuerySchema, Object.fromEntries(url.searchParams), 'query');
  const server = core.config.servers.get(query.server);
  if (!server) throw new WardenError('NOT_FOUND', `no server "${query.server}" in ${core.config.file}`);
  const admission = core.admit(server);
  const args = query.args === undefined ? {} : parseJsonParam(query.args, 'args');
  const annotations =
    query.annotations === undefined
      ? undefined
      : (parseJsonParam(query.annotations, 'annotations') as Record<string, boolean>);
  const verdict = core.engine.decideTool({
    server: query.server,
    tool: query.tool,
    arguments: args,
    annotations,
    trusted: admission.allowed && admission.trusted,
    remembered: core.remembered.grants(),
  });
  return {
    server: admission.allowed
      ? { allowed: true, trusted: admission.trusted, reason: admission.by }
      : { allowed: false, trusted: false, reason: admission.reason },
    tool: {
      action: verdict.action,
      source: verdict.by.source,
      rule: ruleText(verdict.by),
      ...(verdict.action === 'deny' ? { reason: verdict.reason } : {}),
      ...(verdict.action === 'ask' ? { remember: verdict.remember } : {}),
    },
  };
}

function parse<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const parsed = schema.safeParse(value);
  if (!parsed.success)
    throw new WardenError('INVALID_REQUEST', `invalid ${what}:\n${z.prettifyError(parsed.error)}`);
  return parsed.data;
}

function parseJsonParam(text: string, name: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new WardenError('INVALID_REQUEST', `"${name}" is not JSON`);
  }
}

/**
 * Reads a JSON request body.
 * @throws WardenError TOO_LARGE over MAX_CONTROL_BODY_BYTES, INVALID_REQUEST when it is not JSON.
 */
export async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_CONTROL_BODY_BYTES)
      throw new WardenError('TOO_LARGE', `the body is over ${MAX_CONTROL_BODY_BYTES} bytes`);
    chunks.push(chunk);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new WardenError('INVALID_REQUEST', 'the body is not JSON');
  }
}

/**
 * Answers with any thrown value in the control API's error shape `{ error: { code, message } }`
 * (toWire) and its HTTP status (httpStatusOf); a value that is not a WardenError is INTERNAL, 500.
 */
export function sendControlError(res: ServerResponse, error: unknown): void {
  sendJson(res, httpStatusOf(error), { error: toWire(error) });
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}
