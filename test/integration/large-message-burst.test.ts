/**
 * A burst of large messages to one stdio server: Warden's writes to the server's stdin wait
 * behind one `drain` listener, so Node warns of no listener leak, and every answer is right.
 * A real daemon process and server-everything.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { useDaemonFixture } from '../helpers/daemon-fixture.ts';
import { callTool, httpClient, resultText } from '../helpers/sdk-client.ts';
import { everythingServer } from '../helpers/warden-env.ts';

describe('large messages', () => {
  const fx = useDaemonFixture({ config: { mcpServers: { everything: everythingServer() } } });

  test('a burst of large messages to one server: no MaxListenersExceededWarning, every answer right', async () => {
    const client = await httpClient(fx.daemon.url, fx.daemon.token, 'everything');
    try {
      const messages = Array.from({ length: 40 }, (_, i) =>
        `${i}:`.padEnd(512 * 1024, String.fromCharCode(97 + (i % 26))),
      );
      const results = await Promise.all(
        messages.map((message) => callTool(client, 'echo', { message }, 60_000)),
      );
      results.forEach((result, i) => assert.equal(resultText(result), `Echo: ${messages[i]}`));
    } finally {
      await client.close();
    }
    // Warden's own process, that is: Node names the process that warns. (server-everything's
    // own stdio transport may warn about its stdout; that is the server's, logged as its stderr.)
    const pid = fx.daemon.child.pid!;
    assert.doesNotMatch(
      fx.daemon.output(),
      new RegExp(`^\\(node:${pid}\\) MaxListenersExceededWarning`, 'm'),
    );
  });
});
