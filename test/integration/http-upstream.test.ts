/**
 * A remote Streamable HTTP upstream (a real SDK server on loopback, test/fixtures/http-upstream.ts):
 * reached through Warden with the headers from the config, stdio shim in front.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { describe, test } from 'node:test';
import { useDaemonFixture } from '../helpers/daemon-fixture.ts';
import { callTool, resultText, shimClient } from '../helpers/sdk-client.ts';
import { NODE, ROOT } from '../helpers/warden-env.ts';

describe('remote Streamable HTTP upstream', () => {
  let upstream: ChildProcess;
  let port: number;

  const fx = useDaemonFixture({
    prepare: async (_w, defer) => {
      upstream = spawn(NODE, [path.join(ROOT, 'test/fixtures/http-upstream.ts'), '0'], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      defer(() => upstream.kill());
      port = await new Promise<number>((resolve, reject) => {
        upstream.stdout!.on('data', (d: Buffer) => {
          const m = /listening (\d+)/.exec(d.toString());
          if (m) resolve(Number(m[1]));
        });
        upstream.once('exit', (code) => reject(new Error(`fixture exited with ${code}`)));
      });
    },
    config: () => ({
      policy: { rules: [{ server: 'remote', tool: '*', action: 'allow' }] },
      mcpServers: {
        remote: {
          url: `http://127.0.0.1:${port}/mcp`,
          headers: { 'X-Team': 'platform' },
          tools: { deny: ['nothing-*'] },
        },
      },
    }),
  });

  test('a stdio client reaches the remote server through the shim; the config headers are sent', async () => {
    const { client } = await shimClient(fx.w.env, 'remote');
    try {
      assert.equal(client.getServerVersion()?.name, 'http-upstream');
      assert.equal(client.getInstructions(), 'remote fixture');
      assert.equal(
        resultText(await callTool(client, 'echo', { message: 'far away' })),
        'remote echo: far away',
      );
      const headers = JSON.parse(resultText(await callTool(client, 'request-headers', {}))) as Record<
        string,
        string
      >;
      assert.equal(headers['x-team'], 'platform');
      assert.equal(headers['authorization'], undefined, "Warden's own token must not leak upstream");
    } finally {
      await client.close();
    }
  });
});
