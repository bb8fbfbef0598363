/**
 * The gateway's MCP endpoint (`/mcp/<server>`) without a WardenCore: a real node:http server,
 * a real SDK Client over Streamable HTTP, and behind each session a BridgeSession whose upstream
 * is a real SDK McpServer over the SDK's InMemoryTransport. The config, the pause switch and
 * the admission are plain functions of the test.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { LATEST_PROTOCOL_VERSION, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { CircuitBreaker } from '../../main/core/bridge/circuit-breaker.ts';
import { BridgeSession } from '../../main/core/bridge/session.ts';
import { parseConfig } from '../../main/core/config/load.ts';
import { McpEndpoint } from '../../main/core/daemon/mcp-endpoint.ts';
import { ToolLists } from '../../main/core/guard/tool-lists.ts';
import { silentLogger } from '../../main/core/log.ts';
import { PinStore } from '../../main/core/pins/pin-store.ts';
import { serverIdentity } from '../../main/core/policy/identity.ts';
import { openStateDb } from '../../main/core/store/state-db.ts';
import { inMemoryUpstream, recordingAudit, tempDir } from '../helpers/bridge-harness.ts';
import { waitFor } from '../helpers/warden-env.ts';

describe('MCP endpoint (McpEndpoint) over real HTTP, sessions over InMemoryTransport upstreams', () => {
  const tmp = tempDir();
  const db = openStateDb(path.join(tmp.dir, 'state.db'));
  const config = parseConfig(
    JSON.stringify({ mcpServers: { mem: { command: 'in-memory-server' }, banned: { command: 'banned' } } }),
    path.join(tmp.dir, 'config.json'),
  );
  const audit = recordingAudit();
  let paused = false;
  let endpoint: McpEndpoint;
  let server: http.Server;
  let base: string;
  const clients: Client[] = [];

  const makeServer = (): McpServer => {
    const upstream = new McpServer({ name: 'in-memory-upstream', version: '1.0.0' });
    upstream.registerTool('echo', { inputSchema: { text: z.string() } }, (a) => ({
      content: [{ type: 'text', text: `echo: ${a.text}` }],
    }));
    return upstream;
  };

  const connect = async (
    name = 'mem',
  ): Promise<{ client: Client; transport: StreamableHTTPClientTransport }> => {
    const client = new Client({ name: 'endpoint-test', version: '1.0.0' });
    const transport = new StreamableHTTPClientTransport(new URL(`/mcp/${name}`, base));
    await client.connect(transport);
    clients.push(client);
    return { client, transport };
  };

  const initialize = (name: string) =>
    fetch(new URL(`/mcp/${name}`, base), {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'initialize',
        params: {
          protocolVersion: LATEST_PROTOCOL_VERSION,
          capabilities: {},
          clientInfo: { name: 'raw', version: '1' },
        },
      }),
    });

  before(async () => {
    endpoint = new McpEndpoint({
      config: () => config,
      paused: () => paused,
      admit: (srv) =>
        srv.name === 'banned'
          ? { allowed: false, identity: serverIdentity(srv), reason: 'the test bans it' }
          : { allowed: true, identity: serverIdentity(srv), trusted: true, by: 'test' },
      openSession: (init) =>
        new BridgeSession({
          ...init,
          catalog: {
            pins: new PinStore(db),
            toolLists: new ToolLists(init.server, config.file),
            observeTools: () => [],
          },
          guard: { decide: () => Promise.resolve({ action: 'allow', by: 'test' }) },
          audit,
          upstream: inMemoryUpstream(makeServer),
          breaker: new CircuitBreaker(),
        }),
      logger: silentLogger(),
    });
    server = http.createServer(
      (req, res) => void endpoint.handle(req, res, new URL(req.url!, 'http://127.0.0.1')),
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  after(async () => {
    for (const client of clients) await client.close().catch(() => undefined);
    await endpoint.close();
    server.close();
    db.close();
    tmp.cleanup();
  });

  test('a client initializes, its calls reach the upstream, and DELETE ends its session', async () => {
    const { client, transport } = await connect();
    assert.equal(endpoint.sessionCount, 1);
    assert.equal(endpoint.sessionsOf('mem'), 1);
    const result = (await client.callTool({
      name: 'echo',
      arguments: { text: 'over http' },
    })) as CallToolResult;
    assert.deepEqual(result.content, [{ type: 'text', text: 'echo: over http' }]);
    assert.equal(audit.events.at(-1)?.kind, 'outcome');
    await transport.terminateSession();
    await waitFor(() => endpoint.sessionCount === 0, 10_000, 'the session to end');
  });

  test("ending a server's sessions refuses their next request as SESSION_NOT_FOUND", async () => {
    const { client } = await connect();
    await endpoint.endSessionsOf(new Set(['mem']));
    assert.equal(endpoint.sessionCount, 0);
    await assert.rejects(client.callTool({ name: 'echo', arguments: { text: 'late' } }), /Session not found/);
  });

  test('while paused no session starts (PAUSED, 503); a server not admitted is SERVER_NOT_ALLOWED (403)', async () => {
    paused = true;
    try {
      const refused = await initialize('mem');
      assert.equal(refused.status, 503);
      const body = (await refused.json()) as { id: unknown; error: { message: string } };
      assert.equal(body.id, 1);
      assert.match(body.error.message, /MCP Warden is paused: no server runs until someone resumes it/);
    } finally {
      paused = false;
    }
    const banned = await initialize('banned');
    assert.equal(banned.status, 403);
    assert.match(
      ((await banned.json()) as { error: { message: string } }).error.message,
      /MCP Warden refused to start this server: the test bans it/,
    );
    assert.equal(endpoint.sessionCount, 0);
  });

  test('an unknown server is SERVER_UNKNOWN (404), naming the configured ones', async () => {
    const answer = await initialize('nope');
    assert.equal(answer.status, 404);
    assert.match(
      ((await answer.json()) as { error: { message: string } }).error.message,
      /Unknown server "nope": it is not in .*config\.json \(configured: "mem", "banned"\)/,
    );
  });
});
