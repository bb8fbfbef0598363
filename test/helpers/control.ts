/** The daemon's control API (/api/v1/...) as the CLI and the dashboard call it, for tests. */
import assert from 'node:assert/strict';

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
