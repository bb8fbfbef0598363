/**
 * An edit of the config file while a client's session is open: a real daemon in this process,
 * @modelcontextprotocol/server-everything, the SDK client over Streamable HTTP. The session
 * stays open (its server did not change) and follows the edit: the new rules and the new
 * approval timeout apply to its next calls.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { CallToolResultSchema, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { loadConfig } from '../../main/core/config/load.ts';
import { startDaemon, type RunningDaemon } from '../../main/core/daemon/daemon.ts';
import { silentLogger } from '../../main/core/log.ts';
import type { ApprovalRequest } from '../../main/core/approvals/broker.ts';
import type { InForceChange } from '../../main/core/runtime/state-in-force.ts';
import { callTool, httpClient, resultText } from '../helpers/sdk-client.ts';
import { everythingServer, makeWardenEnv, type WardenEnv } from '../helpers/warden-env.ts';
import { nextHeldCall } from '../helpers/bridge-harness.ts';

describe('a config edit reaches a session already open', () => {
  let w: WardenEnv;
  let daemon: RunningDaemon;
  let client: Client;
  const writeConfig = (policy: Record<string, unknown>): void =>
    w.writeConfig({ mcpServers: { everything: everythingServer() }, policy });

  /** Calls echo, which the policy holds for a person; resolves with the held request. */
  const heldEcho = async (): Promise<{ request: ApprovalRequest; result: Promise<CallToolResult> }> => {
    const held = nextHeldCall(daemon.core.broker);
    const result = client.request(
      { method: 'tools/call', params: { name: 'echo', arguments: { message: 'hi' } } },
      CallToolResultSchema,
      { timeout: 60_000 },
    );
    return { request: await held, result };
  };
  const heldForMs = (request: ApprovalRequest): number =>
    Date.parse(request.expiresAt) - Date.parse(request.createdAt);

  before(async () => {
    w = makeWardenEnv();
    writeConfig({
      approvalTimeoutSeconds: 600,
      rules: [{ server: 'everything', tool: 'echo', action: 'ask', remember: 'never' }],
    });
    daemon = await startDaemon({
      config: loadConfig(w.paths, { createDefault: false }),
      paths: w.paths,
      logger: silentLogger(),
      port: 0,
      managedPolicyFile: path.join(w.home, 'no-managed-policy.json'),
    });
    client = await httpClient(daemon.url, daemon.token, 'everything');
  });

  after(async () => {
    await client?.close();
    await daemon?.close();
    w?.cleanup();
  });

  test('the new approval timeout and the new rules apply to the open session', async () => {
    assert.equal((await callTool(client, 'get-env', {})).isError, undefined);
    const before = await heldEcho();
    assert.equal(heldForMs(before.request), 600_000);
    daemon.core.broker.answer(before.request.id, {
      choice: 'deny',
      argumentsHash: before.request.argumentsHash,
      by: 'test',
    });
    await before.result;

    const applied = new Promise<InForceChange>((resolve) => {
      const stop = daemon.core.inForce.subscribe((change) => {
        stop();
        resolve(change);
      });
    });
    writeConfig({
      approvalTimeoutSeconds: 45,
      rules: [
        { server: 'everything', tool: 'echo', action: 'ask', remember: 'never' },
        { server: 'everything', tool: 'get-env', action: 'deny', reason: 'no environment dumps' },
      ],
    });
    const change = await applied;
    assert.equal(change.cause, 'config');
    assert.deepEqual(change.servers, { added: [], changed: [], removed: [] });

    const refused = await callTool(client, 'get-env', {});
    assert.equal(refused.isError, true);
    assert.equal(resultText(refused), 'MCP Warden refused this call: no environment dumps.');
    const after = await heldEcho();
    assert.equal(heldForMs(after.request), 45_000, 'held as long as the edited config says');
    daemon.core.broker.answer(after.request.id, {
      choice: 'allow-once',
      argumentsHash: after.request.argumentsHash,
      by: 'test',
    });
    assert.match(resultText(await after.result), /hi/);
    assert.equal(daemon.gateway.sessionCount, 1, 'the same session throughout');
  });
});
