/**
 * A WardenError thrown in a control handler (`DELETE /rules/<id>` for a rule that does not
 * exist: NOT_FOUND) reaches the CLI (a real process against a real daemon; it prints the message)
 * and the dashboard's ControlClient (over real HTTP, with a dashboard session token as the
 * browser has) as the same code and message. A newer daemon's unknown code stays distinguishable (UNRECOGNIZED).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, test } from 'node:test';
import { ControlClient } from '../../main/core/control/control-client.ts';
import { isWardenError } from '../../main/core/errors.ts';
import { useDaemonFixture } from '../helpers/daemon-fixture.ts';
import { CLI } from '../helpers/warden-env.ts';

const MESSAGE = 'no remembered rule #4242 (see `mcp-warden rules list`)';

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => assert.fail('expected a rejection'),
    (error: unknown) => error,
  );
}

describe('error codes across the control edges', () => {
  const fx = useDaemonFixture();

  test('the CLI prints the daemon’s message as it is and exits 1', async () => {
    const child = spawn(CLI, ['rules', 'revoke', '4242'], {
      env: fx.w.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    assert.equal(stderr, `mcp-warden: ${MESSAGE}\n`);
    assert.equal(code, 1);
  });

  test('the dashboard’s ControlClient rebuilds the same WardenError', async () => {
    const url = new URL(await fx.control.dashboardUrl());
    const ticket = new URLSearchParams(url.hash.slice(1)).get('ticket');
    const session = await fetch(`${fx.daemon.url}/api/v1/ui/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ticket }),
    });
    assert.equal(session.status, 200);
    const { token } = (await session.json()) as { token: string };
    const error = await rejection(new ControlClient(`${fx.daemon.url}/api/v1`, token).revokeRule(4242));
    assert.ok(isWardenError(error, 'NOT_FOUND'), String(error));
    assert.equal(error.message, MESSAGE);
  });

  test('a wrong token is UNAUTHORIZED, not DAEMON_UNREACHABLE', async () => {
    const error = await rejection(new ControlClient(`${fx.daemon.url}/api/v1`, 'wrong').status());
    assert.ok(isWardenError(error, 'UNAUTHORIZED'), String(error));
    assert.match(error.message, /bearer token is not valid/);
  });

  test('a code this version does not know is UNRECOGNIZED with the code received, never USAGE', async () => {
    // A newer daemon cannot run here; this stand-in answers as one would.
    const newer = http.createServer((_req, res) => {
      res.writeHead(429, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { code: 'QUOTA_EXHAUSTED', message: 'try tomorrow' } }));
    });
    await new Promise<void>((resolve) => newer.listen(0, '127.0.0.1', resolve));
    try {
      const port = (newer.address() as AddressInfo).port;
      const error = await rejection(new ControlClient(`http://127.0.0.1:${port}/api/v1`, 't').status());
      assert.ok(isWardenError(error, 'UNRECOGNIZED'), String(error));
      assert.equal(error.received, 'QUOTA_EXHAUSTED');
      assert.equal(error.message, 'try tomorrow');
    } finally {
      newer.close();
    }
  });
});
