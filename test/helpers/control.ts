/** The daemon's control API (/api/v1/...) as the CLI and the dashboard call it, for tests. */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createControlApi } from '../../main/core/control/control-api.ts';
import type { WardenCore } from '../../main/core/runtime/warden-core.ts';

/**
 * Calls a control route with the daemon's token; fails the test unless it answers 200.
 * @returns the parsed JSON answer.
 */
export async function controlApi(
  daemon: { url: string; token: string },
  method: 'GET' | 'POST',
  route: string,
): Promise<unknown> {
  const response = await fetch(`${daemon.url}/api/v1/${route}`, {
    method,
    headers: { authorization: `Bearer ${daemon.token}`, 'content-type': 'application/json' },
    ...(method === 'POST' ? { body: '{}' } : {}),
  });
  const text = await response.text();
  assert.equal(response.status, 200, `${method} /api/v1/${route}: ${text}`);
  return JSON.parse(text) as unknown;
}

/**
 * Serves the control API of an in-process WardenCore on a loopback port, with no live sessions
 * (the gateway's part of ControlRuntime answers "none"), for tests of the handlers alone.
 * @returns the base URL (`http://127.0.0.1:<port>/api/v1`) and a function that closes the server.
 */
export async function serveControlApi(core: WardenCore): Promise<{ base: string; close: () => void }> {
  const api = createControlApi(core, {
    sessionsFor: () => 0,
    breakerState: () => 'closed',
    pauseAll: () => Promise.resolve(),
    restart: () => Promise.resolve(0),
  });
  const server = http.createServer((req, res) => void api(req, res, new URL(req.url!, 'http://127.0.0.1')));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    base: `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v1`,
    close: () => void server.close(),
  };
}
