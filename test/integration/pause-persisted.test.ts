/**
 * Pause survives a restart of the daemon (a real process): the status, the `serve` banner and
 * refused sessions say so until someone resumes.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { useDaemonFixture } from '../helpers/daemon-fixture.ts';
import { controlApi } from '../helpers/control.ts';
import { callTool, httpClient, resultText } from '../helpers/sdk-client.ts';
import { everythingServer, waitFor, type DaemonProcess } from '../helpers/warden-env.ts';

async function initialize(daemon: DaemonProcess): Promise<Response> {
  return fetch(`${daemon.url}/mcp/everything`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${daemon.token}`,
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
    },
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 't', version: '1' } },
    }),
  });
}

describe('pause', () => {
  const fx = useDaemonFixture({ config: { mcpServers: { everything: everythingServer() } } });

  test('pause survives a restart: status, banner and refused sessions say so, until resumed', async () => {
    await controlApi(fx.daemon, 'POST', 'pause');
    assert.equal(await fx.daemon.stop(), 0);

    await fx.start();
    assert.equal(((await controlApi(fx.daemon, 'GET', 'status')) as { paused: boolean }).paused, true);
    const d = fx.daemon;
    await waitFor(
      () => /PAUSED: +no server runs until someone resumes Warden/.test(d.output()),
      10_000,
      'the banner',
    );
    const refused = await initialize(fx.daemon);
    assert.equal(refused.status, 503);
    assert.match(
      ((await refused.json()) as { error: { message: string } }).error.message,
      /MCP Warden is paused/,
    );

    await controlApi(fx.daemon, 'POST', 'resume');
    const client = await httpClient(fx.daemon.url, fx.daemon.token, 'everything');
    assert.equal(resultText(await callTool(client, 'echo', { message: 'back' })), 'Echo: back');
    await client.close();
    assert.equal(await fx.daemon.stop(), 0);

    await fx.start();
    assert.equal(((await controlApi(fx.daemon, 'GET', 'status')) as { paused: boolean }).paused, false);
    assert.doesNotMatch(fx.daemon.output(), /PAUSED/);
  });
});
