/**
 * The daemon's HTTP edge, probed with raw requests (node:http, so Host and Origin can be
 * forged as a DNS-rebinding page or a cross-site page would send them).
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import { describe, test } from 'node:test';
import { useDaemonFixture } from '../helpers/daemon-fixture.ts';
import { everythingServer } from '../helpers/warden-env.ts';

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

function request(
  port: number,
  options: { method?: string; path?: string; headers?: Record<string, string>; body?: string | Buffer },
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        method: options.method ?? 'POST',
        path: options.path ?? '/mcp/everything',
        headers: options.headers,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => {
          body += d;
          // An SSE response stays open: the first event is all these tests need.
          if (res.headers['content-type']?.startsWith('text/event-stream') && body.includes('\n\n')) {
            resolve({ status: res.statusCode!, headers: res.headers, body });
            res.destroy();
          }
        });
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
      },
    );
    req.on('error', reject);
    if (options.body !== undefined) req.write(options.body);
    req.end();
  });
}

/** The JSON-RPC error message of an error answer. */
function errorMessage(answer: Answer): string {
  return (JSON.parse(answer.body) as { error: { message: string } }).error.message;
}

const INIT = JSON.stringify({
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'raw', version: '0' } },
});

describe('daemon HTTP edge', () => {
  let good: Record<string, string>;

  const fx = useDaemonFixture({
    config: { mcpServers: { everything: everythingServer() } },
    afterStart: (started) => {
      good = {
        host: `127.0.0.1:${started.daemon.port}`,
        authorization: `Bearer ${started.token}`,
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
      };
    },
  });

  test('listens on 127.0.0.1 only', () => {
    assert.match(fx.daemon.url, /^http:\/\/127\.0\.0\.1:\d+$/);
  });

  test('Host evil.example gets 403 (DNS rebinding), even with the token', async () => {
    const answer = await request(fx.daemon.port, { headers: { ...good, host: 'evil.example' }, body: INIT });
    assert.equal(answer.status, 403);
    assert.match(errorMessage(answer), /Host "evil.example"/);
  });

  test('Origin http://evil.example gets 403, even with the token', async () => {
    const answer = await request(fx.daemon.port, {
      headers: { ...good, origin: 'http://evil.example' },
      body: INIT,
    });
    assert.equal(answer.status, 403);
    assert.match(errorMessage(answer), /Origin "http:\/\/evil.example"/);
  });

  test('a request without the token gets 401, with a wrong one too', async () => {
    const { authorization: _, ...noToken } = good;
    assert.equal((await request(fx.daemon.port, { headers: noToken, body: INIT })).status, 401);
    assert.equal(
      (await request(fx.daemon.port, { headers: { ...good, authorization: 'Bearer nope' }, body: INIT }))
        .status,
      401,
    );
  });

  test("the OAuth callback needs no token but a flow's state; it still checks Host", async () => {
    const { authorization: _, ...noToken } = good;
    const unknown = await request(fx.daemon.port, {
      method: 'GET',
      path: '/oauth/callback?state=guess&code=x',
      headers: noToken,
    });
    assert.equal(unknown.status, 400);
    assert.match(unknown.body, /Unknown or expired sign-in attempt/);
    const rebound = await request(fx.daemon.port, {
      method: 'GET',
      path: '/oauth/callback?state=guess&code=x',
      headers: { ...noToken, host: 'evil.example' },
    });
    assert.equal(rebound.status, 403);
    assert.equal(
      (await request(fx.daemon.port, { method: 'GET', path: '/api/v1/status', headers: noToken })).status,
      401,
    );
  });

  test('an unknown server gets 404 naming the configured ones', async () => {
    const answer = await request(fx.daemon.port, { path: '/mcp/nosuch', headers: good, body: INIT });
    assert.equal(answer.status, 404);
    assert.match(errorMessage(answer), /Unknown server "nosuch".*configured: "everything"/);
  });

  test('an unknown session gets 404', async () => {
    const ping = JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'ping' });
    const answer = await request(fx.daemon.port, {
      headers: { ...good, 'mcp-session-id': 'no-such-session' },
      body: ping,
    });
    assert.equal(answer.status, 404);
  });

  test('an unsupported MCP-Protocol-Version gets 400', async () => {
    const init = await request(fx.daemon.port, { headers: good, body: INIT });
    assert.equal(init.status, 200);
    const session = init.headers['mcp-session-id'] as string;
    assert.ok(session);
    const ping = JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'ping' });
    const answer = await request(fx.daemon.port, {
      headers: { ...good, 'mcp-session-id': session, 'mcp-protocol-version': '1999-01-01' },
      body: ping,
    });
    assert.equal(answer.status, 400);
    assert.match(errorMessage(answer), /Unsupported protocol version: 1999-01-01/);
    await request(fx.daemon.port, { method: 'DELETE', headers: { ...good, 'mcp-session-id': session } });
  });

  test('malformed bodies get a JSON-RPC error and the daemon keeps serving', async () => {
    const cases: [string | Buffer, number, RegExp][] = [
      ['{"jsonrpc": "2.0", "id": 1, "method": ', 400, /Parse error: the body is not JSON/],
      [JSON.stringify({ hello: 'world' }), 400, /Invalid Request: not a JSON-RPC 2.0/],
      [Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]), 400, /not valid UTF-8/],
      ['x'.repeat(4 * 1024 * 1024 + 1), 413, /limit is 4194304 bytes/],
      ['[]', 400, /batch must hold/],
    ];
    for (const [body, status, message] of cases) {
      const answer = await request(fx.daemon.port, { headers: good, body });
      assert.equal(answer.status, status, `for ${String(body).slice(0, 40)}: ${answer.body}`);
      const parsed = JSON.parse(answer.body) as { jsonrpc: string; error: { message: string } };
      assert.equal(parsed.jsonrpc, '2.0');
      assert.match(parsed.error.message, message);
    }
    const health = await request(fx.daemon.port, { method: 'GET', path: '/healthz', headers: good });
    assert.equal(health.status, 200);
    assert.equal((JSON.parse(health.body) as { pid: number }).pid, fx.daemon.child.pid);
  });
});
