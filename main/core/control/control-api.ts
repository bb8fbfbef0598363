import { readBodyBytes } from '../body-bytes.ts';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import { httpStatusOf, toWire, WardenError } from '../errors.ts';
import { decodeSegment } from '../request-target.ts';
import type { WardenCore } from '../runtime/warden-core.ts';
import type { ControlRuntime } from './handlers/context.ts';
import { daemonHandlers } from './handlers/index.ts';
import { validateInput, type ControlHandlers, type Download, type EventsHandler } from './invoke.ts';
import { OPERATIONS, operation, pathParams, pathPattern, type OperationName } from './operations.ts';

export type { ControlRuntime } from './handlers/context.ts';

/** Largest control request body, bytes (1 MiB). */
export const MAX_CONTROL_BODY_BYTES = 1024 * 1024;

/** SSE keep-alive comment interval, ms. */
const KEEP_ALIVE_MS = 15_000;

/** Every operation's route, compiled once from the table. */
const ROUTES = (Object.keys(OPERATIONS) as OperationName[]).map((name) => ({
  name,
  spec: operation(name),
  pattern: pathPattern(operation(name).path),
}));

/**
 * The control API's HTTP handler, derived from the operations table (operations.ts). Requests
 * reach it only after the daemon's gate (Host, Origin, bearer token). A path no operation has is
 * NOT_FOUND, a method it does not take METHOD_NOT_ALLOWED; path parameters are percent-decoded
 * (INVALID_REQUEST when not UTF-8); the query and the body (read only when the operation takes
 * one) are validated with the table's schemas; then the handler (control/handlers/) answers.
 * Errors answer `{ error: { code, message } }` (toWire) with their code's HTTP status
 * (httpStatusOf, errors.ts): 400, 404, 405, 409, 413 or 500 in practice.
 */
export function createControlApi(
  core: WardenCore,
  runtime: ControlRuntime,
  handlers: ControlHandlers = daemonHandlers({ core, runtime }),
): (req: IncomingMessage, res: ServerResponse, url: URL) => Promise<void> {
  return async (req, res, url) => {
    try {
      const path = url.pathname;
      const candidates = ROUTES.filter((route) => route.pattern.test(path));
      if (!candidates.length) throw new WardenError('NOT_FOUND', `no control route ${path}`);
      const route = candidates.find((r) => r.spec.method === req.method);
      if (!route) throw new WardenError('METHOD_NOT_ALLOWED', `${req.method} is not allowed on ${path}`);
      const values = route.pattern
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
      const names = pathParams(route.spec.path);
      const params = Object.fromEntries(names.map((name, i) => [name, values[i]!]));
      if (route.spec.response === 'events') {
        await streamEvents(handlers[route.name] as EventsHandler, req, res);
        return;
      }
      const input = validateInput(route.name, {
        params,
        ...(route.spec.query ? { query: Object.fromEntries(url.searchParams) } : {}),
        ...(route.spec.body
          ? { body: await readJson(req, route.spec.body.safeParse(undefined).success) }
          : {}),
      });
      const result = await (handlers[route.name] as (input: unknown) => unknown)(input);
      if (route.spec.response === 'text') await sendDownload(res, result as Download);
      else sendJson(res, 200, result);
    } catch (error) {
      if (res.headersSent) {
        res.end();
        return;
      }
      sendControlError(res, error);
    }
  };
}

async function sendDownload(res: ServerResponse, download: Download): Promise<void> {
  res.writeHead(200, {
    'content-type': download.contentType,
    'content-disposition': `attachment; filename="${download.filename}"`,
    'cache-control': 'no-store',
  });
  await pipeline(download.stream, res);
}

/** Server-sent events: each ControlEvent named by its type; a comment every KEEP_ALIVE_MS. */
function streamEvents(follow: EventsHandler, req: IncomingMessage, res: ServerResponse): Promise<void> {
  res.writeHead(200, {
    'content-type': 'text/event-stream',
    'cache-control': 'no-cache, no-transform',
    connection: 'keep-alive',
  });
  res.write(': connected\n\n');
  const stop = follow((event) => {
    res.write(`event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`);
  });
  const keepAlive = setInterval(() => res.write(': keep-alive\n\n'), KEEP_ALIVE_MS);
  return new Promise((resolve) => {
    req.once('close', () => {
      clearInterval(keepAlive);
      stop();
      resolve();
    });
  });
}

/**
 * Reads a JSON request body.
 * @param emptyAllowed an empty body reads as undefined (an operation whose body is optional).
 * @throws WardenError TOO_LARGE over MAX_CONTROL_BODY_BYTES (readBodyBytes, raw-body); INVALID_REQUEST
 *   when it is not JSON, ends early or differs from its Content-Length.
 */
export async function readJson(req: IncomingMessage, emptyAllowed = false): Promise<unknown> {
  const body = await readBodyBytes(
    req,
    MAX_CONTROL_BODY_BYTES,
    `the body is over ${MAX_CONTROL_BODY_BYTES} bytes`,
  );
  if (emptyAllowed && body.length === 0) return undefined;
  try {
    return JSON.parse(body.toString('utf8'));
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
