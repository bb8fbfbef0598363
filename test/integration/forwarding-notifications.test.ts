/**
 * Warden forwards server notifications as they are: the real server-everything through the real
 * daemon (SDK Client over Streamable HTTP), on a request's stream and on the standalone GET
 * stream, also when that stream opens late or a GET is refused (test/helpers/forwarding-peers.ts).
 * Requests: forwarding-requests.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Notification } from '@modelcontextprotocol/sdk/types.js';
import { useDaemonFixture } from '../helpers/daemon-fixture.ts';
import {
  TIMEOUT,
  call,
  connectDirect,
  connectHttp,
  wardenConfig,
  type Peer,
} from '../helpers/forwarding-peers.ts';
import { resultText } from '../helpers/sdk-client.ts';

describe('forwarding: client-to-server requests and server notifications, as they are', () => {
  const fx = useDaemonFixture({ config: wardenConfig() });
  const http = (): Promise<Peer> => connectHttp(fx.daemon);
  const direct = (): Promise<Peer> => connectDirect();

  test(
    'resources/subscribe, then notifications/resources/updated arrives for that URI',
    { timeout: TIMEOUT },
    async () => {
      const peer = await http();
      const uri = 'demo://resource/dynamic/text/42';
      try {
        assert.deepEqual(await peer.client.subscribeResource({ uri }), {});
        // resources/updated belongs to no request: it travels on the standalone stream.
        await peer.standaloneOpen;
        const from = peer.inbox.mark();
        const toggled = await call(peer.client, 'toggle-subscriber-updates');
        assert.match(resultText(toggled), /Started simulated resource updated notifications/);
        const updated = await peer.inbox.wait(
          'notifications/resources/updated',
          (n) => n.params?.uri === uri,
          { from },
        );
        assert.deepEqual(updated.params, { uri });
        assert.match(resultText(await call(peer.client, 'toggle-subscriber-updates')), /Stopped/);
        assert.deepEqual(await peer.client.unsubscribeResource({ uri }), {});
      } finally {
        await peer.close();
      }
    },
  );

  test('logging/setLevel is honoured and notifications/message arrive', { timeout: TIMEOUT }, async () => {
    const peer = await http();
    const uri = 'demo://resource/dynamic/text/9';
    const isAck = (word: string) => (n: Notification) =>
      typeof n.params?.data === 'string' && n.params.data.startsWith(`Received ${word} Resource request`);
    try {
      // At "error", the info-level acknowledgement of a subscribe is filtered out by the server...
      assert.deepEqual(await peer.client.setLoggingLevel('error'), {});
      let from = peer.inbox.mark();
      await peer.client.subscribeResource({ uri });
      // (the acknowledgement would travel on the subscribe's own stream, before its answer)
      assert.deepEqual(peer.inbox.since(from, 'notifications/message').filter(isAck('Subscribe')), []);

      // ...at "debug" the unsubscribe acknowledgement comes through, as the server sent it.
      assert.deepEqual(await peer.client.setLoggingLevel('debug'), {});
      from = peer.inbox.mark();
      await peer.client.unsubscribeResource({ uri });
      const ack = await peer.inbox.wait('notifications/message', isAck('Unsubscribe'), { from });
      assert.equal(ack.params?.level, 'info');

      // Simulated logging: the first message is sent at once, at a random level (all pass "debug").
      from = peer.inbox.mark();
      const started = await call(peer.client, 'toggle-simulated-logging');
      assert.match(resultText(started), /Started simulated, random-leveled logging/);
      const message = await peer.inbox.wait(
        'notifications/message',
        (n) => typeof n.params?.data === 'string' && /-level message|level-message/.test(n.params.data),
        { from },
      );
      assert.ok(typeof message.params?.level === 'string');
      assert.match(
        resultText(await call(peer.client, 'toggle-simulated-logging')),
        /Stopped simulated logging/,
      );
    } finally {
      await peer.close();
    }
  });

  test(
    'notifications/resources/list_changed arrives when a tool registers a resource',
    { timeout: TIMEOUT },
    async () => {
      // gzip-file-as-resource registers a session resource, and the server announces it with
      // notifications/resources/list_changed (a data: URI keeps it off the network).
      const peer = await http();
      try {
        await peer.standaloneOpen; // list_changed travels on the standalone stream
        const from = peer.inbox.mark();
        const data = `data:text/plain;base64,${Buffer.from('forwarded as it is\n').toString('base64')}`;
        const result = await call(peer.client, 'gzip-file-as-resource', { name: 'fwd.txt.gz', data });
        assert.equal(result.isError ?? false, false, resultText(result));
        const link = result.content[0] as { type: string; uri?: string };
        assert.equal(link.type, 'resource_link');
        assert.equal(link.uri, 'demo://resource/session/fwd.txt.gz');
        await peer.inbox.wait('notifications/resources/list_changed', undefined, { from });
        const listed = await peer.client.listResources();
        assert.ok(
          listed.resources.some((r) => r.uri === link.uri),
          'the new resource is listed',
        );
        const read = await peer.client.readResource({ uri: link.uri });
        assert.equal((read.contents[0] as { mimeType?: string }).mimeType, 'application/gzip');
      } finally {
        await peer.close();
      }
    },
  );

  test(
    'notifications/tools/list_changed sent right after initialization reaches a client whose standalone stream opens a moment later',
    { timeout: TIMEOUT },
    async () => {
      // server-everything registers its capability-dependent tools when it receives
      // notifications/initialized (simulate-research-query always), and each registration sends
      // notifications/tools/list_changed. A direct client always receives them.
      const plain = await direct();
      try {
        await plain.inbox.wait('notifications/tools/list_changed');
      } finally {
        await plain.close();
      }

      // Behind Warden, the same client, except that its GET (opened, as the SDK does, after
      // notifications/initialized) takes a moment longer to reach the fx.daemon.
      let release!: () => void;
      const hold = new Promise<void>((resolve) => (release = resolve));
      const peer = await connectHttp(fx.daemon, {}, undefined, hold);
      try {
        // server-everything writes its list_changed before it answers anything that came after
        // notifications/initialized, and Warden handles upstream messages in order: once this
        // ping is answered, Warden has had the notification in hand.
        assert.deepEqual(await peer.client.ping(), {});
        release();
        await peer.standaloneOpen;
        // A marker on the same (ordered) standalone stream: when it arrives, everything Warden
        // put on that stream before it has arrived too.
        const data = `data:text/plain;base64,${Buffer.from('marker').toString('base64')}`;
        await call(peer.client, 'gzip-file-as-resource', { name: 'marker.gz', data });
        await peer.inbox.wait('notifications/resources/list_changed');
        const methods = peer.inbox.seen.map((n) => n.method);
        assert.ok(
          methods.includes('notifications/tools/list_changed'),
          `the tools/list_changed the server sent after initialization never reached the client (received: ${methods.join(', ')})`,
        );
      } finally {
        await peer.close();
      }
    },
  );

  test(
    'messages waiting for the standalone stream survive a GET the transport refuses (406) before it opens',
    {
      timeout: TIMEOUT,
    },
    async () => {
      let release!: () => void;
      const hold = new Promise<void>((resolve) => (release = resolve));
      const peer = await connectHttp(fx.daemon, {}, undefined, hold);
      try {
        // As above: once this ping is answered, the post-initialize list_changed waits in Warden.
        assert.deepEqual(await peer.client.ping(), {});
        const refused = await fetch(new URL('/mcp/everything', fx.daemon.url), {
          method: 'GET',
          headers: {
            authorization: `Bearer ${fx.daemon.token}`,
            accept: 'application/json', // not text/event-stream: refused
            'mcp-session-id': peer.transport.sessionId!,
            'mcp-protocol-version': peer.transport.protocolVersion!,
          },
        });
        assert.equal(refused.status, 406);
        await refused.text();
        release();
        await peer.standaloneOpen;
        const data = `data:text/plain;base64,${Buffer.from('marker').toString('base64')}`;
        await call(peer.client, 'gzip-file-as-resource', { name: 'marker-406.gz', data });
        await peer.inbox.wait('notifications/resources/list_changed');
        const methods = peer.inbox.seen.map((n) => n.method);
        assert.ok(
          methods.includes('notifications/tools/list_changed'),
          `the queued tools/list_changed was lost to the refused GET (received: ${methods.join(', ')})`,
        );
      } finally {
        await peer.close();
      }
    },
  );

  test(
    'a refused second GET does not stop delivery on the standalone stream that is still open',
    {
      timeout: TIMEOUT,
    },
    async () => {
      const peer = await connectHttp(fx.daemon);
      try {
        await peer.standaloneOpen;
        // Only one standalone stream per session: the transport refuses a second one (409)...
        const second = await fetch(new URL('/mcp/everything', fx.daemon.url), {
          method: 'GET',
          headers: {
            authorization: `Bearer ${fx.daemon.token}`,
            accept: 'text/event-stream',
            'mcp-session-id': peer.transport.sessionId!,
            'mcp-protocol-version': peer.transport.protocolVersion!,
          },
        });
        assert.equal(second.status, 409);
        await second.text();
        // ...which must not matter to the first: a list_changed still arrives on it. (The server
        // sends it before the call's result; on loopback it follows within milliseconds.)
        const from = peer.inbox.mark();
        const data = `data:text/plain;base64,${Buffer.from('after a 409').toString('base64')}`;
        await call(peer.client, 'gzip-file-as-resource', { name: 'after-409.gz', data });
        await peer.inbox.wait('notifications/resources/list_changed', undefined, { from, timeoutMs: 5000 });
      } finally {
        await peer.close();
      }
    },
  );
});
