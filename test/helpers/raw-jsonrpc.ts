/**
 * Raw JSON-RPC peers for tests that must choose their own ids and send malformed input, which
 * the SDK Client never does: the connect shim driven line by line over stdio, and the daemon's
 * Streamable HTTP endpoint driven POST by POST.
 */
import { spawn } from 'node:child_process';
import { LATEST_PROTOCOL_VERSION } from '@modelcontextprotocol/sdk/types.js';
import { CLI, waitFor } from './warden-env.ts';

/** A JSON-RPC message as a test sees it (ids of any JSON type, for malformed cases). */
export type RawMessage = Record<string, unknown> & { id?: unknown };

/** A JSON-RPC id as a Map key: 1 and "1" differ, and -0 is 0 (as JSON writes it). */
export function idKey(id: unknown): string {
  return typeof id === 'number' ? `n:${Object.is(id, -0) ? 0 : id}` : `${typeof id}:${JSON.stringify(id)}`;
}

const initialize = (id: string | number, name: string): RawMessage => ({
  jsonrpc: '2.0',
  id,
  method: 'initialize',
  params: {
    protocolVersion: LATEST_PROTOCOL_VERSION,
    capabilities: {},
    clientInfo: { name, version: '0.0.1' },
  },
});

export interface RawShim {
  /** Writes one line: an object is JSON-encoded; a string or Buffer is written as is. A newline is added. */
  send(line: RawMessage | string | Buffer): void;
  /** Every message the shim wrote to stdout, in order. */
  readonly messages: RawMessage[];
  /** The messages that answer `id` (responses carrying it). */
  answersTo(id: unknown): RawMessage[];
  /** Waits until `id` has at least one answer; resolves with the first. */
  answer(id: unknown, timeoutMs?: number): Promise<RawMessage>;
  stderr(): string;
  /** Ends stdin and waits for the shim to exit. */
  close(): Promise<number | null>;
}

/** Spawns `mcp-warden connect <server>` and initializes it (initialize, then initialized). */
export async function rawShim(
  env: NodeJS.ProcessEnv,
  server: string,
  name = 'raw-stdio-client',
): Promise<RawShim> {
  const child = spawn(CLI, ['connect', server], { env, stdio: ['pipe', 'pipe', 'pipe'] });
  const messages: RawMessage[] = [];
  let stderr = '';
  let buffer = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => {
    buffer += chunk;
    for (let nl = buffer.indexOf('\n'); nl !== -1; nl = buffer.indexOf('\n')) {
      const line = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      if (line.trim()) messages.push(JSON.parse(line) as RawMessage);
    }
  });
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const answersTo = (id: unknown) =>
    messages.filter((m) => ('result' in m || 'error' in m) && idKey(m.id) === idKey(id));
  const shim: RawShim = {
    send(line) {
      const bytes = Buffer.isBuffer(line)
        ? line
        : Buffer.from(typeof line === 'string' ? line : JSON.stringify(line));
      child.stdin.write(Buffer.concat([bytes, Buffer.from('\n')]));
    },
    messages,
    answersTo,
    answer: (id, timeoutMs = 20_000) =>
      waitFor(() => answersTo(id)[0], timeoutMs, `an answer to ${JSON.stringify(id)}; stderr:\n${stderr}`),
    stderr: () => stderr,
    close() {
      child.stdin.end();
      return exited;
    },
  };
  const initId = `init-${process.pid}-${Date.now()}`;
  shim.send(initialize(initId, name));
  const answer = await shim.answer(initId, 30_000);
  if (!('result' in answer)) throw new Error(`initialize failed: ${JSON.stringify(answer)}\n${stderr}`);
  shim.send({ jsonrpc: '2.0', method: 'notifications/initialized' });
  return shim;
}

/** One POST's outcome: the HTTP status and the JSON-RPC messages of its body (JSON or SSE). */
export interface PostResult {
  status: number;
  messages: RawMessage[];
  /** The JSON body when it was not an event stream (errors, 202 has none). */
  body: unknown;
}

export interface RawHttpSession {
  sessionId: string;
  /** POSTs a body (an object or array is JSON-encoded; a string or Buffer is sent as is) and reads the whole answer. */
  post(body: unknown): Promise<PostResult>;
  close(): Promise<void>;
}

/** Opens a session on `/mcp/<server>` with raw fetch: initialize, then initialized. */
export async function rawHttpSession(
  baseUrl: string,
  token: string,
  server: string,
  name = 'raw-http-client',
): Promise<RawHttpSession> {
  const endpoint = new URL(`/mcp/${server}`, baseUrl);
  const headers = (sessionId?: string): Record<string, string> => ({
    authorization: `Bearer ${token}`,
    accept: 'application/json, text/event-stream',
    'content-type': 'application/json',
    ...(sessionId ? { 'mcp-session-id': sessionId, 'mcp-protocol-version': LATEST_PROTOCOL_VERSION } : {}),
  });
  const post = async (body: unknown, sessionId?: string): Promise<PostResult & { session?: string }> => {
    const payload = typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body);
    // An answer that never comes fails the POST (and shows the input) instead of hanging the test.
    const response = await fetch(endpoint, {
      method: 'POST',
      headers: headers(sessionId),
      body: payload,
      signal: AbortSignal.timeout(30_000),
    });
    const text = await response.text();
    const session = response.headers.get('mcp-session-id') ?? undefined;
    if (response.headers.get('content-type')?.includes('text/event-stream')) {
      const messages = text
        .split('\n')
        .filter((line) => line.startsWith('data:'))
        .map((line) => line.slice(5).trim())
        .filter(Boolean)
        .map((data) => JSON.parse(data) as RawMessage);
      return { status: response.status, messages, body: undefined, ...(session ? { session } : {}) };
    }
    const parsed: unknown = text ? JSON.parse(text) : undefined;
    const messages = (Array.isArray(parsed) ? parsed : parsed === undefined ? [] : [parsed]) as RawMessage[];
    return { status: response.status, messages, body: parsed, ...(session ? { session } : {}) };
  };
  const init = await post(initialize(1, name));
  if (init.status !== 200 || !init.session)
    throw new Error(`initialize failed: ${init.status} ${JSON.stringify(init.body)}`);
  const sessionId = init.session;
  const initialized = await post({ jsonrpc: '2.0', method: 'notifications/initialized' }, sessionId);
  if (initialized.status !== 202) throw new Error(`initialized answered ${initialized.status}`);
  return {
    sessionId,
    post: (body) => post(body, sessionId),
    async close() {
      await fetch(endpoint, { method: 'DELETE', headers: headers(sessionId) });
    },
  };
}
