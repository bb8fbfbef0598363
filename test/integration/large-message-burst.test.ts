/**
 * A burst of large messages to one stdio server: Warden's writes to the server's stdin wait
 * behind one `drain` listener, so Node warns of no listener leak, and every answer is right.
 * A real daemon process and server-everything.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { callTool, httpClient, resultText } from '../helpers/sdk-client.ts';
import {
  everythingServer,
  makeWardenEnv,
  startDaemonProcess,
  type DaemonProcess,
  type WardenEnv,
} from '../helpers/warden-env.ts';

describe('large messages', () => {
  let w: WardenEnv;
  let daemon: DaemonProcess | undefined;

  beforeEach(() => {
    w = makeWardenEnv();
  });

  afterEach(async () => {
    await daemon?.stop();
    daemon = undefined;
    w.cleanup();
  });

  test('a burst of large messages to one server: no MaxListenersExceededWarning, every answer right', async () => {
    w.writeConfig({ mcpServers: { everything: everythingServer() } });
    daemon = await startDaemonProcess(w);
    const client = await httpClient(daemon.url, daemon.token, 'everything');
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
    const pid = daemon.child.pid!;
    assert.doesNotMatch(daemon.output(), new RegExp(`^\\(node:${pid}\\) MaxListenersExceededWarning`, 'm'));
  });
});
