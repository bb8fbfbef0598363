/**
 * The managed policy on a running daemon (a real daemon process, the real CLI, the SDK client,
 * @modelcontextprotocol/server-everything): locked settings the user's config cannot loosen,
 * and edits to the managed file taking effect while Warden runs (failing closed while the file
 * is invalid).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, test } from 'node:test';
import { useDaemonFixture } from '../helpers/daemon-fixture.ts';
import { callTool, httpClient } from '../helpers/sdk-client.ts';
import { CLI, EVERYTHING_JS, NODE, everythingServer, waitFor } from '../helpers/warden-env.ts';

describe('managed policy: locks and live changes', () => {
  let managedFile: string;

  const writeManaged = (document: Record<string, unknown> | string) =>
    fs.writeFileSync(managedFile, typeof document === 'string' ? document : JSON.stringify(document), {
      mode: 0o644,
    });
  const baseManaged = {
    servers: [{ command: NODE, args: [EVERYTHING_JS, 'stdio'], trusted: true }],
    lock: ['serverApprovals', 'userAllowRules', 'alwaysAllow'],
  };
  const api = async (route: string) =>
    (await (
      await fetch(`${fx.daemon.url}/api/v1${route}`, {
        headers: { authorization: `Bearer ${fx.daemon.token}` },
      })
    ).json()) as Record<string, unknown>;
  const explain = async (server: string, tool: string) =>
    (await api(`/policy/explain?server=${server}&tool=${tool}`)) as {
      server: { allowed: boolean; reason: string };
      tool: { action: string; source: string; remember?: string; reason?: string };
    };

  const fx = useDaemonFixture({
    prepare: (w) => {
      managedFile = path.join(w.home, 'managed-policy.json');
      writeManaged(baseManaged);
      w.env.MCP_WARDEN_MANAGED_POLICY = managedFile;
    },
    // The user tries to loosen everything the managed policy locked.
    config: {
      policy: {
        servers: [{ command: NODE, args: [EVERYTHING_JS, 'stdio', '--mine'], trusted: true }],
        rules: [
          { server: '*', tool: 'get-sum', action: 'allow' },
          { server: '*', tool: 'echo', action: 'ask', remember: 'always' },
        ],
      },
      mcpServers: {
        everything: everythingServer(),
        mine: everythingServer({ args: [EVERYTHING_JS, 'stdio', '--mine'] }),
      },
    },
    allowServers: false,
  });

  test("locked settings cannot be changed by the user's config", async () => {
    // userAllowRules: the user's allow rule for get-sum has no effect (get-sum is not read-only: it asks).
    const sum = await explain('everything', 'get-sum');
    assert.equal(sum.tool.action, 'ask');
    assert.doesNotMatch(sum.tool.source, /user config/);
    // alwaysAllow: the user's ask rule allows remembering "always"; the lock caps it at the session.
    const echo = await explain('everything', 'echo');
    assert.equal(echo.tool.action, 'ask');
    assert.equal(echo.tool.remember, 'session');
    // serverApprovals: the user's server allow rule has no effect, and no person can approve it.
    const mine = await explain('mine', 'echo');
    assert.equal(mine.server.allowed, false);
    assert.match(mine.server.reason, /locks server approvals/);
    await assert.rejects(
      promisify(execFile)(CLI, ['servers', 'approve', 'mine', '--yes'], { env: fx.w.env }),
      (error: { stderr: string }) => {
        assert.match(error.stderr, /locks server approvals: only IT can allow servers here/);
        return true;
      },
    );
    const effective = (await api('/policy/effective')) as { locked: { setting: string }[] };
    assert.deepEqual(
      effective.locked.map((l) => l.setting),
      ['serverApprovals', 'userAllowRules', 'alwaysAllow'],
    );
  });

  test('an edit to the managed file takes effect while running; an invalid file fails closed until fixed', async () => {
    const client = await httpClient(fx.daemon.url, fx.daemon.token, 'everything');
    try {
      assert.equal((await callTool(client, 'get-env', {})).isError, undefined);
      writeManaged({
        ...baseManaged,
        rules: [{ server: '*', tool: 'get-env', action: 'deny', reason: 'IT: not today' }],
      });
      await waitFor(
        async () => (await explain('everything', 'get-env')).tool.action === 'deny',
        15_000,
        'the new rule',
      );
      const refused = await callTool(client, 'get-env', {});
      assert.equal(refused.isError, true);
      assert.match(JSON.stringify(refused.content), /IT: not today/);

      writeManaged('{ "rules": [ not json');
      await waitFor(
        async () =>
          /refuses everything until the managed policy is fixed/.test(
            (await explain('everything', 'get-env')).tool.reason ?? '',
          ),
        15_000,
        'failing closed',
      );
      const closed = await callTool(client, 'get-env', {});
      assert.equal(closed.isError, true);
      assert.match(JSON.stringify(closed.content), /managed policy .* is not valid JSON/);

      writeManaged(baseManaged);
      await waitFor(
        async () => (await explain('everything', 'get-env')).tool.action !== 'deny',
        15_000,
        'recovery',
      );
      assert.equal((await callTool(client, 'get-env', {})).isError, undefined);
    } finally {
      await client.close();
    }
  });
});
