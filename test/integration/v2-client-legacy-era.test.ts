/**
 * The SDK v2 client (@modelcontextprotocol/client 2.4) in its default 2025-11-25 mode (no
 * `versionNegotiation`: the `initialize` handshake, byte for byte) through Warden, against the v2
 * test server (test/fixtures/v2-server.ts over stdio) as the daemon's upstream: through the
 * connect shim and through the HTTP endpoint it works as an SDK v1 client does today. Tool calls,
 * a progress stream, an elicitation round, a cancelled call, a held write approved by a person,
 * and a resource subscription.
 *
 * Against a 2026-07-28-only server (test/fixtures/v2-modern-only.ts) the 2025-11-25 client is
 * refused directly (-32022); through Warden it is refused too, with an error that says why
 * (Warden does not translate a 2025-11-25 client to a 2026-07-28-only server).
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { describe, test } from 'node:test';
import { Client, StreamableHTTPClientTransport, type Transport } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { connectArgs, mcpEndpointPath } from '../../main/core/config/server-name.ts';
import { listeningPort } from '../fixtures/v2-serving.ts';
import { cli, pending } from '../helpers/approvals-cli.ts';
import { useDaemonFixture, type DaemonFixture } from '../helpers/daemon-fixture.ts';
import { CLI, NODE, ROOT, waitFor } from '../helpers/warden-env.ts';

const V2_SERVER = path.join(ROOT, 'test/fixtures/v2-server.ts');
const MODERN_ONLY = path.join(ROOT, 'test/fixtures/v2-modern-only.ts');
const TIMEOUT = 120_000;

interface Connected {
  client: Client;
  updates: string[];
}

async function connect(fx: DaemonFixture, via: 'shim' | 'http'): Promise<Connected> {
  const client = new Client(
    { name: `v2-client-${via}`, version: '2.4.0' },
    { capabilities: { elicitation: { form: {} } } },
  );
  const updates: string[] = [];
  client.setRequestHandler('elicitation/create', () => ({ action: 'accept', content: { name: 'Ada' } }));
  client.setNotificationHandler('notifications/resources/updated', (n) => void updates.push(n.params.uri));
  const transport: Transport =
    via === 'shim'
      ? new StdioClientTransport({
          command: CLI,
          args: connectArgs('v2'),
          env: fx.w.env as Record<string, string>,
          stderr: 'pipe',
        })
      : new StreamableHTTPClientTransport(new URL(mcpEndpointPath('v2'), fx.url), {
          requestInit: { headers: { authorization: `Bearer ${fx.token}` } },
        });
  await client.connect(transport);
  return { client, updates };
}

function text(result: { content?: unknown }): string {
  const content = (result.content ?? []) as { type: string; text?: string }[];
  return content.map((c) => (c.type === 'text' ? c.text : `[${c.type}]`)).join('\n');
}

describe('SDK v2 client in 2025-11-25 mode through Warden', { timeout: TIMEOUT }, () => {
  const fx = useDaemonFixture({
    config: {
      policy: { rules: [{ server: 'v2', tool: 'bump', action: 'allow' }] },
      mcpServers: { v2: { command: NODE, args: [V2_SERVER, 'stdio'] } },
    },
  });

  for (const via of ['shim', 'http'] as const) {
    test(`through the ${via === 'shim' ? 'connect shim' : 'HTTP endpoint'}`, async () => {
      const { client, updates } = await connect(fx, via);
      try {
        assert.equal(client.getProtocolEra(), 'legacy');
        assert.equal(client.getNegotiatedProtocolVersion(), '2025-11-25');

        const tools = (await client.listTools()).tools.map((t) => t.name).sort();
        assert.deepEqual(tools, [
          'ask-name',
          'bump',
          'cancellations',
          'count',
          'echo',
          'release',
          'slow',
          'write-note',
        ]);
        assert.equal(
          text(await client.callTool({ name: 'echo', arguments: { message: via } })),
          `echo: ${via}`,
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

        // The server's input_required result becomes an elicitation/create request in this era.
        assert.equal(text(await client.callTool({ name: 'ask-name', arguments: {} })), 'hello, Ada');

        const before = Number(text(await client.callTool({ name: 'cancellations', arguments: {} })));
        const abort = new AbortController();
        const slow = client.callTool(
          { name: 'slow', arguments: { ms: 60_000 } },
          { signal: abort.signal, onprogress: () => abort.abort('the test cancels') },
        );
        await assert.rejects(slow);
        await waitFor(
          async () =>
            Number(text(await client.callTool({ name: 'cancellations', arguments: {} }))) === before + 1,
          15_000,
          'the upstream to see the cancellation',
        );

        const note = `note through the ${via}`;
        const write = client.callTool({ name: 'write-note', arguments: { text: note } }, { timeout: 60_000 });
        const held = await waitFor(
          async () => (await pending(fx.w)).find((r) => r.arguments?.text === note),
          15_000,
          'the held write-note call',
        );
        assert.equal(held.tool, 'write-note');
        await cli(fx.w, 'approvals', 'approve', held.id);
        assert.equal(text(await write), `wrote: ${note}`);

        await client.subscribeResource({ uri: 'counter://value' });
        assert.match(text(await client.callTool({ name: 'bump', arguments: {} })), /^counter \d+$/);
        await waitFor(() => updates.includes('counter://value'), 15_000, 'notifications/resources/updated');
        const read = await client.readResource({ uri: 'counter://value' });
        assert.match((read.contents[0] as { text: string }).text, /^\d+$/);
      } finally {
        await client.close();
      }
    });
  }
});

describe('a 2025-11-25 client against a 2026-07-28-only server', { timeout: TIMEOUT }, () => {
  let server: ChildProcess | undefined;
  let port = 0;
  const fx = useDaemonFixture({
    prepare: async (_w, defer) => {
      server = spawn(NODE, [MODERN_ONLY, '0'], { stdio: ['ignore', 'pipe', 'inherit'] });
      defer(() => server?.kill());
      let printed = '';
      port = await new Promise<number>((resolve, reject) => {
        server!.stdout!.on('data', (d: Buffer) => {
          printed += d.toString();
          const p = listeningPort(printed);
          if (p !== undefined) resolve(p);
        });
        server!.once('exit', (code) => reject(new Error(`v2-modern-only.ts exited with ${code}`)));
      });
    },
    config: () => ({ mcpServers: { modern: { url: `http://127.0.0.1:${port}/mcp` } } }),
  });

  const legacyClient = (): Client => new Client({ name: 'v2-legacy-client', version: '2.4.0' });

  test('directly: initialize is refused as an unsupported protocol version', async () => {
    const client = legacyClient();
    await assert.rejects(
      client.connect(new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${port}/mcp`))),
      /2026-07-28|Unsupported protocol version/,
    );
    await client.close();
  });

  for (const via of ['shim', 'http'] as const) {
    test(`through the ${via === 'shim' ? 'connect shim' : 'HTTP endpoint'}: refused, with the reason`, async () => {
      const client = legacyClient();
      const transport: Transport =
        via === 'shim'
          ? new StdioClientTransport({
              command: CLI,
              args: connectArgs('modern'),
              env: fx.w.env as Record<string, string>,
              stderr: 'pipe',
            })
          : new StreamableHTTPClientTransport(new URL(mcpEndpointPath('modern'), fx.url), {
              requestInit: { headers: { authorization: `Bearer ${fx.token}` } },
            });
      await assert.rejects(
        client.connect(transport),
        /server "modern" speaks MCP 2026-07-28 and refused this MCP 2025-11-25 initialize .*MCP Warden does not translate/,
      );
      await client.close();
    });
  }
});
