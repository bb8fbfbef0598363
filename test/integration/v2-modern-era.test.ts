/**
 * The 2026-07-28 era with the real SDK v2 client (pinned: `versionNegotiation: { mode: { pin:
 * '2026-07-28' } }`) and the v2 test server (test/fixtures/v2-server.ts).
 *
 * Directly, over Streamable HTTP and over stdio, the reference answers: `server/discover`,
 * tool calls, a progress stream, an `input_required` round, a cancelled call, and a
 * `subscriptions/listen` stream that delivers `notifications/resources/updated`.
 *
 * Directly against a 2025-11-25-only server (test/fixtures/v1-server.ts, SDK v1), the reference
 * for the fallback Warden must give: the pinned client is refused, the dual-era one falls back.
 *
 * Through Warden (the shim and the HTTP endpoint) to the v2 server over stdio: the same answers
 * as directly, plus the guard as in the 2025-11-25 era: a held write answered by a person with
 * the CLI (Warden's wait reported as progress), "this session" counting once over HTTP (no
 * session), and audit rows for the `input_required` round, its retry and the cancelled call.
 *
 * Through Warden to the 2025-11-25-only server: what the client sees directly (pinned: refused
 * with EraNegotiationFailed; `mode: 'auto'`: falls back to 2025-11-25 and works).
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  Client,
  SdkError,
  SdkErrorCode,
  StreamableHTTPClientTransport,
  type Transport,
} from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { connectArgs, mcpEndpointPath } from '../../main/core/config/server-name.ts';
import { listeningPort } from '../fixtures/v2-serving.ts';
import { cli, pending } from '../helpers/approvals-cli.ts';
import { useDaemonFixture, type DaemonFixture } from '../helpers/daemon-fixture.ts';
import { CLI, NODE, ROOT, waitFor } from '../helpers/warden-env.ts';

const V2_SERVER = path.join(ROOT, 'test/fixtures/v2-server.ts');
const V1_SERVER = path.join(ROOT, 'test/fixtures/v1-server.ts');
const TIMEOUT = 120_000;
const MODERN = '2026-07-28';

function modernClient(mode: { pin: string } | 'auto' = { pin: MODERN }): {
  client: Client;
  updates: string[];
} {
  const client = new Client(
    { name: 'v2-modern-client', version: '2.4.0' },
    { capabilities: { elicitation: { form: {} } }, versionNegotiation: { mode } },
  );
  const updates: string[] = [];
  client.setRequestHandler('elicitation/create', () => ({ action: 'accept', content: { name: 'Grace' } }));
  client.setNotificationHandler('notifications/resources/updated', (n) => void updates.push(n.params.uri));
  return { client, updates };
}

function text(result: { content?: unknown }): string {
  const content = (result.content ?? []) as { type: string; text?: string }[];
  return content.map((c) => (c.type === 'text' ? c.text : `[${c.type}]`)).join('\n');
}

/** The calls every 2026-07-28 run makes, with the reference answers. */
async function exercise(client: Client, updates: string[]): Promise<void> {
  assert.equal(client.getProtocolEra(), 'modern');
  assert.equal(client.getNegotiatedProtocolVersion(), MODERN);
  const discovered = client.getDiscoverResult();
  assert.ok(discovered?.supportedVersions.includes(MODERN), JSON.stringify(discovered));

  assert.equal(
    text(await client.callTool({ name: 'echo', arguments: { message: 'modern' } })),
    'echo: modern',
  );

  const progress: number[] = [];
  // Held until this client has seen the last progress (see v2-server.ts, count).
  const counted = await client.callTool(
    { name: 'count', arguments: { steps: 3, hold: true } },
    {
      onprogress: (p) => {
        progress.push(p.progress);
        if (p.progress === 3) void client.callTool({ name: 'release', arguments: {} });
      },
    },
  );
  assert.equal(text(counted), 'counted 3');
  assert.deepEqual(progress, [1, 2, 3]);

  // An input_required result, answered from the elicitation handler and retried by the client.
  assert.equal(text(await client.callTool({ name: 'ask-name', arguments: {} })), 'hello, Grace');

  const before = Number(text(await client.callTool({ name: 'cancellations', arguments: {} })));
  const abort = new AbortController();
  const slow = client.callTool(
    { name: 'slow', arguments: { ms: 60_000 } },
    { signal: abort.signal, onprogress: () => abort.abort('the test cancels') },
  );
  await assert.rejects(slow);
  await waitFor(
    async () => Number(text(await client.callTool({ name: 'cancellations', arguments: {} }))) === before + 1,
    15_000,
    'the server to see the cancellation',
  );

  const subscription = await client.listen({ resourceSubscriptions: ['counter://value'] });
  try {
    assert.deepEqual(subscription.honoredFilter, { resourceSubscriptions: ['counter://value'] });
    await client.callTool({ name: 'bump', arguments: {} });
    await waitFor(() => updates.includes('counter://value'), 15_000, 'notifications/resources/updated');
  } finally {
    await subscription.close();
  }
}

