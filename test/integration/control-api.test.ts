/**
 * The control API's contract at its edge: a real WardenCore (real SQLite files, the real
 * policy engine and broker) served by createControlApi on a loopback port, probed with fetch.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { parseConfig } from '../../main/core/config/load.ts';
import { approvalRequestSchema, explainSchema, statusSchema } from '../../main/core/control/contract.ts';
import { WardenCore } from '../../main/core/runtime/warden-core.ts';
import { silentLogger } from '../../main/core/log.ts';
import { MemorySecretStore } from '../../main/core/secrets/secret-store.ts';
import { everythingServer, makeWardenEnv, type WardenEnv } from '../helpers/warden-env.ts';
import { serveControlApi } from '../helpers/control.ts';

describe('control API', () => {
  let w: WardenEnv;
  let core: WardenCore;
  let closeServer: (() => void) | undefined;
  let base: string;
  const call = async (method: string, path: string, body?: unknown) => {
    const response = await fetch(`${base}${path}`, {
      method,
      ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
    });
    return {
      status: response.status,
      body: (await response.json()) as Record<string, unknown> & {
        error?: { code: string; message: string };
      },
    };
  };

  before(async () => {
    w = makeWardenEnv();
    const config = parseConfig(
      JSON.stringify({
        policy: {
          servers: [{ command: '**' }],
          rules: [{ server: 'fs', tool: 'delete_*', action: 'deny', reason: 'no deletes' }],
        },
        mcpServers: { fs: everythingServer() },
      }),
      w.paths.configFile,
    );
    core = WardenCore.open(config, w.paths, silentLogger(), { secrets: new MemorySecretStore() });
    ({ base, close: closeServer } = await serveControlApi(core));
  });

  after(() => {
    closeServer?.();
    core?.close();
    w?.cleanup();
  });

  test('status and explain answer in the shapes of the contract', async () => {
    const status = await call('GET', '/status');
    assert.equal(status.status, 200);
    assert.equal(statusSchema.parse(status.body).servers[0]?.name, 'fs');
    const explain = await call('GET', '/policy/explain?server=fs&tool=delete_file');
    assert.deepEqual(explainSchema.parse(explain.body).tool?.action, 'deny');
    assert.equal(explainSchema.parse(explain.body).tool?.reason, 'no deletes');
  });

  test('answers: the first valid one wins; a wrong arguments hash or an unoffered choice is 409; unknown ids 404', async () => {
    const outcome = core.broker.request(
      {
        sessionId: 's',
        client: { name: 'c' },
        server: 'fs',
        tool: 'write_file',
        arguments: { path: '/x' },
        rule: { source: 'test', text: 'ask' },
        choices: ['deny', 'allow-once'],
      },
      { timeoutMs: 10_000 },
    );
    const [request] = approvalRequestSchema.array().parse((await call('GET', '/approvals')).body);
    assert.ok(request);
    assert.equal(
      (
        await call('POST', `/approvals/${request.id}`, {
          choice: 'allow-once',
          argumentsHash: '0'.repeat(64),
        })
      ).status,
      409,
    );
    const notOffered = await call('POST', `/approvals/${request.id}`, {
      choice: 'allow-always',
      argumentsHash: request.argumentsHash,
    });
    assert.equal(notOffered.status, 409);
    assert.match(notOffered.body.error!.message, /not offered/);
    assert.equal(
      (
        await call('POST', `/approvals/${request.id}`, {
          choice: 'allow-once',
          argumentsHash: request.argumentsHash,
          channel: 'test',
        })
      ).status,
      200,
    );
    assert.deepEqual((await outcome).kind, 'answered');
    assert.equal(
      (
        await call('POST', `/approvals/${request.id}`, {
          choice: 'deny',
          argumentsHash: request.argumentsHash,
        })
      ).status,
      404,
      'a second answer finds nothing',
    );
  });

  test('bad requests get a clear error: bad body 400, unknown route 404, wrong method 405, unknown rule 404', async () => {
    const bad = await call('POST', '/approvals/x', { choice: 'maybe' });
    assert.equal(bad.status, 400);
    assert.match(bad.body.error!.message, /invalid body/);
    assert.equal((await call('POST', '/approvals/x', 'not json')).status, 400);
    assert.equal((await call('GET', '/nope')).status, 404);
    assert.equal((await call('DELETE', '/status')).status, 405);
    assert.equal((await call('DELETE', '/rules/999')).status, 404);
  });
});
