import http from 'node:http';

/** What a JSON-RPC response carries back: its result, or its error. */
interface JsonRpcResponse {
  jsonrpc: '2.0';
  id: number;
  result?: unknown;
  error?: { code: number; message: string };
}

interface HttpAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** The protocol revision the raw client speaks (the one the SDK v1 line and Warden speak). */
export const PROTOCOL_VERSION = '2025-11-25';

/**
 * A Streamable HTTP client written by hand on node:http, to measure an endpoint without a client
 * SDK, `fetch` or web streams in the way: one keep-alive connection (an Agent with one socket),
 * JSON-RPC POSTs built with JSON.stringify, the `Mcp-Session-Id` the server gave at initialize on
 * every later request, and the answer read whole as JSON or as an SSE stream (the response is the
 * `data:` of the event whose message has the request's id). Transport spec: 2025-11-25
 * basic/transports#streamable-http.
 */
export class RawMcpHttpClient {
  readonly #url: URL;
  readonly #headers: Record<string, string>;
  readonly #agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  #sessionId: string | undefined;
  #nextId = 1;

  /** @param headers extra headers on every request (Warden's `authorization`). */
  constructor(url: string | URL, headers: Record<string, string> = {}) {
    this.#url = new URL(url);
    this.#headers = headers;
  }

  /**
   * initialize, then notifications/initialized: opens the session.
   * @throws Error when the server answers with an error or without a session id.
   */
  async open(): Promise<void> {
    const answer = await this.#post({
      jsonrpc: '2.0',
      id: this.#nextId++,
      method: 'initialize',
      params: {
        protocolVersion: PROTOCOL_VERSION,
        capabilities: {},
        clientInfo: { name: 'bench-raw-http', version: '1' },
      },
    });
    const sessionId = answer.headers['mcp-session-id'];
    if (typeof sessionId !== 'string')
      throw new Error(`initialize at ${this.#url.href}: no Mcp-Session-Id (HTTP ${answer.status})`);
    this.#sessionId = sessionId;
    responseOf(answer, 1);
    const initialized = await this.#post({ jsonrpc: '2.0', method: 'notifications/initialized' });
    if (initialized.status !== 202)
      throw new Error(`notifications/initialized: HTTP ${initialized.status} ${initialized.body}`);
  }

  /**
   * One request and its result.
   * @throws Error with the JSON-RPC error, or when the answer holds no response to it.
   */
  async request(method: string, params: Record<string, unknown>): Promise<unknown> {
    const id = this.#nextId++;
    const answer = await this.#post({ jsonrpc: '2.0', id, method, params });
    const response = responseOf(answer, id);
    if (response.error) throw new Error(`${method}: ${response.error.code} ${response.error.message}`);
    return response.result;
  }

  /** Ends the session (DELETE) and closes the connection; never throws. */
  async close(): Promise<void> {
    if (this.#sessionId) await this.#send('DELETE', undefined).catch(() => undefined);
    this.#agent.destroy();
  }

  #post(message: object): Promise<HttpAnswer> {
    return this.#send('POST', JSON.stringify(message));
  }

  #send(method: 'POST' | 'DELETE', body: string | undefined): Promise<HttpAnswer> {
    const headers: Record<string, string> = {
      ...this.#headers,
      accept: 'application/json, text/event-stream',
      'mcp-protocol-version': PROTOCOL_VERSION,
      ...(this.#sessionId ? { 'mcp-session-id': this.#sessionId } : {}),
    };
    if (body !== undefined) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = String(Buffer.byteLength(body));
    }
    return new Promise((resolve, reject) => {
      const req = http.request(
        {
          host: this.#url.hostname,
          port: this.#url.port,
          path: this.#url.pathname + this.#url.search,
          method,
          headers,
          agent: this.#agent,
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => (text += chunk));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  }
}

/**
 * The JSON-RPC response with `id` in an answer: the body itself (application/json) or the `data`
 * of one of its SSE events (text/event-stream).
 * @throws Error when the HTTP status is not 200 or no response with that id is in it.
 */
export function responseOf(answer: HttpAnswer, id: number): JsonRpcResponse {
  if (answer.status !== 200) throw new Error(`HTTP ${answer.status}: ${answer.body.slice(0, 300)}`);
  const type = String(answer.headers['content-type'] ?? '');
  const messages: unknown[] = type.startsWith('text/event-stream')
    ? sseData(answer.body).map((data) => JSON.parse(data) as unknown)
    : [JSON.parse(answer.body) as unknown].flat();
  const response = messages.find(
    (m): m is JsonRpcResponse =>
      typeof m === 'object' && m !== null && (m as { id?: unknown }).id === id && !('method' in m),
  );
  if (!response) throw new Error(`no response with id ${id} in: ${answer.body.slice(0, 300)}`);
  return response;
}

/** The `data` of each event of an SSE stream (lines joined by "\n"), in order. */
export function sseData(stream: string): string[] {
  const events: string[] = [];
  for (const block of stream.split(/\r?\n\r?\n/)) {
    const data = block
      .split(/\r?\n/)
      .filter((line) => line.startsWith('data:'))
      .map((line) => line.slice(line.startsWith('data: ') ? 6 : 5));
    if (data.length) events.push(data.join('\n'));
  }
  return events;
}