/** Starts a fixture server in http mode; resolves with it and its port. */
async function startHttpFixture(script: string): Promise<{ server: ChildProcess; port: number }> {
  const server = spawn(NODE, [script, 'http', '0'], { stdio: ['ignore', 'pipe', 'inherit'] });
  let printed = '';
  const port = await new Promise<number>((resolve, reject) => {
    server.stdout.on('data', (d: Buffer) => {
      printed += d.toString();
      const p = listeningPort(printed);
      if (p !== undefined) resolve(p);
    });
    server.once('exit', (code) => reject(new Error(`${path.basename(script)} exited with ${code}`)));
  });
  return { server, port };
}

/** A pinned 2026-07-28 client is refused; a dual-era one lands on 2025-11-25 and works. */
async function assertLegacyFallback(transport: () => Transport, label: string): Promise<void> {
  const pinned = modernClient().client;
  await assert.rejects(pinned.connect(transport()), (error: unknown) => {
    assert.ok(error instanceof SdkError, String(error));
    assert.equal(error.code, SdkErrorCode.EraNegotiationFailed);
    return true;
  });
  await pinned.close();

  const { client } = modernClient('auto');
  await client.connect(transport());
  try {
    assert.equal(client.getProtocolEra(), 'legacy');
    assert.equal(client.getNegotiatedProtocolVersion(), '2025-11-25');
    assert.equal(
      text(await client.callTool({ name: 'echo', arguments: { message: label } })),
      `echo: ${label}`,
    );
    assert.equal(text(await client.callTool({ name: 'ask-name', arguments: {} })), 'hello, Grace');
  } finally {
    await client.close();
  }
}

describe('2026-07-28 with the SDK v2 client and server, directly', { timeout: TIMEOUT }, () => {
  let server: ChildProcess;
  let port: number;
  before(async () => {
    ({ server, port } = await startHttpFixture(V2_SERVER));
  });
  after(() => server.kill());

  test('over Streamable HTTP', async () => {
    const { client, updates } = modernClient();
    await client.connect(new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${port}/mcp`)));
    try {
      await exercise(client, updates);
    } finally {
      await client.close();
    }
  });

  test('over stdio', async () => {
    const { client, updates } = modernClient();
    await client.connect(
      new StdioClientTransport({ command: NODE, args: [V2_SERVER, 'stdio'], stderr: 'pipe' }),
    );
    try {
      await exercise(client, updates);
    } finally {
      await client.close();
    }
  });
});

describe('2026-07-28 clients against a 2025-11-25-only server, directly', { timeout: TIMEOUT }, () => {
  let server: ChildProcess;
  let port: number;
  before(async () => {
    ({ server, port } = await startHttpFixture(V1_SERVER));
  });
  after(() => server.kill());

  test('over Streamable HTTP', () =>
    assertLegacyFallback(
      () => new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${port}/mcp`)),
      'http',
    ));

  test('over stdio', () =>
    assertLegacyFallback(
      () => new StdioClientTransport({ command: NODE, args: [V1_SERVER, 'stdio'], stderr: 'pipe' }),
      'stdio',
    ));
});

