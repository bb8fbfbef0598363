/**
 * Editing the config while the daemon runs (a real daemon process, the SDK client,
 * @modelcontextprotocol/server-everything): a new server is served within seconds without a
 * restart; tightening a server's tool list ends its sessions so the next one follows the file;
 * an invalid edit changes nothing.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { describe, test } from 'node:test';
import { useDaemonFixture } from '../helpers/daemon-fixture.ts';
import { callTool, httpClient } from '../helpers/sdk-client.ts';
import { EVERYTHING_JS, everythingServer, waitFor } from '../helpers/warden-env.ts';

describe('config edits while the daemon runs', () => {
  const servers = async (): Promise<string[]> =>
    (
      (await (
        await fetch(`${fx.daemon.url}/api/v1/servers`, {
          headers: { authorization: `Bearer ${fx.daemon.token}` },
        })
      ).json()) as { name: string }[]
    ).map((s) => s.name);

  const fx = useDaemonFixture({ config: { mcpServers: { everything: everythingServer() } } });

  test('a server added to the file is served without a restart', async () => {
    fx.w.writeConfig({
      mcpServers: {
        everything: everythingServer(),
        second: everythingServer({ args: [EVERYTHING_JS, 'stdio', '--second'] }),
      },
    });
    await waitFor(async () => (await servers()).includes('second'), 15_000, 'the new server');
    const client = await httpClient(fx.daemon.url, fx.daemon.token, 'second');
    try {
      assert.equal((await callTool(client, 'get-env', {})).isError, undefined);
    } finally {
      await client.close();
    }
  });

  test("tightening a server's tools ends its sessions; an invalid edit changes nothing", async () => {
    const client = await httpClient(fx.daemon.url, fx.daemon.token, 'everything');
    assert.equal((await callTool(client, 'get-env', {})).isError, undefined);
    fx.w.writeConfig({ mcpServers: { everything: everythingServer({ tools: { deny: ['get-env'] } }) } });
    // The open session ends (its client is told the session is gone); a new one follows the file.
    await waitFor(async () => !(await servers()).includes('second'), 15_000, 'the edit to apply');
    await assert.rejects(callTool(client, 'get-env', {}));
    await client.close().catch(() => undefined);
    const again = await httpClient(fx.daemon.url, fx.daemon.token, 'everything');
    try {
      const refused = await callTool(again, 'get-env', {});
      assert.equal(refused.isError, true);
      fs.writeFileSync(fx.w.paths.configFile, '{ "mcpServers": ');
      // The daemon says when it has read the edit; only then is "nothing changed" meaningful.
      await waitFor(
        () => /the edited config is not valid; the previous one stays in force/.test(fx.daemon.output()),
        15_000,
        'the daemon to read the invalid edit',
      );
      assert.deepEqual(await servers(), ['everything'], 'the previous config stays in force');
    } finally {
      await again.close();
    }
  });
});
