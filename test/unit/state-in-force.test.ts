/**
 * The one owner of what is in force (StateInForce), with a real WardenCore (real SQLite files,
 * the real policy engine and broker) and a BridgeSession wired to it as the gateway wires one
 * (SessionWiring), over the SDK's InMemoryTransport to a real McpServer: a reload reaches the
 * sessions already open, whole, and reloads never interleave.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { CallToolResultSchema, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import type { ApprovalRequest } from '../../main/core/approvals/broker.ts';
import { parseConfig } from '../../main/core/config/load.ts';
import type { WardenConfig } from '../../main/core/config/schema.ts';
import { silentLogger } from '../../main/core/log.ts';
import { SessionWiring } from '../../main/core/runtime/session-wiring.ts';
import { serverChanges, type InForceChange } from '../../main/core/runtime/state-in-force.ts';
import { WardenCore } from '../../main/core/runtime/warden-core.ts';
import { MemorySecretStore } from '../../main/core/secrets/secret-store.ts';
import {
  connectThroughSession,
  inMemoryUpstream,
  nextHeldCall,
  type SessionHarness,
} from '../helpers/bridge-harness.ts';
import { makeWardenEnv, waitFor, type WardenEnv } from '../helpers/warden-env.ts';

const text = (result: CallToolResult): string =>
  result.content.map((c) => (c.type === 'text' ? c.text : `[${c.type}]`)).join('\n');

/** The user's config with server `mem` (never spawned: its link is in memory) and `policy`. */
function configWith(w: WardenEnv, policy: Record<string, unknown>, extraServers = {}): WardenConfig {
  return parseConfig(
    JSON.stringify({
      mcpServers: { mem: { command: 'in-memory-server' }, ...extraServers },
      policy: { servers: [{ command: 'in-memory-server', trusted: true }], ...policy },
    }),
    w.paths.configFile,
  );
}

const ASK_WRITE = { server: 'mem', tool: 'write', action: 'ask', remember: 'never' };