/** A held destructive call answered by a person with the CLI, as in the legacy era. */
async function approveHeld(fx: DaemonFixture, client: Client, via: string): Promise<void> {
  const note = `modern note through the ${via}`;
  const waits: number[] = [];
  const write = client.callTool(
    { name: 'write-note', arguments: { text: note } },
    { timeout: 60_000, onprogress: (p) => void waits.push(p.progress) },
  );
  const held = await waitFor(
    async () => (await pending(fx.w)).find((r) => r.arguments?.text === note),
    15_000,
    'the held write-note call',
  );
  assert.equal(held.tool, 'write-note');
  assert.equal(held.client.name, 'v2-modern-client', 'the client named in the request _meta');
  await cli(fx.w, 'approvals', 'approve', held.id, '--remember', 'session');
  assert.equal(text(await write), `wrote: ${note}`);
  assert.ok(waits.length >= 1, 'Warden reported the wait as progress');
}

/** The audit rows of the calls a run made (newest first), by tool and outcome. */
async function auditOutcomes(fx: DaemonFixture): Promise<{ tool: string; outcome: string | null }[]> {
  const out = await cli(fx.w, 'audit', 'tail', '-n', '200', '--json');
  return out
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as { tool: string; outcome: string | null });
}

describe('2026-07-28 clients through Warden to a 2026-07-28 server', { timeout: TIMEOUT }, () => {
  const fx = useDaemonFixture({
    config: {
      policy: { rules: [{ server: 'v2', tool: 'bump', action: 'allow' }] },
      mcpServers: { v2: { command: NODE, args: [V2_SERVER, 'stdio'] } },
    },
  });
  const transports = wardenTransports(fx, 'v2');

  for (const via of ['shim', 'http'] as const) {
    test(`through the ${via === 'shim' ? 'connect shim' : 'HTTP endpoint'}: the same results as directly, and the guard`, async () => {
      const { client, updates } = modernClient();
      await client.connect(transports[via]());
      try {
        await exercise(client, updates);
        await approveHeld(fx, client, via);
        // "This session" has no session over HTTP: it counts once there (fail closed).
        const again = client.callTool(
          { name: 'write-note', arguments: { text: `again ${via}` } },
          { timeout: 60_000 },
        );
        if (via === 'http') {
          const held = await waitFor(
            async () => (await pending(fx.w)).find((r) => r.arguments?.text === `again ${via}`),
            15_000,
            'the second write-note call held again',
          );
          await cli(fx.w, 'approvals', 'approve', held.id);
        }
        assert.equal(text(await again), `wrote: again ${via}`);
      } finally {
        await client.close();
      }
      const rows = await auditOutcomes(fx);
      assert.ok(
        rows.some((r) => r.tool === 'ask-name' && r.outcome === 'input_required'),
        `the input_required round is audited as such: ${JSON.stringify(rows.slice(0, 20))}`,
      );
      assert.ok(
        rows.some((r) => r.tool === 'ask-name' && r.outcome === 'ok'),
        'and its retry as a call of its own',
      );
      assert.ok(
        rows.some((r) => r.tool === 'slow' && r.outcome === 'cancelled'),
        'the cancelled call',
      );
    });
  }
});

