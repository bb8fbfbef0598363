/**
 * The main job out of the box: no config at all -> `serve` writes the default config, which
 * guards server-everything and server-filesystem (on a sandbox it creates; writes ask),
 * both launched through npx with pinned versions exactly as a user's config would.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { DEFAULT_SERVER_VERSIONS } from '../../main/core/config/load.ts';
import { useDaemonFixture } from '../helpers/daemon-fixture.ts';
import { callTool, resultText, shimClient } from '../helpers/sdk-client.ts';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { CLI, waitFor } from '../helpers/warden-env.ts';

const run = promisify(execFile);

describe('default configuration', () => {
  const fx = useDaemonFixture({
    prepare: (w) => assert.equal(fs.existsSync(w.paths.configFile), false),
  });

  test('is written on first start, readable by the user alone, with a sandbox directory', async () => {
    const config = JSON.parse(fs.readFileSync(fx.w.paths.configFile, 'utf8')) as {
      mcpServers: Record<string, { args: string[] }>;
    };
    assert.deepEqual(Object.keys(config.mcpServers), ['everything', 'filesystem']);
    assert.ok(
      config.mcpServers.everything!.args.includes(
        `@modelcontextprotocol/server-everything@${DEFAULT_SERVER_VERSIONS.everything}`,
      ),
    );
    assert.equal(config.mcpServers.filesystem!.args.at(-1), fx.w.paths.sandboxDir);
    assert.equal(fs.statSync(fx.w.paths.configFile).mode & 0o777, 0o600);
    assert.ok(fs.statSync(fx.w.paths.sandboxDir).isDirectory());
    // The banner follows the state file by a moment.
    await waitFor(
      () => /MCP Warden is guarding 2 server\(s\) at http:\/\/127\.0\.0\.1:\d+/.test(fx.daemon.output()),
      10_000,
      'the banner',
    );
  });

  test('everything answers echo through the shim', async () => {
    const { client } = await shimClient(fx.w.env, 'everything');
    try {
      assert.equal(
        resultText(await callTool(client, 'echo', { message: 'out of the box' }, 60_000)),
        'Echo: out of the box',
      );
    } finally {
      await client.close();
    }
  });

  test('filesystem reads its sandbox silently; a write waits for a person and runs once approved', async () => {
    const { client } = await shimClient(fx.w.env, 'filesystem');
    try {
      const readme = path.join(fx.w.paths.sandboxDir, 'README.txt');
      assert.match(resultText(await callTool(client, 'read_text_file', { path: readme }, 60_000)), /sandbox/);
      const target = path.join(fx.w.paths.sandboxDir, 'x.txt');
      const write = callTool(client, 'write_file', { path: target, content: 'x' }, 60_000);
      const held = await waitFor(
        async () => {
          const list = JSON.parse(
            (await run(CLI, ['approvals', 'list', '--json'], { env: fx.w.env })).stdout,
          ) as { id: string; tool: string }[];
          return list.find((r) => r.tool === 'write_file');
        },
        30_000,
        'the write to be held',
      );
      assert.equal(fs.existsSync(target), false);
      await run(CLI, ['approvals', 'approve', held.id], { env: fx.w.env });
      assert.equal((await write).isError ?? false, false);
      assert.equal(fs.readFileSync(target, 'utf8'), 'x');
    } finally {
      await client.close();
    }
  });
});
