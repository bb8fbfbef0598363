/**
 * Signed org policy synced from a real static web server (Debian's nginx on loopback), with a
 * real daemon: new versions are picked up; tampered, older, expired and unknown-key documents are
 * each rejected with a clear status while the last good policy stays in force; with the server
 * down enforcement continues from the cache; precedence managed > org > user.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { AuditReader } from '../../main/core/audit/audit-reader.ts';
import { generateSigningKey, signOrgPolicy, type OrgPolicyInput } from '../../main/core/policy/org-policy.ts';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { useDaemonFixture } from '../helpers/daemon-fixture.ts';
import { callTool, httpClient } from '../helpers/sdk-client.ts';
import { startNginx, type Nginx } from '../helpers/nginx.ts';
import { nginxMissing } from '../helpers/requirements.ts';
import { CLI, EVERYTHING_JS, NODE, everythingServer, waitFor } from '../helpers/warden-env.ts';

const skip = nginxMissing();
const DAY = 86_400_000;

describe('org policy from a static web server', { skip }, () => {
  let nginx: Nginx;
  let key: Awaited<ReturnType<typeof generateSigningKey>>;
  let stranger: Awaited<ReturnType<typeof generateSigningKey>>;

  const doc = (
    version: number,
    rules: NonNullable<OrgPolicyInput['policy']['rules']>,
    expires = Date.now() + DAY,
  ): OrgPolicyInput => ({
    org: 'acme',
    version,
    issuedAt: new Date().toISOString(),
    expires: new Date(expires).toISOString(),
    policy: { rules },
    // IT's catalog holds the everything server exactly as configured below.
    catalog: [
      {
        name: 'everything',
        description: 'the reference server',
        command: NODE,
        args: [EVERYTHING_JS, 'stdio'],
      },
      {
        name: 'reference-2',
        description: 'the reference server, second instance for the docs team',
        command: NODE,
        args: [EVERYTHING_JS, 'stdio', '--docs'],
      },
    ],
  });
  const publish = (jws: string) => fs.writeFileSync(path.join(nginx.root, 'policy.jws'), jws);
  const api = async (method: string, route: string) =>
    (await (
      await fetch(`${fx.daemon.url}/api/v1${route}`, {
        method,
        headers: { authorization: `Bearer ${fx.daemon.token}` },
      })
    ).json()) as Record<string, unknown>;
  const sync = async () =>
    (await api('POST', '/policy/sync')) as { version: number | null; lastError: string | null };
  const explain = async (tool: string) =>
    (
      (await api('GET', `/policy/explain?server=everything&tool=${tool}`)) as {
        tool: { action: string; source: string };
      }
    ).tool;

  const fx = useDaemonFixture({
    prepare: async (w, defer) => {
      key = await generateSigningKey();
      stranger = await generateSigningKey();
      const started = await startNginx(path.join(w.home, 'nginx'));
      nginx = started;
      defer(() => started.stop());
      const managed = path.join(w.home, 'managed-policy.json');
      fs.writeFileSync(
        managed,
        JSON.stringify({
          orgPolicy: {
            url: `${nginx.url}/policy.jws`,
            keys: [key.publicJwk],
            org: 'acme',
            pollSeconds: 3600,
            graceHours: 0,
          },
          rules: [{ server: '*', tool: 'get-sum', action: 'deny', reason: 'managed: no sums' }],
          catalogOnly: true,
        }),
        { mode: 0o644 },
      );
      w.env.MCP_WARDEN_MANAGED_POLICY = managed;
      publish(
        await signOrgPolicy(
          doc(1, [
            { tool: 'get-sum', action: 'allow' },
            { tool: 'echo', action: 'deny', reason: 'org: no echo' },
          ]),
          key.privateJwk,
        ),
      );
    },
    config: {
      policy: { rules: [{ tool: '*', action: 'allow' }] },
      // The user added a second server that is not in the org catalog.
      mcpServers: {
        everything: everythingServer(),
        mine: everythingServer({ args: [EVERYTHING_JS, 'stdio', '--mine'] }),
      },
    },
  });

  test('version 1 is picked up; precedence: a managed deny beats an org allow, an org deny beats a user allow', async () => {
    assert.equal((await sync()).version, 1);
    const sum = await explain('get-sum');
    assert.equal(sum.action, 'deny');
    assert.match(sum.source, /^managed policy/);
    const echo = await explain('echo');
    assert.equal(echo.action, 'deny', JSON.stringify(echo));
    assert.match(echo.source, /^org policy .*policy\.jws \(version 1\)/);
    const env = await explain('get-env');
    assert.equal(env.action, 'allow');
    assert.match(env.source, /^user config/);
    // The CLI asks the running daemon, so the org policy is part of its answer.
    const cli = await promisify(execFile)(CLI, ['policy', 'explain', 'everything', 'echo'], {
      env: fx.w.env,
    });
    assert.match(cli.stdout, /tool "echo": deny\n {2}by org policy .*policy\.jws \(version 1\)/);
  });

  test('catalog-only mode: a catalog server runs, a server the user added is refused', async () => {
    const catalog = await httpClient(fx.daemon.url, fx.daemon.token, 'everything');
    await catalog.close();
    await assert.rejects(httpClient(fx.daemon.url, fx.daemon.token, 'mine'), (error: Error) => {
      assert.match(error.message, /is not in the org catalog/);
      assert.match(error.message, /allows only catalog servers/);
      return true;
    });
  });

  test('a new version is picked up, and the version in force is in every audit row', async () => {
    publish(
      await signOrgPolicy(doc(2, [{ tool: 'echo', action: 'deny', reason: 'org v2' }]), key.privateJwk),
    );
    assert.equal((await sync()).version, 2);
    const client = await httpClient(fx.daemon.url, fx.daemon.token, 'everything');
    try {
      await callTool(client, 'get-env', {});
      assert.equal((await callTool(client, 'echo', { message: 'x' })).isError, true);
    } finally {
      await client.close();
    }
    const reader = AuditReader.open(fx.w.paths.auditDb);
    try {
      assert.deepEqual(
        reader.latest(10).map((r) => [r.tool, r.decision, r.policyVersion]),
        [
          ['get-env', 'allow', 'org acme v2'],
          ['echo', 'deny', 'org acme v2'],
        ],
      );
    } finally {
      reader.close();
    }
  });

  test('tampered, older, expired and unknown-key documents are each rejected; version 2 stays in force', async () => {
    const good = await signOrgPolicy(doc(3, []), key.privateJwk);
    const [h, , s] = good.split('.');
    const cases: [string, RegExp][] = [
      [
        `${h}.${Buffer.from(JSON.stringify(doc(3, [{ tool: '*', action: 'allow' }]))).toString('base64url')}.${s}`,
        /signature does not verify/,
      ],
      [
        await signOrgPolicy(doc(1, []), key.privateJwk),
        /older than version 2, already accepted \(rollback\)/,
      ],
      [await signOrgPolicy(doc(4, [], Date.now() - DAY), key.privateJwk), /expired at/],
      [await signOrgPolicy(doc(5, []), stranger.privateJwk), /which the managed policy does not trust/],
    ];
    for (const [jws, why] of cases) {
      publish(jws);
      const status = await sync();
      assert.equal(status.version, 2);
      assert.match(status.lastError ?? '', why);
      assert.equal((await explain('echo')).action, 'deny', 'the last good policy stays in force');
    }
  });

  test('with the policy server down enforcement continues from the cache; back up, it syncs', async () => {
    await nginx.stop();
    const down = await sync();
    assert.equal(down.version, 2);
    assert.ok(down.lastError, 'the failure is reported');
    assert.equal((await explain('echo')).action, 'deny');
    // A restart offline still enforces the cached version.
    await fx.restart();
    assert.equal(((await api('GET', '/policy/status')) as { org: { version: number } }).org.version, 2);
    assert.equal((await explain('echo')).action, 'deny');
    publish(await signOrgPolicy(doc(6, []), key.privateJwk));
    await nginx.start();
    const up = await sync();
    assert.equal(up.version, 6);
    assert.equal(up.lastError, null);
    assert.equal((await explain('echo')).action, 'allow', 'version 6 no longer denies echo');
  });

  test('catalog list shows what IT approved; catalog install puts a server into Warden and a client in one step, served at once and admitted in catalog-only mode', async () => {
    const cli = (...args: string[]) => promisify(execFile)(CLI, args, { env: fx.w.env });
    const list = await cli('catalog', 'list');
    assert.match(list.stdout, /^everything {2}\(in your Warden config\)$/m);
    assert.match(list.stdout, /^reference-2$/m);
    assert.match(list.stdout, /runs: .*server-everything.* stdio --docs/);
    assert.match(list.stdout, /from: org acme v6/);

    const install = await cli('catalog', 'install', 'reference-2', '--client', 'cursor');
    assert.match(install.stdout, /added "reference-2" to .*config\.json: it runs exactly/);
    assert.match(install.stdout, /A running Warden picks it up within seconds/);
    const cursor = JSON.parse(fs.readFileSync(path.join(fx.w.home, '.cursor', 'mcp.json'), 'utf8')) as {
      mcpServers: Record<string, { command: string; args: string[] }>;
    };
    assert.deepEqual(cursor.mcpServers['reference-2']?.args, ['connect', 'reference-2']);
    const config = JSON.parse(fs.readFileSync(fx.w.paths.configFile, 'utf8')) as {
      mcpServers: Record<string, { command: string; args: string[] }>;
    };
    assert.deepEqual(config.mcpServers['reference-2'], {
      command: NODE,
      args: [EVERYTHING_JS, 'stdio', '--docs'],
    });
    // Installing again changes nothing; an entry of that name with another command is refused.
    assert.match(
      (await cli('catalog', 'install', 'reference-2', '--client', 'cursor')).stdout,
      /already installed/,
    );
    await assert.rejects(
      cli('catalog', 'install', 'nope', '--client', 'cursor'),
      /has no "nope" \(it has: everything, reference-2\)/,
    );

    // The running daemon picks up the edited config; the org catalog admits the new server
    // although only catalog servers may run.
    await waitFor(
      async () =>
        ((await api('GET', '/servers')) as unknown as { name: string }[]).some(
          (x) => x.name === 'reference-2',
        ),
      15_000,
      'the installed server',
    );
    const client = await httpClient(fx.daemon.url, fx.daemon.token, 'reference-2');
    try {
      assert.equal((await callTool(client, 'get-env', {})).isError, undefined);
    } finally {
      await client.close();
    }
  });
});
