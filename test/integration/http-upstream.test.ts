/**
 * A remote Streamable HTTP upstream (a real SDK server on loopback, test/fixtures/http-upstream.ts):
 * reached through Warden with the headers from the config, stdio shim in front.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { callTool, resultText, shimClient } from '../helpers/sdk-client.ts';
import {
  NODE,
  ROOT,
  makeWardenEnv,
  startDaemonProcess,
  type DaemonProcess,
  type WardenEnv,
} from '../helpers/warden-env.ts';

describe('remote Streamable HTTP upstream', () => {
  let w: WardenEnv;
  let upstream: ChildProcess;
  let daemon: DaemonProcess;

  before(async () => {
    upstream = spawn(NODE, [path.join(ROOT, 'test/fixtures/http-upstream.ts'), '0'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const port = await new Promise<number>((resolve, reject) => {
      upstream.stdout!.on('data', (d: Buffer) => {
        const m = /listening (\d+)/.exec(d.toString());
        if (m) resolve(Number(m[1]));
      });
      upstream.once('exit', (code) => reject(new Error(`fixture exited with ${code}`)));
    });
    w = makeWardenEnv();
    w.writeConfig({
      policy: { rules: [{ server: 'remote', tool: '*', action: 'allow' }] },
      mcpServers: {
        remote: {
          url: `http://127.0.0.1:${port}/mcp`,
          headers: { 'X-Team': 'platform' },
          tools: { deny: ['nothing-*'] },
        },
      },
    });
    daemon = await startDaemonProcess(w);
  });

  after(async () => {
    await daemon?.stop();
    upstream?.kill();
    w?.cleanup();
  });

  test('a stdio client reaches the remote server through the shim; the config headers are sent', async () => {
    const { client } = await shimClient(w.env, 'remote');
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
