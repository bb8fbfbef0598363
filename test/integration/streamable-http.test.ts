/**
 * The daemon's Streamable HTTP endpoint on the wire (MCP 2025-11-25, basic/transports), read
 * with a raw node:http client: content types, JSON answers by default, the switch to an event
 * stream when progress comes first, 202, 406, 415, the standalone GET (409 for a second),
 * DELETE, MCP-Protocol-Version and Mcp-Session-Id rules, cancellation, connection reuse; then
 * the SDK Client and the MCP Inspector CLI over it, and arbitrary bodies (fast-check). The
 * upstream is the real server-everything.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import path from 'node:path';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {
  isInitializeRequest,
  JSONRPCMessageSchema,
  LATEST_PROTOCOL_VERSION,
  SUPPORTED_PROTOCOL_VERSIONS,
  type CallToolResult,
} from '@modelcontextprotocol/sdk/types.js';
import { AuditReader } from '../../main/core/audit/audit-reader.ts';
import { useDaemonFixture } from '../helpers/daemon-fixture.ts';
import { wardenConfig } from '../helpers/forwarding-peers.ts';
import { idKey } from '../helpers/raw-jsonrpc.ts';
import { runProcess } from '../helpers/run.ts';
import { INSPECTOR_CLI, NODE, waitFor } from '../helpers/warden-env.ts';

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  /** Whether the request went out on a connection an earlier request used. */
  reusedSocket: boolean;
}

type Message = Record<string, unknown> & { id?: unknown };

const BOTH = 'application/json, text/event-stream';
/** Sequential requests reuse one connection; concurrent ones open more. */
const agent = new http.Agent({ keepAlive: true });

/** The JSON-RPC messages of an event-stream body, in order. */
function events(body: string): Message[] {
  return body
    .split('\n\n')
    .flatMap((event) => event.split('\n').filter((line) => line.startsWith('data: ')))
    .map((line) => JSON.parse(line.slice(6)) as Message);
}