describe('the state in force, followed by sessions already open', () => {
  let w: WardenEnv;
  let core: WardenCore;
  let wiring: SessionWiring;
  let h: SessionHarness;
  const ran: string[] = [];

  const makeServer = (): McpServer => {
    const server = new McpServer({ name: 'in-memory-upstream', version: '1.0.0' });
    server.registerTool(
      'echo',
      { inputSchema: { text: z.string() }, annotations: { readOnlyHint: true } },
      (a) => {
        ran.push(`echo ${a.text}`);
        return { content: [{ type: 'text', text: `echo: ${a.text}` }] };
      },
    );
    server.registerTool('write', { inputSchema: { text: z.string() } }, (a) => {
      ran.push(`write ${a.text}`);
      return { content: [{ type: 'text', text: `wrote ${a.text}` }] };
    });
    return server;
  };

  const call = (tool: string, said: string, onprogress?: (p: { total?: number }) => void) =>
    h.client.request(
      { method: 'tools/call', params: { name: tool, arguments: { text: said } } },
      CallToolResultSchema,
      { timeout: 30_000, ...(onprogress ? { onprogress } : {}) },
    );

  /** Holds a write, returns the request the broker shows and the timeout the client was told. */
  const heldWrite = async (
    said: string,
  ): Promise<{ request: ApprovalRequest; toldTotal: number; result: Promise<CallToolResult> }> => {
    const totals: number[] = [];
    const held = nextHeldCall(core.broker);
    const result = call('write', said, (p) => totals.push(p.total ?? -1));
    const request = await held;
    await waitFor(() => totals.length > 0, 10_000, 'the first progress notice');
    return { request, toldTotal: totals[0]!, result };
  };

  const heldFor = (request: ApprovalRequest): number =>
    Date.parse(request.expiresAt) - Date.parse(request.createdAt);

  before(async () => {
    w = makeWardenEnv();
    core = WardenCore.open(
      configWith(w, { approvalTimeoutSeconds: 300, rules: [ASK_WRITE] }),
      w.paths,
      silentLogger(),
      { secrets: new MemorySecretStore(), managedPolicyFile: path.join(w.home, 'no-managed-policy.json') },
    );
    wiring = new SessionWiring(core, inMemoryUpstream(makeServer));
    const server = core.config.servers.get('mem')!;
    const admission = core.admit(server);
    assert.equal(admission.allowed, true);
    h = await connectThroughSession({
      ports: wiring.portsFor(server, admission.allowed && admission.trusted, silentLogger()),
      server,
    });
  });

  after(async () => {
    await h?.close();
    wiring?.close();
    core?.close();
    w?.cleanup();
  });

  test('a reload changing the approval timeout, the policy and the limits applies to the open session', async () => {
    // Before: writes wait 300 s for a person; echo (read-only, trusted server) is allowed.
    const first = await heldWrite('before');
    assert.equal(heldFor(first.request), 300_000);
    assert.equal(first.toldTotal, 300);
    core.broker.answer(first.request.id, {
      choice: 'deny',
      argumentsHash: first.request.argumentsHash,
      by: 'test',
    });
    assert.equal((await first.result).isError, true);
    assert.equal(text(await call('echo', 'one')), 'echo: one');

    const changes: InForceChange[] = [];
    const unfollow = core.inForce.subscribe((change) => void changes.push(change));
    const servers = await core.applyConfig(
      configWith(w, {
        approvalTimeoutSeconds: 30,
        rules: [ASK_WRITE, { server: 'mem', tool: 'echo', action: 'deny', reason: 'echo is off now' }],
        limits: [{ server: 'mem', tool: 'write', ratePerMinute: 1, burst: 1 }],
      }),
    );
    unfollow();
    assert.deepEqual(servers, { added: [], changed: [], removed: [] }, 'the server itself did not change');
    assert.equal(changes.length, 1, 'one change, published once');
    assert.equal(changes[0]!.now.approvalTimeoutMs, 30_000);
    assert.equal(core.inForce.current, changes[0]!.now);

    // After, in the same session: the new policy, the new timeout, the new limit.
    const refused = await call('echo', 'two');
    assert.equal(refused.isError, true);
    assert.equal(text(refused), 'MCP Warden refused this call: echo is off now.');
    const second = await heldWrite('after');
    assert.equal(heldFor(second.request), 30_000, 'the held call waits as long as the reloaded policy says');
    assert.equal(second.toldTotal, 30);
    core.broker.answer(second.request.id, {
      choice: 'allow-once',
      argumentsHash: second.request.argumentsHash,
      by: 'test',
    });
    assert.equal(text(await second.result), 'wrote after');
    const limited = await call('write', 'again');
    assert.equal(limited.isError, true);
    assert.match(text(limited), /MCP Warden refused this call: .*rate/);
    assert.deepEqual(ran, ['echo one', 'write after']);
  });

  test('reloads run one at a time, and each is put in force whole', async () => {
    const seen: {
      version: number;
      timeout: number;
      userTimeout: unknown;
      cause: string;
      stillInForce?: boolean;
    }[] = [];
    const unfollow = core.inForce.subscribe(async (change) => {
      const user = change.now.engine.sources.find((s) => s.kind === 'user');
      const entry: (typeof seen)[number] = {
        version: change.now.version,
        timeout: change.now.approvalTimeoutMs,
        userTimeout: user?.document.approvalTimeoutSeconds,
        cause: change.cause,
      };
      seen.push(entry);
      // A slow follower: the next reload waits for it, so no other reload runs meanwhile.
      await new Promise((resolve) => setImmediate(resolve));
      entry.stillInForce = core.inForce.current === change.now;
    });
    const start = core.inForce.current.version;
    await Promise.all([
      core.applyConfig(configWith(w, { approvalTimeoutSeconds: 40, rules: [ASK_WRITE] })),
      core.reloadPolicy(),
      core.applyConfig(configWith(w, { approvalTimeoutSeconds: 50, rules: [ASK_WRITE] })),
    ]);
    unfollow();
    assert.deepEqual(seen, [
      { version: start + 1, timeout: 40_000, userTimeout: 40, cause: 'config', stillInForce: true },
      { version: start + 2, timeout: 40_000, userTimeout: 40, cause: 'managed policy', stillInForce: true },
      { version: start + 3, timeout: 50_000, userTimeout: 50, cause: 'config', stillInForce: true },
    ]);
    assert.equal(core.config.policy.approvalTimeoutSeconds, 50);
  });

  test('a reload that adds, changes and removes servers names them', () => {
    const before = configWith(w, {}, { kept: { command: 'kept' }, gone: { command: 'gone' } });
    const next = configWith(
      w,
      {},
      { kept: { command: 'kept', args: ['--new'] }, fresh: { command: 'fresh' } },
    );
    assert.deepEqual(serverChanges(before, next), { added: ['fresh'], changed: ['kept'], removed: ['gone'] });
  });
});
