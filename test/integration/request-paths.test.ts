/**
 * Garbage request targets against a real daemon (`mcp-warden serve`), sent as raw bytes with the
 * daemon's token so they get past the gate: random percent-encoding (malformed, overlong,
 * not UTF-8), Unicode, dot segments, very long segments and absolute-form targets in every
 * route of the control API and the MCP endpoints. Whatever the request, the answer is never a
 * 5xx, and a malformed name gets a 400 that says what is wrong.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { mcpEndpointPath, serverNameProblem } from '../../main/core/config/server-name.ts';
import { DEFAULT_UI_DIR } from '../../main/core/daemon/dashboard.ts';
import { useDaemonFixture } from '../helpers/daemon-fixture.ts';
import { anyName } from '../helpers/names.ts';
import { keyringMissing } from '../helpers/requirements.ts';
import { everythingServer } from '../helpers/warden-env.ts';

const NAMES = ['My Notes', 'notes — ü', 'a/b', '__proto__', 'constructor', '-x', '%41'];

interface Answer {
  status: number;
  /** The body, when it is JSON. */
  json?: { error?: { code?: string | number; message?: string } };
  /** Whether Warden's request handler answered (Node's own parser refusals carry no content-type). */
  routed: boolean;
  raw: string;
}

/** Sends one raw HTTP/1.1 request and reads the answer's status line and (short) body. */
function send(port: number, request: Buffer): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let data = Buffer.alloc(0);
    const finish = (): void => {
      const text = data.toString('utf8');
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(text)?.[1]);
      if (!status) {
        reject(new Error(`no HTTP answer to ${JSON.stringify(request.toString('latin1').slice(0, 200))}`));
        return;
      }
      const body = text.slice(text.indexOf('\r\n\r\n') + 4);
      let json: Answer['json'];
      try {
        json = JSON.parse(body) as Answer['json'];
      } catch {
        // a stream (SSE), an export, Node's own "400 Bad Request" or a cut-off read
      }
      const head = text.slice(0, text.indexOf('\r\n\r\n'));
      resolve({
        status,
        raw: text.slice(0, 500),
        routed: /\r\ncontent-type:/i.test(head),
        ...(json ? { json } : {}),
      });
      socket.destroy();
    };
    socket.on('data', (chunk: Buffer) => {
      data = Buffer.concat([data, chunk]);
      // Streams (the event stream) never end: the status line and a first chunk are enough.
      if (
        /^HTTP\/1\.[01] \d{3}/.test(data.toString('latin1')) &&
        /text\/event-stream/.test(data.toString('latin1'))
      )
        finish();
    });
    socket.on('end', finish);
    socket.on('error', (error: NodeJS.ErrnoException) => {
      // The daemon may close while we still write a body it refused: the answer was read.
      if (error.code === 'ECONNRESET' || error.code === 'EPIPE') finish();
      else reject(error);
    });
    socket.end(request);
  });
}

function rawRequest(port: number, token: string, method: string, target: string, body: string): Buffer {
  const bytes = Buffer.from(body, 'utf8');
  const head =
    `${method} ${target} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAuthorization: Bearer ${token}\r\n` +
    `Content-Type: application/json\r\nAccept: application/json, text/event-stream\r\n` +
    `Content-Length: ${bytes.length}\r\nConnection: close\r\n\r\n`;
  return Buffer.concat([Buffer.from(head, 'utf8'), bytes]);
}

/** A path segment: a valid name encoded, broken percent-encoding, raw Unicode, digits, very long. */
const segment = fc.oneof(
  anyName.filter((n) => serverNameProblem(n) === undefined).map(encodeURIComponent),
  fc.string({
    unit: fc.constantFrom(
      '%',
      '%2',
      '%zz',
      '%E0%A4%A',
      '%C3',
      '%FF',
      '%C0%AF',
      '%ED%A0%80',
      '%00',
      '%2F',
      '%2e',
      '%25',
      '%C3%A9',
      'a',
      '-',
      '_',
      '~',
      '.',
      '..',
    ),
    minLength: 1,
    maxLength: 8,
  }),
  fc.string({ unit: 'grapheme', minLength: 1, maxLength: 12 }),
  fc.string({ unit: fc.constantFrom('0', '9', '1'), minLength: 1, maxLength: 400 }),
  fc.constantFrom('%E0%A4%A', '.', '..', '%2e%2e', 'github', 'claude-desktop', '1', ''),
  fc.nat({ max: 12_000 }).map((n) => 'a%41'.repeat(n)),
);

