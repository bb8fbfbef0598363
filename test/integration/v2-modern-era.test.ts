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
 * Through Warden today (its endpoint and shim speak 2025-11-25 only; build item 3 of issue 12
 * changes that): the pinned client is refused with EraNegotiationFailed, and a dual-era client
 * (`mode: 'auto'`) falls back to 2025-11-25 and works, as the versioning page's compatibility
 * matrix describes (Dual-era client, Legacy server). Asserted, so the test fails when it changes.
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
import { useDaemonFixture } from '../helpers/daemon-fixture.ts';
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

describe('2026-07-28 clients through Warden today (the known gap)', { timeout: TIMEOUT }, () => {
  const fx = useDaemonFixture({
    config: { mcpServers: { v2: { command: NODE, args: [V2_SERVER, 'stdio'] } } },
  });
  const transports: Record<'shim' | 'http', () => Transport> = {
    shim: () =>
      new StdioClientTransport({
        command: CLI,
        args: connectArgs('v2'),
        env: fx.w.env as Record<string, string>,
        stderr: 'pipe',
      }),
    http: () =>
      new StreamableHTTPClientTransport(new URL(mcpEndpointPath('v2'), fx.url), {
        requestInit: { headers: { authorization: `Bearer ${fx.token}` } },
      }),
  };

  for (const via of ['shim', 'http'] as const) {
    test(`through the ${via === 'shim' ? 'connect shim' : 'HTTP endpoint'}: a pinned client is refused, a dual-era client falls back to 2025-11-25`, async () => {
      await assertLegacyFallback(transports[via], via);
    });
  }
});