describe('Streamable HTTP endpoint on the wire (raw node:http)', () => {
  const fx = useDaemonFixture({ config: wardenConfig() });

  /** One HTTP request to /mcp/everything, read to its end. */
  function request(
    options: {
      method?: string;
      headers?: Record<string, string>;
      body?: unknown;
      path?: string;
      /** Resolve as soon as the head arrives (the body may stay open: a standalone stream). */
      headOnly?: (res: http.IncomingMessage) => void;
    } = {},
  ): Promise<Answer> {
    return new Promise((resolve, reject) => {
      const req = http.request(
        {
          host: '127.0.0.1',
          port: fx.daemon.port,
          method: options.method ?? 'POST',
          path: options.path ?? '/mcp/everything',
          agent,
          headers: {
            authorization: `Bearer ${fx.token}`,
            'content-type': 'application/json',
            accept: BOTH,
            ...options.headers,
          },
        },
        (res) => {
          const reusedSocket = req.reusedSocket;
          if (options.headOnly) {
            options.headOnly(res);
            resolve({ status: res.statusCode!, headers: res.headers, body: '', reusedSocket });
            return;
          }
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => (body += chunk));
          res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body, reusedSocket }));
        },
      );
      req.on('error', reject);
      if (options.body !== undefined)
        req.write(typeof options.body === 'string' ? options.body : JSON.stringify(options.body));
      req.end();
    });
  }

  const initialize = (id: unknown = 1) => ({
    jsonrpc: '2.0',
    id,
    method: 'initialize',
    params: {
      protocolVersion: LATEST_PROTOCOL_VERSION,
      capabilities: {},
      clientInfo: { name: 'raw-wire', version: '1' },
    },
  });

  /** A session: initialize, then notifications/initialized; its headers for later requests. */
  async function open(): Promise<{ id: string; headers: Record<string, string> }> {
    const init = await request({ body: initialize() });
    assert.equal(init.status, 200, init.body);
    const id = init.headers['mcp-session-id'] as string;
    const headers = { 'mcp-session-id': id, 'mcp-protocol-version': LATEST_PROTOCOL_VERSION };
    const ack = await request({ headers, body: { jsonrpc: '2.0', method: 'notifications/initialized' } });
    assert.equal(ack.status, 202);
    return { id, headers };
  }

  const echo = (id: unknown, message: string, meta?: Record<string, unknown>) => ({
    jsonrpc: '2.0',
    id,
    method: 'tools/call',
    params: { name: 'echo', arguments: { message }, ...(meta ? { _meta: meta } : {}) },
  });

  test('initialize is answered with JSON and a session id; a notification gets 202 and no body', async () => {
    const init = await request({ body: initialize('init-1') });
    assert.equal(init.status, 200);
    assert.equal(init.headers['content-type'], 'application/json');
    assert.equal(Number(init.headers['content-length']), Buffer.byteLength(init.body));
    const session = init.headers['mcp-session-id'];
    assert.match(String(session), /^[0-9a-f-]{36}$/);
    const answer = JSON.parse(init.body) as { id: unknown; result: { protocolVersion: string } };
    assert.equal(answer.id, 'init-1');
    assert.equal(answer.result.protocolVersion, LATEST_PROTOCOL_VERSION);
    const ack = await request({
      headers: { 'mcp-session-id': String(session) },
      body: { jsonrpc: '2.0', method: 'notifications/initialized' },
    });
    assert.equal(ack.status, 202);
    assert.equal(ack.body, '');
    assert.equal(ack.headers['content-type'], undefined);
  });

  test('a request is answered with application/json by default, on a reused connection', async () => {
    const { headers } = await open();
    const first = await request({ headers, body: echo(7, 'plain') });
    assert.equal(first.status, 200);
    assert.equal(first.headers['content-type'], 'application/json');
    const answer = JSON.parse(first.body) as { id: unknown; result: CallToolResult };
    assert.equal(answer.id, 7);
    assert.deepEqual(answer.result.content, [{ type: 'text', text: 'Echo: plain' }]);
    const second = await request({ headers, body: echo(8, 'again') });
    assert.equal(second.headers['content-type'], 'application/json');
    assert.equal(second.reusedSocket, true, 'keep-alive: the second request reused the connection');
  });

  test('a batch of requests is answered with one JSON array, in the order of the batch', async () => {
    const { headers } = await open();
    const batch = await request({
      headers,
      body: [echo('b', 'second'), { jsonrpc: '2.0', id: 'a', method: 'ping' }, echo(3, 'third')],
    });
    assert.equal(batch.status, 200);
    assert.equal(batch.headers['content-type'], 'application/json');
    const answers = JSON.parse(batch.body) as Message[];
    assert.deepEqual(
      answers.map((m) => m.id),
      ['b', 'a', 3],
    );
    assert.deepEqual(answers[1], { jsonrpc: '2.0', id: 'a', result: {} });
  });

  test('progress before the answer switches that request to text/event-stream: progress events, then the answer', async () => {
    const { headers } = await open();
    const answer = await request({
      headers,
      body: {
        jsonrpc: '2.0',
        id: 'long',
        method: 'tools/call',
        params: {
          name: 'trigger-long-running-operation',
          arguments: { duration: 1, steps: 3 },
          _meta: { progressToken: 'tok' },
        },
      },
    });
    assert.equal(answer.status, 200);
    assert.equal(answer.headers['content-type'], 'text/event-stream');
    assert.equal(answer.headers['mcp-session-id'], headers['mcp-session-id']);
    assert.match(answer.body, /^event: message\ndata: /);
    const messages = events(answer.body);
    assert.deepEqual(
      messages.slice(0, -1).map((m) => (m.params as { progress: number }).progress),
      [1, 2, 3],
    );
    for (const m of messages.slice(0, -1)) assert.equal(m.method, 'notifications/progress');
    const last = messages.at(-1)!;
    assert.equal(last.id, 'long');
    assert.match(JSON.stringify(last.result), /Long running operation completed/);
    // The next request with no progress is JSON again.
    const plain = await request({ headers, body: echo(2, 'json again') });
    assert.equal(plain.headers['content-type'], 'application/json');
  });

  test('a cancelled request gets no answer: its POST ends as an empty event stream; the session goes on', async () => {
    const { headers } = await open();
    const pending = request({
      headers,
      body: {
        jsonrpc: '2.0',
        id: 'cancel-me',
        method: 'tools/call',
        params: { name: 'trigger-long-running-operation', arguments: { duration: 30, steps: 30 } },
      },
    });
    // The call is in progress once its audit row exists (written before it is forwarded).
    const reader = AuditReader.open(fx.w.paths.auditDb);
    try {
      await waitFor(
        () =>
          reader
            .latest(50)
            .find(
              (r) =>
                (r.arguments as { duration?: number } | null)?.duration === 30 && r.requestId === 'cancel-me',
            ),
        10_000,
        'the audit row of the call',
      );
    } finally {
      reader.close();
    }
    const cancel = await request({
      headers,
      body: {
        jsonrpc: '2.0',
        method: 'notifications/cancelled',
        params: { requestId: 'cancel-me', reason: 'test' },
      },
    });
    assert.equal(cancel.status, 202);
    const answer = await pending;
    assert.equal(answer.status, 200);
    assert.equal(answer.headers['content-type'], 'text/event-stream');
    assert.deepEqual(
      events(answer.body).filter((m) => 'result' in m || 'error' in m),
      [],
    );
    const after = await request({ headers, body: { jsonrpc: '2.0', id: 'after', method: 'ping' } });
    assert.deepEqual(JSON.parse(after.body), { jsonrpc: '2.0', id: 'after', result: {} });
  });

  test('Accept must list both media types on POST (406) and text/event-stream on GET (406); Content-Type must be JSON (415)', async () => {
    const { headers } = await open();
    for (const accept of ['application/json', 'text/event-stream', '*/*']) {
      const refused = await request({ headers: { ...headers, accept }, body: echo(1, 'x') });
      assert.equal(refused.status, 406, accept);
      assert.match(
        refused.body,
        /Not Acceptable: Client must accept both application\/json and text\/event-stream/,
      );
    }
    const init = await request({ headers: { accept: 'application/json' }, body: initialize() });
    assert.equal(init.status, 406, 'an initialize refused for its Accept header opens no session');
    assert.equal(init.headers['mcp-session-id'], undefined);
    const get = await request({ method: 'GET', headers: { ...headers, accept: 'application/json' } });
    assert.equal(get.status, 406);
    assert.match(get.body, /Client must accept text\/event-stream/);
    const text = await request({ headers: { ...headers, 'content-type': 'text/plain' }, body: echo(1, 'x') });
    assert.equal(text.status, 415);
    const charset = await request({
      headers: { ...headers, 'content-type': 'application/json; charset=utf-8' },
      body: echo(2, 'charset'),
    });
    assert.equal(charset.status, 200);
  });

  test('GET opens the standalone event stream; a second GET gets 409; once it closes a new one opens', async () => {
    const { headers } = await open();
    let stream!: http.IncomingMessage;
    const first = await request({ method: 'GET', headers, headOnly: (res) => (stream = res) });
    assert.equal(first.status, 200);
    assert.equal(first.headers['content-type'], 'text/event-stream');
    assert.equal(first.headers['cache-control'], 'no-cache, no-transform');
    assert.equal(first.headers['mcp-session-id'], headers['mcp-session-id']);
    const second = await request({ method: 'GET', headers });
    assert.equal(second.status, 409);
    assert.match(second.body, /Only one SSE stream is allowed per session/);
    // A message related to no request goes on the standalone stream.
    let received = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => (received += chunk));
    const toggle = await request({
      headers,
      body: { jsonrpc: '2.0', id: 'log', method: 'tools/call', params: { name: 'toggle-simulated-logging' } },
    });
    assert.equal(toggle.status, 200);
    // Simulated logging repeats every 5 s outside any request: those go on the standalone stream.
    await waitFor(
      () => received.includes('"notifications/message"'),
      20_000,
      'a log message on the standalone stream',
    );
    assert.match(received, /^event: message\ndata: \{/);
    stream.destroy();
    await waitFor(
      async () =>
        (await request({ method: 'GET', headers, headOnly: (res) => res.destroy() })).status === 200,
      10_000,
      'a new standalone stream once the first closed',
    );
    assert.doesNotMatch(received, /"result"/, 'no answer goes on the standalone stream');
    assert.equal((await request({ method: 'DELETE', headers })).status, 200);
  });

  test('MCP-Protocol-Version: a supported one or none is taken; another is 400 naming the supported versions', async () => {
    const { headers } = await open();
    const none = await request({
      headers: { 'mcp-session-id': headers['mcp-session-id']! },
      body: { jsonrpc: '2.0', id: 1, method: 'ping' },
    });
    assert.equal(none.status, 200);
    const older = await request({
      headers: { ...headers, 'mcp-protocol-version': '2025-06-18' },
      body: { jsonrpc: '2.0', id: 2, method: 'ping' },
    });
    assert.equal(older.status, 200);
    for (const method of ['POST', 'GET', 'DELETE']) {
      const refused = await request({
        method,
        headers: { ...headers, 'mcp-protocol-version': '2099-01-01' },
        ...(method === 'POST' ? { body: { jsonrpc: '2.0', id: 3, method: 'ping' } } : {}),
      });
      assert.equal(refused.status, 400, method);
      const message = (JSON.parse(refused.body) as { error: { message: string } }).error.message;
      assert.match(message, /Unsupported protocol version: 2099-01-01/);
      assert.ok(message.includes(`supported versions: ${SUPPORTED_PROTOCOL_VERSIONS.join(', ')}`), message);
    }
  });

  test('Mcp-Session-Id: required after initialize (400), unknown is 404, a second initialize is 400; DELETE ends the session (then 404)', async () => {
    const missing = await request({ body: { jsonrpc: '2.0', id: 1, method: 'ping' } });
    assert.equal(missing.status, 400);
    assert.match(missing.body, /Mcp-Session-Id header is required/);
    const unknown = await request({
      headers: { 'mcp-session-id': 'no-such-session' },
      body: { jsonrpc: '2.0', id: 1, method: 'ping' },
    });
    assert.equal(unknown.status, 404);
    assert.equal((JSON.parse(unknown.body) as { error: { code: number } }).error.code, -32001);
    const { headers } = await open();
    const again = await request({ headers, body: initialize(9) });
    assert.equal(again.status, 400);
    assert.match(again.body, /Server already initialized/);
    const put = await request({ method: 'PUT', headers, body: '{}' });
    assert.equal(put.status, 405);
    assert.equal(put.headers.allow, 'GET, POST, DELETE');
    const deleted = await request({ method: 'DELETE', headers });
    assert.equal(deleted.status, 200);
    const gone = await request({ headers, body: { jsonrpc: '2.0', id: 1, method: 'ping' } });
    assert.equal(gone.status, 404);
  });

  test('the SDK Client (StreamableHTTPClientTransport): tools, progress, and terminating the session', async () => {
    const client = new Client({ name: 'sdk-over-wire', version: '1' });
    const transport = new StreamableHTTPClientTransport(new URL('/mcp/everything', fx.url), {
      requestInit: { headers: { authorization: `Bearer ${fx.token}` } },
    });
    await client.connect(transport);
    try {
      assert.ok(transport.sessionId);
      const { tools } = await client.listTools();
      assert.ok(tools.some((t) => t.name === 'echo'));
      const progress: number[] = [];
      const result = (await client.callTool(
        { name: 'trigger-long-running-operation', arguments: { duration: 1, steps: 2 } },
        undefined,
        { onprogress: (p) => progress.push(p.progress) },
      )) as CallToolResult;
      assert.deepEqual(progress, [1, 2]);
      assert.match(JSON.stringify(result.content), /Long running operation completed/);
      await transport.terminateSession();
      assert.equal(transport.sessionId, undefined);
    } finally {
      await client.close();
    }
  });

  test('the MCP Inspector CLI over HTTP lists tools and calls echo', async () => {
    const inspect = async (...args: string[]) => {
      const result = await runProcess(
        NODE,
        [
          INSPECTOR_CLI,
          '--cli',
          `${fx.url}/mcp/everything`,
          '--transport',
          'http',
          '--header',
          `Authorization: Bearer ${fx.token}`,
          ...args,
        ],
        { env: { ...fx.w.env, HOME: path.join(fx.w.home, 'inspector-home') }, timeoutMs: 60_000 },
      );
      assert.equal(result.code, 0, result.stderr);
      return result;
    };
    const list = await inspect('--method', 'tools/list');
    const names = (JSON.parse(list.stdout) as { tools: { name: string }[] }).tools.map((t) => t.name);
    assert.ok(names.includes('echo'), names.join(', '));
    const call = await inspect(
      '--method',
      'tools/call',
      '--tool-name',
      'echo',
      '--tool-arg',
      'message=inspected',
    );
    const result = JSON.parse(call.stdout) as { content: { text: string }[] };
    assert.equal(result.content[0]?.text, 'Echo: inspected');
  });

  test('arbitrary bodies (fast-check): never a 5xx; every request of an accepted POST answered exactly once', async () => {
    const { headers } = await open();
    const id = fc.oneof(fc.integer(), fc.string({ maxLength: 8 }), fc.constant(null), fc.double());
    const nearMessage = fc.record(
      {
        jsonrpc: fc.constantFrom('2.0', '2.0', '1.0'),
        id,
        method: fc.constantFrom(
          'ping',
          'tools/list',
          'tools/call',
          'initialize',
          'notifications/x',
          'no/such',
        ),
        params: fc.oneof(
          fc.constant({ name: 'echo', arguments: { message: 'fuzz' } }),
          fc.jsonValue({ maxDepth: 2 }),
          fc.record({ _meta: fc.jsonValue({ maxDepth: 1 }) }),
        ),
        result: fc.jsonValue({ maxDepth: 1 }),
        extra: fc.jsonValue({ maxDepth: 1 }),
      },
      { requiredKeys: ['jsonrpc'] },
    );
    const body = fc.oneof(
      nearMessage.map((m) => JSON.stringify(m)),
      fc.array(nearMessage, { minLength: 0, maxLength: 4 }).map((a) => JSON.stringify(a)),
      fc.jsonValue().map((v) => JSON.stringify(v)),
      fc.string({ maxLength: 40 }),
    );
    await fc.assert(
      fc.asyncProperty(body, async (text) => {
        const answer = await request({ headers, body: text });
        assert.ok(answer.status < 500, `${answer.status} for ${text}: ${answer.body}`);
        let parsed: unknown;
        try {
          parsed = JSON.parse(text);
        } catch {
          assert.equal(answer.status, 400);
          return;
        }
        const messages = Array.isArray(parsed) ? parsed : [parsed];
        const valid =
          messages.length > 0 &&
          messages.length <= 100 &&
          messages.every((m) => JSONRPCMessageSchema.safeParse(m).success);
        if (!valid) {
          assert.equal(answer.status, 400, `malformed is a 400: ${text}`);
          return;
        }
        const requests = messages.filter((m: Message) => 'method' in m && 'id' in m) as Message[];
        const keys = requests.map((m) => idKey(m.id));
        // Every POST is answered before the next is sent, so only an id used twice in one body
        // is in progress: the body is refused as a whole, an error per request.
        if (new Set(keys).size !== keys.length) {
          assert.equal(answer.status, 400);
          return;
        }
        if (requests.length === 0) {
          assert.equal(answer.status, 202);
          return;
        }
        if (requests.some((m) => isInitializeRequest(m))) {
          assert.equal(answer.status, 400, 'a second initialize is refused');
          return;
        }
        assert.equal(answer.status, 200, answer.body);
        const answers = answer.headers['content-type']?.startsWith('text/event-stream')
          ? events(answer.body).filter((m) => 'result' in m || 'error' in m)
          : ([JSON.parse(answer.body)].flat() as Message[]);
        for (const key of keys)
          assert.equal(
            answers.filter((m) => idKey(m.id) === key).length,
            1,
            `${key} answered once: ${answer.body}`,
          );
        assert.equal(answers.length, requests.length, 'nothing but the answers to its requests');
        assert.equal(
          answer.headers['content-type'],
          'application/json',
          'no related message came first: JSON',
        );
      }),
      { numRuns: 150 },
    );
    assert.doesNotMatch(fx.daemon.output(), /request handler failed/, 'no 500 from the daemon');
  });
});
