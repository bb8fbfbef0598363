/**
 * An `npx` launcher in the OS sandbox: the install step runs outside it (the real npx, here
 * resolving the package from the project's node_modules, offline), and the server itself runs
 * its executable in the sandbox without asking for the registry.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { cli, pending } from '../helpers/approvals-cli.ts';
import { useDaemonFixture } from '../helpers/daemon-fixture.ts';
import { callTool, httpClient, resultText } from '../helpers/sdk-client.ts';
import { firstMissing, sandboxToolsMissing } from '../helpers/requirements.ts';
import { ROOT, waitFor } from '../helpers/warden-env.ts';
import { which } from '../../main/core/sandbox/sandbox-readiness.ts';

const SPEC = '@modelcontextprotocol/server-everything@2026.8.31';
const npxMissing = which('npx', process.env.PATH) ? false : 'needs npx on PATH (it comes with npm)';

describe('OS sandbox: an npx launcher', { skip: firstMissing(sandboxToolsMissing(), npxMissing) }, () => {
  const fx = useDaemonFixture({
    config: {
      daemon: { warmUpstreams: false },
      mcpServers: { everything: { command: 'npx', args: ['-y', SPEC, 'stdio'], cwd: ROOT } },
    },
  });

  test('the install step runs outside the sandbox; the server runs sandboxed without the registry', async () => {
    const client = await httpClient(fx.url, fx.token, 'everything');
    try {
      assert.equal(resultText(await callTool(client, 'echo', { message: 'boxed' })), 'Echo: boxed');
    } finally {
      await client.close();
    }
    assert.deepEqual(await pending(fx.w), [], 'nothing asked for the registry');
    assert.match(await cli(fx.w, 'servers', 'list'), /sandbox enforced/);
    await waitFor(
      () => fx.daemon.output().includes(`installed ${SPEC} outside the sandbox`),
      10_000,
      'the install step in the log',
    );
  });
});