/** Route shapes of the daemon, `{}` filled with segments. */
const TEMPLATES = [
  '/mcp/{}',
  '/mcp/{}/',
  '/mcp/{}/{}',
  '/api/v1/{}',
  '/api/v1/{}/{}',
  '/api/v1/servers/{}/approve',
  '/api/v1/servers/{}/restart',
  '/api/v1/approvals/{}',
  '/api/v1/rules/{}',
  '/api/v1/pins/{}/{}/{}/approve',
  '/api/v1/pins/{}/tool/{}/approve',
  '/api/v1/clients/{}/preview',
  '/api/v1/clients/{}/protect',
  '/api/v1/clients/{}/restore',
  '/api/v1/policy/explain?server={}&tool={}&args={}',
  '/api/v1/audit?server={}&q={}&since={}&limit={}',
  '/api/v1/audit/export?format={}&server={}',
  '/api/v1/ui/session',
  '/oauth/callback?state={}&code={}',
  '/{}',
  '{}',
  'http://{}/{}',
  'http://[{}/mcp/{}',
  ...(fs.existsSync(path.join(DEFAULT_UI_DIR, 'index.html')) ? ['/ui/{}'] : []),
];

const METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD'];

const body = fc.oneof(
  fc.constant(''),
  fc.constantFrom('{}', 'null', '[]', '{"value":', '\u0000\u00ff', '{"identityHash":"00"}'),
  fc.json({ maxDepth: 2 }),
  fc.string({ unit: 'binary', maxLength: 200 }),
);

describe('garbage request targets never get a 5xx', () => {
  const fx = useDaemonFixture({
    // With a keychain, well-formed secret requests are answered (404) instead of failing on it.
    keyring: !keyringMissing(),
    // Not allowed by any policy: an initialize that gets through is refused, nothing runs.
    config: { mcpServers: Object.fromEntries(NAMES.map((n) => [n, everythingServer()])) },
    allowServers: false,
  });

  test('a malformed name in a path is a 400 naming the problem, a well-encoded one reaches its server', async () => {
    const ask = (method: string, target: string, text = '') =>
      send(fx.daemon.port, rawRequest(fx.daemon.port, fx.daemon.token, method, target, text));
    for (const target of ['/mcp/%E0%A4%A', '/mcp/%zz', '/mcp/a%ED%A0%80']) {
      const answer = await ask('POST', target, '{}');
      assert.equal(answer.status, 400, answer.raw);
      assert.match(answer.json?.error?.message ?? '', /is not valid percent-encoded UTF-8/);
    }
    for (const target of ['/api/v1/servers/%E0%A4%A/restart', '/api/v1/pins/a/tool/%C3/approve']) {
      const answer = await ask('POST', target, '{}');
      assert.equal(answer.status, 400, answer.raw);
      assert.equal(answer.json?.error?.code, 'INVALID_REQUEST');
      assert.match(answer.json?.error?.message ?? '', /is not valid percent-encoded UTF-8/);
    }
    const absolute = await ask('GET', 'http://[/mcp/x');
    assert.equal(absolute.status, 400, absolute.raw);
    assert.match(absolute.json?.error?.message ?? '', /request target is not a URL path/);
    // Each configured name, percent-encoded, is its server's endpoint (refused: no policy allows it).
    for (const name of NAMES) {
      const initialize = JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'initialize',
        params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 't', version: '1' } },
      });
      const answer = await ask('POST', mcpEndpointPath(name), initialize);
      assert.equal(answer.status, 403, answer.raw);
      assert.ok(answer.json?.error?.message?.includes(`server ${JSON.stringify(name)}`), answer.raw);
    }
    const unknown = await ask('GET', mcpEndpointPath('nosuch/ü'));
    assert.equal(unknown.status, 404);
    assert.match(
      unknown.json?.error?.message ?? '',
      /Unknown server "nosuch\/ü".*"My Notes", "notes — ü", "a\/b"/,
    );
  });

  test('random targets, methods and bodies: always an answer, never a 5xx, and the daemon stays up', async () => {
    let routed = 0;
    let total = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...TEMPLATES),
        fc.array(segment, { minLength: 4, maxLength: 4 }),
        fc.constantFrom(...METHODS),
        body,
        async (template, segments, method, text) => {
          let i = 0;
          const target = template.replace(/\{\}/g, () => segments[i++]!);
          const answer = await send(
            fx.daemon.port,
            rawRequest(fx.daemon.port, fx.daemon.token, method, target, text),
          );
          total++;
          if (answer.routed) routed++;
          assert.ok(answer.status < 500, `${method} ${target.slice(0, 300)} -> ${answer.raw}`);
        },
      ),
      { numRuns: 600 },
    );
    // Most garbage reached Warden's own routing (not only Node's request parser).
    assert.ok(routed > total / 2, `${routed} of ${total} answered by the daemon's router`);
    const health = await send(
      fx.daemon.port,
      rawRequest(fx.daemon.port, fx.daemon.token, 'GET', '/healthz', ''),
    );
    assert.equal(health.status, 200);
    assert.ok(!fx.daemon.output().includes('request handler failed'), fx.daemon.output());
  });
});
