/**
 * Warden forwards server-to-client requests (sampling/createMessage, elicitation/create,
 * roots/list) to the client and its answers back: the real server-everything through the real
 * daemon, over Streamable HTTP and through the connect shim, compared with a client connected
 * to it directly (test/helpers/forwarding-peers.ts).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  CreateMessageRequestSchema,
  ElicitRequestSchema,
  ListRootsRequestSchema,
  type CreateMessageRequest,
  type ElicitRequest,
  type Root,
} from '@modelcontextprotocol/sdk/types.js';
import { useDaemonFixture } from '../helpers/daemon-fixture.ts';
import {
  CAPABLE,
  TIMEOUT,
  both,
  call,
  connectDirect,
  connectHttp,
  connectShim,
  wardenConfig,
  type Setup,
} from '../helpers/forwarding-peers.ts';
import { resultText } from '../helpers/sdk-client.ts';

describe('forwarding: server-to-client requests (sampling, elicitation, roots)', () => {
  const fx = useDaemonFixture({ config: wardenConfig() });
  const ROOTS: Root[] = [
    { uri: 'file:///tmp/warden-forwarding/project-a', name: 'Project A' },
    { uri: 'file:///tmp/warden-forwarding/project-b', name: 'Project B' },
  ];

  /** Handlers answering sampling, elicitation and roots, recording what they were asked. */
  function answering(
    log: { sampling: CreateMessageRequest[]; elicitation: ElicitRequest[]; roots: number },
    roots = () => ROOTS,
  ): Setup {
    return (client) => {
      client.setRequestHandler(CreateMessageRequestSchema, (request) => {
        log.sampling.push(request);
        return {
          model: 'warden-test-model',
          role: 'assistant',
          stopReason: 'endTurn',
          content: {
            type: 'text',
            text: `sampled: ${(request.params.messages[0]?.content as { text?: string }).text}`,
          },
        };
      });
      client.setRequestHandler(ElicitRequestSchema, (request) => {
        log.elicitation.push(request);
        return {
          action: 'accept',
          content: { name: 'Ada Lovelace', check: true, integer: 7, untitledSingleSelectEnum: 'Joey' },
        };
      });
      client.setRequestHandler(ListRootsRequestSchema, () => {
        log.roots++;
        return { roots: roots() };
      });
    };
  }

  const newLog = () => ({
    sampling: [] as CreateMessageRequest[],
    elicitation: [] as ElicitRequest[],
    roots: 0,
  });

  test(
    'a capable client sees the same tools/list as directly (capability-dependent tools included)',
    { timeout: TIMEOUT },
    () =>
      both(
        () => connectHttp(fx.daemon, CAPABLE, answering(newLog())),
        () => connectDirect(CAPABLE, answering(newLog())),
        async (viaWarden, plain) => {
          const mine = await viaWarden.client.listTools();
          const names = mine.tools.map((t) => t.name);
          for (const name of ['trigger-sampling-request', 'trigger-elicitation-request', 'get-roots-list'])
            assert.ok(names.includes(name), `${name} is not listed: ${names.join(', ')}`);
          assert.deepEqual(mine, await plain.client.listTools());
        },
      ),
  );

  test(
    'sampling/createMessage: the request reaches the client and its answer is in the tool result',
    { timeout: TIMEOUT },
    async () => {
      const mineLog = newLog();
      const theirLog = newLog();
      await both(
        () => connectHttp(fx.daemon, CAPABLE, answering(mineLog)),
        () => connectDirect(CAPABLE, answering(theirLog)),
        async (viaWarden, plain) => {
          const args = { prompt: 'how are you?', maxTokens: 33 };
          const result = await call(viaWarden.client, 'trigger-sampling-request', args);
          assert.equal(result.isError ?? false, false, resultText(result));
          const text = resultText(result);
          assert.match(text, /warden-test-model/);
          assert.match(text, /sampled: Resource trigger-sampling-request context: how are you\?/);
          assert.equal(mineLog.sampling.length, 1);
          const params = mineLog.sampling[0]!.params;
          assert.equal(params.maxTokens, 33);
          assert.equal(params.systemPrompt, 'You are a helpful test server.');

          const direct = await call(plain.client, 'trigger-sampling-request', args);
          assert.deepEqual(result, direct);
          assert.deepEqual(mineLog.sampling, theirLog.sampling);
        },
      );
    },
  );

  test(
    'elicitation/create: the request reaches the client and its answer is in the tool result',
    { timeout: TIMEOUT },
    async () => {
      const mineLog = newLog();
      const theirLog = newLog();
      await both(
        () => connectHttp(fx.daemon, CAPABLE, answering(mineLog)),
        () => connectDirect(CAPABLE, answering(theirLog)),
        async (viaWarden, plain) => {
          const result = await call(viaWarden.client, 'trigger-elicitation-request');
          assert.equal(result.isError ?? false, false, resultText(result));
          const text = resultText(result);
          assert.match(text, /User provided the requested information/);
          assert.match(text, /- Name: Ada Lovelace/);
          assert.match(text, /- Agreed to terms: true/);
          assert.match(text, /- Favorite Integer: 7/);
          assert.equal(mineLog.elicitation.length, 1);
          assert.equal(
            mineLog.elicitation[0]!.params.message,
            'Please provide inputs for the following fields:',
          );

          const direct = await call(plain.client, 'trigger-elicitation-request');
          assert.deepEqual(result, direct);
          assert.deepEqual(mineLog.elicitation, theirLog.elicitation);
        },
      );
    },
  );

  test(
    "roots/list: the client's roots reach the server, also after notifications/roots/list_changed",
    { timeout: TIMEOUT },
    async () => {
      const log = newLog();
      let roots = ROOTS;
      const peer = await connectHttp(
        fx.daemon,
        CAPABLE,
        answering(log, () => roots),
      );
      try {
        const result = await call(peer.client, 'get-roots-list');
        const text = resultText(result);
        assert.match(text, /Current MCP Roots \(2 total\)/);
        for (const root of ROOTS) {
          assert.ok(text.includes(root.uri), `${root.uri} missing from: ${text}`);
          assert.ok(text.includes(root.name!), `${root.name} missing from: ${text}`);
        }
        assert.ok(log.roots >= 1);

        // The client changes its roots and says so; the server asks again and logs what it got.
        roots = [{ uri: 'file:///tmp/warden-forwarding/project-c', name: 'Project C' }];
        // The server's roots/list and its log message then belong to no request: standalone stream.
        await peer.standaloneOpen;
        const from = peer.inbox.mark();
        const asked = log.roots;
        await peer.client.sendRootsListChanged();
        await peer.inbox.wait(
          'notifications/message',
          (n) => n.params?.data === 'Roots updated: 1 root(s) received from client',
          { from },
        );
        assert.ok(log.roots > asked, 'roots/list was asked again');
        const again = resultText(await call(peer.client, 'get-roots-list'));
        assert.match(again, /Current MCP Roots \(1 total\)/);
        assert.match(again, /Project C\n\s+URI: file:\/\/\/tmp\/warden-forwarding\/project-c/);
      } finally {
        await peer.close();
      }
    },
  );

  test(
    'through the connect shim: sampling, elicitation and roots all flow back to the server',
    { timeout: TIMEOUT },
    async () => {
      const log = newLog();
      const peer = await connectShim(fx.w, CAPABLE, answering(log));
      try {
        assert.equal(peer.client.getServerVersion()?.name, 'mcp-servers/everything');

        const sampled = await call(peer.client, 'trigger-sampling-request', {
          prompt: 'via the shim',
          maxTokens: 5,
        });
        assert.match(resultText(sampled), /sampled: Resource trigger-sampling-request context: via the shim/);
        assert.match(resultText(sampled), /warden-test-model/);
        assert.equal(log.sampling.at(-1)?.params.maxTokens, 5);

        const elicited = await call(peer.client, 'trigger-elicitation-request');
        assert.match(resultText(elicited), /- Name: Ada Lovelace/);
        assert.equal(log.elicitation.length, 1);

        const rooted = resultText(await call(peer.client, 'get-roots-list'));
        assert.match(rooted, /Current MCP Roots \(2 total\)/);
        assert.ok(rooted.includes(ROOTS[1]!.uri), rooted);
        assert.ok(log.roots >= 1);
      } finally {
        await peer.close();
      }
    },
  );
});
