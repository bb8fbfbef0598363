import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import type { WardenCore } from '../daemon/warden-core.ts';
import { isWardenError, WardenError, type WardenErrorCode } from '../errors.ts';
import { formatCommandLine } from '../bridge/upstream-link.ts';
import { ruleText } from '../policy/engine.ts';
import { identityHash } from '../policy/identity.ts';
import type { PinKind } from '../pins/definition-hash.ts';
import { WARDEN_VERSION } from '../version.ts';
import {
  approvalAnswerBodySchema,
  explainQuerySchema,
  serverApproveBodySchema,
  type ExplainResponse,
  type ServerEntry,
  type StatusResponse,
} from './contract.ts';

/** What the gateway tells the control API about live sessions. */
export interface ControlRuntime {
  sessionsFor(server: string): number;
  breakerState(server: string): string;
}

/** Largest control request body, bytes (1 MiB). */
export const MAX_CONTROL_BODY_BYTES = 1024 * 1024;

/** SSE keep-alive comment interval, ms. */
const KEEP_ALIVE_MS = 15_000;

const STATUS_FOR: Partial<Record<WardenErrorCode, number>> = {
  NOT_FOUND: 404,
  CONFLICT: 409,
  USAGE: 400,
  POLICY_INVALID: 400,
};

type Handler = (req: IncomingMessage, res: ServerResponse, params: string[], url: URL) => Promise<unknown>;

/**
 * The control API's HTTP handler (routes in contract.ts). Requests reach it only after the
 * daemon's gate (Host, Origin, bearer token). Every body and query is validated with the
 * contract; errors answer `{ error: { code, message } }` with 400, 404, 405, 409 or 500.
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
      (_req, _res, [server, kind, name]) => {
        core.pins.approve(server!, kind as PinKind, name!);
        return Promise.resolve({ ok: true });
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
  ];

  return async (req, res, url) => {
    try {
      const path = url.pathname;
      const candidates = routes.filter(([, pattern]) => pattern.test(path));
      if (!candidates.length) throw httpError(404, 'NOT_FOUND', `no control route ${path}`);
      const route = candidates.find(([method]) => method === req.method);
      if (!route) throw httpError(405, 'METHOD_NOT_ALLOWED', `${req.method} is not allowed on ${path}`);
      const params = route[1].exec(path)!.slice(1).map(decodeURIComponent);
      const result = await route[2](req, res, params, url);
      if (!res.headersSent && result !== STREAMING) sendJson(res, 200, result);
    } catch (error) {
      if (res.headersSent) {
        res.end();
        return;
      }
      if (error instanceof HttpError)
        sendJson(res, error.status, { error: { code: error.code, message: error.message } });
      else if (isWardenError(error))
        sendJson(res, STATUS_FOR[error.code] ?? 500, { error: { code: error.code, message: error.message } });
      else
        sendJson(res, 500, {
          error: { code: 'INTERNAL', message: error instanceof Error ? error.message : String(error) },
        });
    }
  };
}

const STREAMING = Symbol('streaming');

function streamEvents(core: WardenCore, req: IncomingMessage, res: ServerResponse): Promise<unknown> {
  res.writeHead(200, {
    'content-type': 'text/event-stream',
    'cache-control': 'no-cache, no-transform',
    connection: 'keep-alive',
  });
  res.write(': connected\n\n');
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

class HttpError extends Error {
  readonly status: number;
  readonly code: string;
  constructor(status: number, code: string, message: string) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

function httpError(status: number, code: string, message: string): HttpError {
  return new HttpError(status, code, message);
}

function parse<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const parsed = schema.safeParse(value);
  if (!parsed.success)
    throw httpError(400, 'INVALID_REQUEST', `invalid ${what}:\n${z.prettifyError(parsed.error)}`);
  return parsed.data;
}

function parseJsonParam(text: string, name: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw httpError(400, 'INVALID_REQUEST', `"${name}" is not JSON`);
  }
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_CONTROL_BODY_BYTES)
      throw httpError(413, 'TOO_LARGE', `the body is over ${MAX_CONTROL_BODY_BYTES} bytes`);
    chunks.push(chunk);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw httpError(400, 'INVALID_REQUEST', 'the body is not JSON');
  }
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}
