/**
 * OAuth 2.1 for a remote upstream against a real authorization server on loopback
 * (oidc-provider: dynamic client registration, PKCE S256, resource indicators, refresh tokens)
 * in front of a Streamable HTTP MCP server that accepts only its JWTs for its own resource
 * (test/fixtures/oauth-servers.ts). The person's browser is a script that signs in through the
 * provider's pages (test/fixtures/oauth-browser.ts), started by Warden without a shell via
 * $MCP_WARDEN_BROWSER. Tokens live in a real keychain (gnome-keyring).
 */
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { decodeJwt } from 'jose';
import { useDaemonFixture } from '../helpers/daemon-fixture.ts';
import { callTool, httpClient, resultText } from '../helpers/sdk-client.ts';
import { keyringMissing } from '../helpers/requirements.ts';
import { secretsAtRest } from '../helpers/secret-files.ts';
import { CLI, NODE, ROOT, waitFor } from '../helpers/warden-env.ts';

const skip = keyringMissing();
/** How long the fixture's access tokens live, s: short, so the refresh test waits little. */
const ACCESS_TOKEN_TTL_S = 3;

function cli(env: NodeJS.ProcessEnv, args: string[]): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile(CLI, args, { env }, (error, stdout) =>
      error ? reject(new Error(error.message)) : resolve(stdout),
    ),
  );
}

describe('OAuth for a remote upstream', { skip }, () => {
  let servers: ChildProcess;
  let issuer: string;
  let mcpUrl: string;
  let browserLog: string;
  const fx = useDaemonFixture({
    keyring: true,
    prepare: async (w, defer) => {
      servers = spawn(NODE, [path.join(ROOT, 'test/fixtures/oauth-servers.ts')], {
        stdio: ['ignore', 'pipe', 'ignore'],
        env: { ...process.env, OAUTH_ACCESS_TOKEN_TTL: String(ACCESS_TOKEN_TTL_S) },
      });
      defer(() => servers.kill());
      const info = await new Promise<{ issuer: string; mcpUrl: string }>((resolve) =>
        servers.stdout!.once('data', (d: Buffer) =>
          resolve(JSON.parse(d.toString()) as { issuer: string; mcpUrl: string }),
        ),
      );
      issuer = info.issuer;
      mcpUrl = info.mcpUrl;
      browserLog = path.join(w.home, 'browser.log');
      const browser = path.join(w.home, 'browser.sh');
      fs.writeFileSync(
        browser,
        `#!/bin/sh\nexec "${NODE}" "${path.join(ROOT, 'test/fixtures/oauth-browser.ts')}" "$1"\n`,
        { mode: 0o755 },
      );
      Object.assign(w.env, { MCP_WARDEN_BROWSER: browser, OAUTH_BROWSER_LOG: browserLog });
    },
    config: () => ({
      mcpServers: {
        remote: { url: mcpUrl },
        keyed: { url: mcpUrl, headers: { Authorization: 'Bearer configured-not-a-jwt' } },
      },
    }),
  });

  test('the first connection starts the flow; two clients connecting at once cause one flow; tokens land in the keychain', async () => {
    const [a, b] = await Promise.all([
      httpClient(fx.daemon.url, fx.daemon.token, 'remote', 'a'),
      httpClient(fx.daemon.url, fx.daemon.token, 'remote', 'b'),
    ]);
    try {
      assert.match(resultText(await callTool(a, 'whoami', {})), /authorized call/);
      assert.match(resultText(await callTool(b, 'whoami', {})), /authorized call/);
    } finally {
      await a.close();
      await b.close();
    }
    const opened = fs.readFileSync(browserLog, 'utf8').trim().split('\n');
    assert.equal(opened.length, 1, `one authorization flow, not ${opened.length}`);
    const url = new URL(opened[0]!);
    assert.equal(url.origin, issuer);
    assert.equal(url.searchParams.get('code_challenge_method'), 'S256');
    assert.ok(url.searchParams.get('resource')?.endsWith('/mcp'), 'a resource indicator (RFC 8707) is sent');
    const names = await cli(fx.w.env, ['secrets', 'list']);
    assert.match(names, /oauth\.remote\.tokens/);
    assert.match(names, /oauth\.remote\.client/);
    assert.ok(!fx.daemon.output().includes('access_token'), 'no token in the daemon log');
  });

  test('an expired access token is refreshed without a new sign-in, and the new tokens are stored', async () => {
    const before = await cli(fx.w.env, ['secrets', 'get', 'oauth.remote.tokens', '--reveal']);
    // Wait for the stored access token to expire (its `exp`, a few seconds after it was issued)
    // and check that the resource server itself now refuses it.
    const stale = (JSON.parse(before) as { access_token: string }).access_token;
    const expires = decodeJwt(stale).exp! * 1000;
    await waitFor(() => Date.now() >= expires, (ACCESS_TOKEN_TTL_S + 5) * 1000, 'the access token to expire');
    const refused = await fetch(mcpUrl, { method: 'POST', headers: { authorization: `Bearer ${stale}` } });
    assert.equal(refused.status, 401, 'the resource server refuses the expired access token');
    const client = await httpClient(fx.daemon.url, fx.daemon.token, 'remote', 'c');
    try {
      assert.match(resultText(await callTool(client, 'whoami', {})), /authorized call/);
    } finally {
      await client.close();
    }
    assert.notEqual(
      await cli(fx.w.env, ['secrets', 'get', 'oauth.remote.tokens', '--reveal']),
      before,
      'refreshed tokens were saved',
    );
    assert.equal(fs.readFileSync(browserLog, 'utf8').trim().split('\n').length, 1, 'no second sign-in');
  });

  test('tokens and client credentials are in the keychain only: no file Warden wrote holds one', async () => {
    const tokens = JSON.parse(await cli(fx.w.env, ['secrets', 'get', 'oauth.remote.tokens', '--reveal'])) as {
      access_token: string;
      refresh_token?: string;
    };
    const client = JSON.parse(await cli(fx.w.env, ['secrets', 'get', 'oauth.remote.client', '--reveal'])) as {
      client_id: string;
      client_secret?: string;
    };
    const values = [tokens.access_token, tokens.refresh_token, client.client_secret].filter(
      (v): v is string => typeof v === 'string',
    );
    assert.ok(values.length >= 2, 'an access token and a refresh token or client secret to look for');
    assert.deepEqual(secretsAtRest(fx.w.home, values), []);
    for (const value of values)
      assert.ok(!fx.daemon.output().includes(value), 'a token is in the daemon log');
  });

  test('a server with a configured Authorization header is sent that header: its 401 stands, no sign-in starts', async () => {
    const flows = () => fs.readFileSync(browserLog, 'utf8').trim().split('\n').length;
    const before = flows();
    await assert.rejects(httpClient(fx.daemon.url, fx.daemon.token, 'keyed', 'd'), (error: Error) => {
      assert.match(error.message, /401/);
      return true;
    });
    assert.equal(flows(), before, 'no authorization flow for a server with its own Authorization header');
  });
});
