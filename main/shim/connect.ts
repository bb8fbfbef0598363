import {
  StreamableHTTPClientTransport,
  StreamableHTTPError,
} from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {
  isJSONRPCRequest,
  isJSONRPCResultResponse,
  JSONRPCMessageSchema,
  type JSONRPCMessage,
  type RequestId,
} from '@modelcontextprotocol/sdk/types.js';
import {
  errorResponseFor,
  errorResponseWith,
  jsonRpcErrorOf,
  type JsonRpcErrorObject,
} from '../core/bridge/jsonrpc.ts';
import { describeError, WardenError } from '../core/errors.ts';
import type { WardenPaths } from '../core/paths.ts';
import { MAX_REQUEST_BYTES } from '../core/daemon/request-body.ts';
import { ensureDaemon } from './daemon-launcher.ts';

export interface ConnectOptions {
  server: string;
  paths: WardenPaths;
  cliEntry: string;
  configOverride?: string;
  input?: NodeJS.ReadableStream;
  output?: NodeJS.WritableStream;
  diagnostics?: NodeJS.WritableStream;
}

/**
 * The connect shim: what a client config launches (`mcp-warden connect <server>`).
 * Bridges newline-delimited JSON-RPC on stdin/stdout (MCP 2025-11-25, transports: stdio) to the
 * daemon's Streamable HTTP endpoint `/mcp/<server>`, starting the daemon when it is not running.
 * stdout carries only MCP messages; diagnostics go to stderr. A line that is not valid UTF-8,
 * not JSON, not JSON-RPC, or longer than MAX_REQUEST_BYTES is answered with a JSON-RPC error and
 * skipped. Resolves with the exit code when the client closes stdin.
 */
export async function runConnect(options: ConnectOptions): Promise<number> {
  const input = options.input ?? process.stdin;
  const output = options.output ?? process.stdout;
  const diag = options.diagnostics ?? process.stderr;
  const say = (text: string): void => void diag.write(`mcp-warden connect ${options.server}: ${text}\n`);
  const write = (message: JSONRPCMessage): void => void output.write(JSON.stringify(message) + '\n');

  const daemon = await ensureDaemon(options.paths, options.cliEntry, options.configOverride);
  if (daemon.started) say(`started the Warden daemon (pid ${daemon.health.pid}) at ${daemon.state.url}`);
  if (!daemon.health.servers.includes(options.server)) {
    say(
      `server "${options.server}" is not configured in ${daemon.health.config} (configured: ${daemon.health.servers.join(', ') || 'none'})`,
    );
  }

  const transport = new StreamableHTTPClientTransport(
    new URL(`/mcp/${encodeURIComponent(options.server)}`, `http://127.0.0.1:${daemon.state.port}`),
    { requestInit: { headers: { authorization: `Bearer ${daemon.state.token}` } } },
  );
  const initializeIds = new Set<RequestId>();
  transport.onmessage = (message) => {
    if (isJSONRPCResultResponse(message) && initializeIds.delete(message.id)) {
      const version = (message.result as { protocolVersion?: string }).protocolVersion;
      if (version) transport.setProtocolVersion(version);
    }
    write(message);
  };
  transport.onerror = (error) => {
    if (!(error instanceof StreamableHTTPError)) say(describeError(error));
  };
  await transport.start();

  const forward = async (message: JSONRPCMessage): Promise<void> => {
    if (isJSONRPCRequest(message) && message.method === 'initialize') initializeIds.add(message.id);
    try {
      await transport.send(message);
    } catch (error) {
      const answer = daemonError(error);
      say(answer.message);
      if (isJSONRPCRequest(message)) write(errorResponseWith(message.id, answer));
    }
  };

  await readLines(input, MAX_REQUEST_BYTES, (line) => {
    const message = parseLine(line);
    if ('batch' in message) {
      say(BATCH_REFUSED);
      for (const id of message.batch)
        write(errorResponseFor(id, new WardenError('INVALID_REQUEST', BATCH_REFUSED)));
      return;
    }
    if ('error' in message) {
      say(message.error.message);
      write(errorResponseWith(message.id, message.error));
      return;
    }
    void forward(message.message);
  });

  try {
    await Promise.race([transport.terminateSession(), new Promise((r) => setTimeout(r, 2000).unref())]);
  } catch {
    // the daemon may be gone already
  }
  await transport.close();
  return 0;
}

/**
 * What one stdin line is: a message to forward; an error to answer (with the line's id when it
 * has one); or a JSON-RPC batch, refused with one error per request in it (`batch` holds their
 * ids).
 */
type Parsed =
  { message: JSONRPCMessage } | { id: RequestId | null; error: JsonRpcErrorObject } | { batch: RequestId[] };

