/**
 * Where the OS cannot sandbox (here: bubblewrap not on PATH, the PATH of the daemon narrowed to a
 * directory of the tools it needs): a managed policy with `requireSandbox: true` refuses to start
 * the server, saying what is missing and how to fix it; without it the server starts unsandboxed
 * and `servers list` says so. A url server is out of the sandbox's scope.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { cli } from '../helpers/approvals-cli.ts';
import { useDaemonFixture } from '../helpers/daemon-fixture.ts';
import { callTool, httpClient, resultText } from '../helpers/sdk-client.ts';
import { sandboxToolsMissing } from '../helpers/requirements.ts';
import { NODE, ROOT, waitFor, type WardenEnv } from '../helpers/warden-env.ts';

const HOSTILE = path.join(ROOT, 'test/fixtures/hostile-server.ts');

/** A PATH with what the CLI and the sandbox need, but no bwrap. */
function pathWithoutBubblewrap(w: WardenEnv): string {
  const bin = path.join(w.home, 'bin');
  fs.mkdirSync(bin);
  for (const tool of ['sh', 'dirname', 'find', 'env', 'socat', 'rg']) {
    const found = (process.env.PATH ?? '')
      .split(path.delimiter)
      .map((dir) => path.join(dir, tool))
      .find((file) => fs.existsSync(file));
    if (found) fs.symlinkSync(found, path.join(bin, tool));
  }
  return bin;
}

const servers = {
  hostile: { command: NODE, args: [HOSTILE] },
  remote: { url: 'https://mcp.example.com/mcp' },
};

describe(
  'OS sandbox required by the managed policy, bubblewrap missing',
  { skip: sandboxToolsMissing() },
  () => {
    const fx = useDaemonFixture({
      prepare: (w) => {
        const managed = path.join(w.home, 'managed-policy.json');
        fs.writeFileSync(managed, JSON.stringify({ sandbox: { requireSandbox: true } }), { mode: 0o644 });
        w.env.MCP_WARDEN_MANAGED_POLICY = managed;
        w.env.PATH = pathWithoutBubblewrap(w);
      },
      config: {
        daemon: { warmUpstreams: false },
        mcpServers: { ...servers, hostile: { ...servers.hostile, sandbox: { mode: 'off' } } },
      },
    });

    test('the server does not start; the error names bwrap, the policy and the fix', async () => {
      await assert.rejects(
        async () => {
          const client = await httpClient(fx.url, fx.token, 'hostile');
          await client.close();
        },
        (error: Error) => {
          assert.match(error.message, /requires the OS sandbox/);
          assert.match(error.message, /bwrap \(package bubblewrap\) is not on PATH/);
          assert.match(error.message, /apt-get install -y bubblewrap/);
          return true;
        },
      );
      const listed = await cli(fx.w, 'servers', 'list');
      assert.match(
        listed,
        /sandbox refused: "hostile" was not started: managed policy .* requires the OS sandbox/,
      );
      assert.match(
        listed,
        /remote \(http\)[\s\S]*sandbox out of scope: a remote \(url\) server runs elsewhere/,
      );
    });

    test('policy explain <server> shows the sandbox in force and where each entry comes from', async () => {
      const explained = await cli(fx.w, 'policy', 'explain', 'hostile');
      assert.match(explained, /^sandbox: enforced \(managed policy .*\); required by managed policy /m);
      assert.ok(explained.includes(`filesystem.denyRead ${fx.w.home}/.ssh  (built-in defaults)`), explained);
      assert.match(explained, /network\.allowLocalBinding false {2}\(built-in defaults\)/);
      assert.match(
        explained,
        /not in force: mode off from user config .*: managed policy .* requires the sandbox/,
      );
    });
  },
);

describe('OS sandbox not required, bubblewrap missing', { skip: sandboxToolsMissing() }, () => {
  const fx = useDaemonFixture({
    prepare: (w) => {
      w.env.PATH = pathWithoutBubblewrap(w);
    },
    config: {
      daemon: { warmUpstreams: false },
      mcpServers: { hostile: servers.hostile },
      policy: { rules: [{ server: 'hostile', tool: '*', action: 'allow' }] },
    },
  });

  test('the server starts unsandboxed, with a warning in servers list and the log', async () => {
    const client = await httpClient(fx.url, fx.token, 'hostile');
    try {
      assert.equal(resultText(await callTool(client, 'echo', { message: 'hi' })), 'echo: hi');
    } finally {
      await client.close();
    }
    const listed = await cli(fx.w, 'servers', 'list');
    assert.match(
      listed,
      /sandbox unsandboxed: runs without the OS sandbox: bwrap \(package bubblewrap\) is not on PATH/,
    );
    await waitFor(
      () => /hostile runs without the OS sandbox/.test(fx.daemon.output()),
      10_000,
      'the warning in the log',
    );
  });
});