describe('2026-07-28 requests through the HTTP endpoint are judged on the body', { timeout: TIMEOUT }, () => {
  let urlPort = 0;
  const fx = useDaemonFixture({
    prepare: async (_w, defer) => {
      const { server, port } = await startHttpFixture(V2_SERVER);
      defer(() => server.kill());
      urlPort = port;
    },
    config: () => ({
      mcpServers: {
        v2: { command: NODE, args: [V2_SERVER, 'stdio'] },
        'v2-url': { url: `http://127.0.0.1:${urlPort}/mcp` },
      },
    }),
  });

  interface Answer {
    status: number;
    body: { id?: unknown; error?: { code: number; message: string; data?: unknown }; result?: unknown };
  }

  /**
   * POSTs one 2026-07-28 request with these headers (MCP-Protocol-Version set to `version`
   * unless `headers` names it undefined) to server `server`; resolves with the status and body.
   */
  async function post(
    method: string,
    params: Record<string, unknown>,
    headers: Record<string, string | undefined>,
    { server = 'v2', version = MODERN }: { server?: string; version?: string } = {},
  ): Promise<Answer> {
    const sent: Record<string, string> = {
      authorization: `Bearer ${fx.token}`,
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
    };
    for (const [name, value] of Object.entries({ 'mcp-protocol-version': version, ...headers }))
      if (value !== undefined) sent[name] = value;
    const response = await fetch(new URL(mcpEndpointPath(server), fx.url), {
      method: 'POST',
      headers: sent,
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 7,
        method,
        params: {
          ...params,
          _meta: {
            'io.modelcontextprotocol/protocolVersion': version,
            'io.modelcontextprotocol/clientCapabilities': {},
            'io.modelcontextprotocol/clientInfo': { name: 'raw', version: '1' },
          },
        },
      }),
    });
    return { status: response.status, body: (await response.json()) as never };
  }

  for (const server of ['v2', 'v2-url']) {
    const upstream = server === 'v2' ? 'stdio' : 'url';
    test(`errors carry the HTTP status of their code, to a ${upstream} server`, async () => {
      for (const method of ['unknown/method', 'ping', 'logging/setLevel', 'initialize']) {
        const answer = await post(method, {}, { 'mcp-method': method }, { server });
        assert.equal(answer.status, 404, `${method}: ${JSON.stringify(answer.body)}`);
        assert.equal(answer.body.error?.code, -32601, `${method}: ${JSON.stringify(answer.body)}`);
        assert.equal(answer.body.id, 7);
      }
      const unsupported = await post(
        'server/discover',
        {},
        { 'mcp-method': 'server/discover' },
        { server, version: 'v999.0.0' },
      );
      assert.equal(unsupported.status, 400, JSON.stringify(unsupported.body));
      assert.equal(unsupported.body.error?.code, -32022);
      assert.deepEqual(unsupported.body.error?.data, {
        supported: [MODERN],
        requested: 'v999.0.0',
        source: 'mcp-warden',
      });
      // A result stays 200, and Warden's own (a refusal) carries resultType as the schema requires.
      const refused = await post(
        'tools/call',
        { name: 'no-such-tool', arguments: {} },
        { 'mcp-method': 'tools/call', 'mcp-name': 'no-such-tool' },
        { server },
      );
      assert.equal(refused.status, 200);
      const result = refused.body.result as { isError?: boolean; resultType?: string };
      assert.equal(result.isError, true, JSON.stringify(refused.body));
      assert.equal(result.resultType, 'complete');
    });

    test(`a request without MCP-Protocol-Version or Mcp-Method gets 400 and -32020, to a ${upstream} server`, async () => {
      const noMethod = await post('tools/list', {}, {}, { server });
      assert.equal(noMethod.status, 400, JSON.stringify(noMethod.body));
      assert.equal(noMethod.body.error?.code, -32020);
      assert.match(noMethod.body.error?.message ?? '', /Mcp-Method header is absent/);
      const noVersion = await post(
        'tools/list',
        {},
        { 'mcp-method': 'tools/list', 'mcp-protocol-version': undefined },
        { server },
      );
      assert.equal(noVersion.status, 400, JSON.stringify(noVersion.body));
      assert.equal(noVersion.body.error?.code, -32020);
      const served = await post('tools/list', {}, { 'mcp-method': 'tools/list' }, { server });
      assert.equal(served.status, 200, JSON.stringify(served.body));
    });
  }

  test('headers that agree with the body are served; Mcp-Method or Mcp-Name that disagree get 400 and -32020', async () => {
    const call = { name: 'echo', arguments: { message: 'raw' } };
    const served = await post('tools/call', call, { 'mcp-method': 'tools/call', 'mcp-name': 'echo' });
    assert.equal(served.status, 200);
    assert.deepEqual((served.body.result as { content: unknown }).content, [
      { type: 'text', text: 'echo: raw' },
    ]);

    const method = await post('tools/call', call, { 'mcp-method': 'tools/list', 'mcp-name': 'echo' });
    assert.equal(method.status, 400);
    assert.equal(method.body.error?.code, -32020, JSON.stringify(method.body));

    // The body names the tool the guard judges; a header naming another is refused, not obeyed.
    const name = await post('tools/call', call, { 'mcp-method': 'tools/call', 'mcp-name': 'write-note' });
    assert.equal(name.status, 400);
    assert.equal(name.body.error?.code, -32020, JSON.stringify(name.body));
  });
});