/** Why a batch line is refused (each of its requests gets this error). */
export const BATCH_REFUSED =
  'Invalid Request: JSON-RPC batches are not supported over stdio (MCP 2025-06-18 removed them); send one message per line';

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Decodes and validates one stdin line (a Buffer without its newline). */
export function parseLine(line: Buffer | { tooLong: number }): Parsed {
  if (!Buffer.isBuffer(line)) {
    return {
      id: null,
      error: jsonRpcErrorOf(
        new WardenError('TOO_LARGE', `message over the ${line.tooLong}-byte limit skipped`),
      ),
    };
  }
  let text: string;
  try {
    text = utf8.decode(line);
  } catch {
    return {
      id: null,
      error: jsonRpcErrorOf(new WardenError('PARSE_ERROR', 'Parse error: the message is not valid UTF-8')),
    };
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    return {
      id: null,
      error: jsonRpcErrorOf(new WardenError('PARSE_ERROR', `Parse error: ${describeError(error)}`)),
    };
  }
  if (Array.isArray(raw)) {
    const batch = raw.flatMap((item: unknown) => {
      const request = item as { id?: unknown; method?: unknown } | null;
      const id = request?.id;
      return typeof request === 'object' &&
        request !== null &&
        'method' in request &&
        (typeof id === 'string' || typeof id === 'number')
        ? [id]
        : [];
    });
    if (batch.length > 0) return { batch };
    return { id: null, error: jsonRpcErrorOf(new WardenError('INVALID_REQUEST', BATCH_REFUSED)) };
  }
  const parsed = JSONRPCMessageSchema.safeParse(raw);
  if (!parsed.success) {
    const id = (raw as { id?: unknown } | null)?.id;
    return {
      id: typeof id === 'string' || typeof id === 'number' ? id : null,
      error: jsonRpcErrorOf(
        new WardenError('INVALID_REQUEST', 'Invalid Request: not a JSON-RPC 2.0 message'),
      ),
    };
  }
  return { message: raw as JSONRPCMessage };
}

/**
 * Splits a byte stream into lines (LF, optional CR), each at most `limit` bytes; longer lines
 * are reported as `{ tooLong: limit }` and skipped. Resolves when the stream ends.
 */
export function readLines(
  input: NodeJS.ReadableStream,
  limit: number,
  onLine: (line: Buffer | { tooLong: number }) => void,
): Promise<void> {
  return new Promise((resolve) => {
    let parts: Buffer[] = [];
    let size = 0;
    let skipping = false;
    const emit = (buf: Buffer): void => {
      const line = buf.length && buf[buf.length - 1] === 0x0d ? buf.subarray(0, -1) : buf;
      if (line.length) onLine(line);
    };
    input.on('data', (chunk: Buffer) => {
      let start = 0;
      for (;;) {
        const nl = chunk.indexOf(0x0a, start);
        const piece = chunk.subarray(start, nl === -1 ? chunk.length : nl);
        if (!skipping) {
          size += piece.length;
          if (size > limit) {
            skipping = true;
            parts = [];
            onLine({ tooLong: limit });
          } else if (piece.length) parts.push(piece);
        }
        if (nl === -1) break;
        if (!skipping) emit(parts.length === 1 ? parts[0]! : Buffer.concat(parts));
        parts = [];
        size = 0;
        skipping = false;
        start = nl + 1;
      }
    });
    input.once('end', () => {
      if (!skipping && parts.length) emit(Buffer.concat(parts));
      resolve();
    });
    input.once('close', () => resolve());
  });
}

/**
 * The JSON-RPC error to answer a request the daemon refused or could not take: the daemon's own
 * JSON-RPC error (already mapped by it, `data.reason` included) when its answer carries one,
 * else DAEMON_UNREACHABLE.
 */
function daemonError(error: unknown): { code: number; message: string; data?: unknown } {
  const text = describeError(error);
  const json = /\{.*\}$/s.exec(text)?.[0];
  if (json) {
    try {
      const parsed = JSON.parse(json) as { error?: { message?: unknown; code?: unknown; data?: unknown } };
      const answer = parsed.error;
      if (typeof answer?.message === 'string' && answer.message)
        return typeof answer.code === 'number'
          ? {
              code: answer.code,
              message: answer.message,
              ...(answer.data !== undefined ? { data: answer.data } : {}),
            }
          : jsonRpcErrorOf(new WardenError('DAEMON_UNREACHABLE', answer.message));
    } catch {
      // not JSON: fall through
    }
  }
  if (/fetch failed|ECONNREFUSED/.test(text))
    return jsonRpcErrorOf(
      new WardenError('DAEMON_UNREACHABLE', 'the Warden daemon is not reachable (did it stop?)'),
    );
  return jsonRpcErrorOf(new WardenError('DAEMON_UNREACHABLE', text, { cause: error }));
}