describe('2026-07-28 clients through Warden to a 2025-11-25-only server', { timeout: TIMEOUT }, () => {
  const fx = useDaemonFixture({
    config: { mcpServers: { v1: { command: NODE, args: [V1_SERVER, 'stdio'] } } },
  });
  const transports = wardenTransports(fx, 'v1');

  for (const via of ['shim', 'http'] as const) {
    test(`through the ${via === 'shim' ? 'connect shim' : 'HTTP endpoint'}: as directly, a pinned client is refused, a dual-era client falls back to 2025-11-25`, async () => {
      await assertLegacyFallback(transports[via], via);
    });
  }
});

describe('2026-07-28 clients through Warden to Streamable HTTP servers', { timeout: TIMEOUT }, () => {
  const ports: Partial<Record<'v2' | 'v1', number>> = {};
  const fx = useDaemonFixture({
    prepare: async (_w, defer) => {
      for (const [key, script] of [
        ['v2', V2_SERVER],
        ['v1', V1_SERVER],
      ] as const) {
        const { server, port } = await startHttpFixture(script);
        defer(() => server.kill());
        ports[key] = port;
      }
    },
    config: () => ({
      policy: { rules: [{ server: 'v2', tool: 'bump', action: 'allow' }] },
      mcpServers: {
        v2: { url: `http://127.0.0.1:${ports.v2}/mcp` },
        v1: { url: `http://127.0.0.1:${ports.v1}/mcp` },
      },
    }),
  });

  for (const via of ['shim', 'http'] as const) {
    test(`through the ${via === 'shim' ? 'connect shim' : 'HTTP endpoint'} to a 2026-07-28 url server: the same results as directly`, async () => {
      const { client, updates } = modernClient();
      await client.connect(wardenTransports(fx, 'v2')[via]());
      try {
        await exercise(client, updates);
        await approveHeld(fx, client, `${via} to a url server`);
      } finally {
        await client.close();
      }
    });

    test(`through the ${via === 'shim' ? 'connect shim' : 'HTTP endpoint'} to a 2025-11-25 url server: as directly`, async () => {
      await assertLegacyFallback(wardenTransports(fx, 'v1')[via], `${via} to v1`);
    });
  }
});

/** The two ways a client reaches server `name` through Warden. */
function wardenTransports(fx: DaemonFixture, name: string): Record<'shim' | 'http', () => Transport> {
  return {
    shim: () =>
      new StdioClientTransport({
        command: CLI,
        args: connectArgs(name),
        env: fx.w.env as Record<string, string>,
        stderr: 'pipe',
      }),
    http: () =>
      new StreamableHTTPClientTransport(new URL(mcpEndpointPath(name), fx.url), {
        requestInit: { headers: { authorization: `Bearer ${fx.token}` } },
      }),
  };
}
