/**
 * Warden forwards client-to-server requests as they are: the real server-everything through the
 * real daemon (SDK Client over Streamable HTTP), each answer compared, where it is
 * deterministic, with what the same server answers a client connected to it directly over stdio
 * (test/helpers/forwarding-peers.ts). Server notifications: forwarding-notifications.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import {
  CallToolResultSchema,
  CreateTaskResultSchema,
  GetTaskResultSchema,
  ListTasksResultSchema,
} from '@modelcontextprotocol/sdk/types.js';
import { useDaemonFixture } from '../helpers/daemon-fixture.ts';
import {
  TIMEOUT,
  both,
  connectDirect,
  connectHttp,
  decodeBlob,
  stripTaskIds,
  wardenConfig,
  withoutTimestamps,
  type Peer,
} from '../helpers/forwarding-peers.ts';
import { resultText } from '../helpers/sdk-client.ts';

describe('forwarding: client-to-server requests and server notifications, as they are', () => {
  const fx = useDaemonFixture({ config: wardenConfig() });
  const http = (): Promise<Peer> => connectHttp(fx.daemon);
  const direct = (): Promise<Peer> => connectDirect();

  test(
    'initialize: serverInfo, capabilities and instructions equal the direct ones',
    { timeout: TIMEOUT },
    () =>
      both(http, direct, (viaWarden, plain) => {
        assert.deepEqual(viaWarden.client.getServerVersion(), plain.client.getServerVersion());
        assert.equal(viaWarden.client.getServerVersion()?.name, 'mcp-servers/everything');
        assert.deepEqual(viaWarden.client.getServerCapabilities(), plain.client.getServerCapabilities());
        assert.ok(viaWarden.client.getServerCapabilities()?.resources?.subscribe);
        const instructions = viaWarden.client.getInstructions();
        assert.ok(instructions && instructions.length > 100, 'instructions arrived');
        assert.equal(instructions, plain.client.getInstructions());
      }),
  );

  test('tools/list equals the direct list (no tool lists configured)', { timeout: TIMEOUT }, () =>
    both(http, direct, async (viaWarden, plain) => {
      const [mine, theirs] = await Promise.all([viaWarden.client.listTools(), plain.client.listTools()]);
      assert.ok(mine.tools.length >= 10, `only ${mine.tools.length} tools`);
      assert.deepEqual(mine, theirs);
    }),
  );

  test(
    'errors come back as the server sent them: unknown method, invalid tool arguments, unknown prompt',
    { timeout: TIMEOUT },
    () =>
      both(http, direct, async (viaWarden, plain) => {
        const outcome = (p: Promise<unknown>) =>
          p.then(
            (result) => ({ result }),
            (e: unknown) => ({
              error: { code: (e as { code?: number }).code, message: (e as Error).message },
            }),
          );
        // (A call to a tool the server does not offer is refused by Warden's guard itself: not
        // forwarding, so not compared here.)
        const cases: [string, (c: Client) => Promise<unknown>][] = [
          [
            'unknown method',
            (c) => c.request({ method: 'warden/no-such-method', params: {} }, CallToolResultSchema),
          ],
          [
            'invalid params',
            (c) =>
              c.request(
                { method: 'tools/call', params: { name: 'get-sum', arguments: { a: 'x' } } },
                CallToolResultSchema,
              ),
          ],
          ['unknown prompt', (c) => c.getPrompt({ name: 'no-such-prompt' })],
        ];
        for (const [what, send] of cases) {
          const mine = await outcome(send(viaWarden.client));
          const theirs = await outcome(send(plain.client));
          assert.deepEqual(mine, theirs, what);
        }
        const method = await outcome(
          viaWarden.client.request({ method: 'warden/no-such-method', params: {} }, CallToolResultSchema),
        );
        assert.equal((method as { error?: { code?: number } }).error?.code, -32601);
      }),
  );

  test(
    'resources/list, resources/templates/list and reading template-expanded resources',
    { timeout: TIMEOUT },
    () =>
      both(http, direct, async (viaWarden, plain) => {
        const resources = await viaWarden.client.listResources();
        assert.ok(resources.resources.length > 0, 'static resources are listed');
        assert.deepEqual(resources, await plain.client.listResources());

        const templates = await viaWarden.client.listResourceTemplates();
        const uriTemplates = templates.resourceTemplates.map((t) => t.uriTemplate);
        assert.ok(
          uriTemplates.includes('demo://resource/dynamic/text/{resourceId}'),
          uriTemplates.join(', '),
        );
        assert.deepEqual(templates, await plain.client.listResourceTemplates());

        const text = await viaWarden.client.readResource({ uri: 'demo://resource/dynamic/text/7' });
        const first = text.contents[0] as { uri: string; mimeType?: string; text?: string };
        assert.equal(first.uri, 'demo://resource/dynamic/text/7');
        assert.equal(first.mimeType, 'text/plain');
        assert.match(first.text ?? '', /^Resource 7: This is a plaintext resource created at /);
        const plainText = await plain.client.readResource({ uri: 'demo://resource/dynamic/text/7' });
        assert.deepEqual(withoutTimestamps(text), withoutTimestamps(plainText));

        const blob = await viaWarden.client.readResource({ uri: 'demo://resource/dynamic/blob/3' });
        const blobItem = blob.contents[0] as { uri: string; blob?: string };
        assert.equal(blobItem.uri, 'demo://resource/dynamic/blob/3');
        assert.match(decodeBlob(blobItem.blob ?? ''), /^Resource 3: This is a base64 blob created at /);
        const plainBlob = await plain.client.readResource({ uri: 'demo://resource/dynamic/blob/3' });
        assert.deepEqual(withoutTimestamps(blob), withoutTimestamps(plainBlob));

        // A static (file-backed) resource is byte-for-byte the same.
        const staticUri = resources.resources[0]!.uri;
        assert.deepEqual(
          await viaWarden.client.readResource({ uri: staticUri }),
          await plain.client.readResource({ uri: staticUri }),
        );

        // A server error for a bad resource arrives as the same JSON-RPC error.
        const bad = 'demo://resource/dynamic/text/0';
        const [mineErr, theirErr] = await Promise.all([
          viaWarden.client.readResource({ uri: bad }).then(
            () => assert.fail('reading a bad resource succeeded'),
            (e: unknown) => e as { code: number; message: string },
          ),
          plain.client.readResource({ uri: bad }).then(
            () => assert.fail('reading a bad resource succeeded'),
            (e: unknown) => e as { code: number; message: string },
          ),
        ]);
        assert.equal(mineErr.code, theirErr.code);
        assert.equal(mineErr.message, theirErr.message);
      }),
  );

  test('prompts/list and prompts/get with arguments equal the direct answers', { timeout: TIMEOUT }, () =>
    both(http, direct, async (viaWarden, plain) => {
      const prompts = await viaWarden.client.listPrompts();
      assert.ok(prompts.prompts.some((p) => p.name === 'args-prompt'));
      assert.deepEqual(prompts, await plain.client.listPrompts());

      const request = { name: 'args-prompt', arguments: { city: 'Lyon', state: 'Rhône' } };
      const got = await viaWarden.client.getPrompt(request);
      assert.deepEqual(got.messages, [
        { role: 'user', content: { type: 'text', text: "What's weather in Lyon, Rhône?" } },
      ]);
      assert.deepEqual(got, await plain.client.getPrompt(request));

      const embedded = { name: 'resource-prompt', arguments: { resourceType: 'Text', resourceId: '5' } };
      assert.deepEqual(
        withoutTimestamps(await viaWarden.client.getPrompt(embedded)),
        withoutTimestamps(await plain.client.getPrompt(embedded)),
      );
    }),
  );

  test(
    'completion/complete for a prompt argument (with context) and a resource template argument',
    { timeout: TIMEOUT },
    () =>
      both(http, direct, async (viaWarden, plain) => {
        const department = {
          ref: { type: 'ref/prompt' as const, name: 'completable-prompt' },
          argument: { name: 'department', value: 'S' },
        };
        const got = await viaWarden.client.complete(department);
        assert.deepEqual(got.completion.values, ['Sales', 'Support']);
        assert.deepEqual(got, await plain.client.complete(department));

        const withContext = {
          ref: { type: 'ref/prompt' as const, name: 'completable-prompt' },
          argument: { name: 'name', value: '' },
          context: { arguments: { department: 'Engineering' } },
        };
        const names = await viaWarden.client.complete(withContext);
        assert.deepEqual(names.completion.values, ['Alice', 'Bob', 'Charlie']);
        assert.deepEqual(names, await plain.client.complete(withContext));

        const template = {
          ref: { type: 'ref/resource' as const, uri: 'demo://resource/dynamic/text/{resourceId}' },
          argument: { name: 'resourceId', value: '12' },
        };
        const ids = await viaWarden.client.complete(template);
        assert.deepEqual(ids.completion.values, ['12']);
        assert.deepEqual(ids, await plain.client.complete(template));
      }),
  );

  test('ping is answered', { timeout: TIMEOUT }, async () => {
    const peer = await http();
    try {
      assert.deepEqual(await peer.client.ping(), {});
    } finally {
      await peer.close();
    }
  });

  test(
    'tasks: a task-augmented tools/call, tasks/get, tasks/list and tasks/result',
    { timeout: TIMEOUT },
    () =>
      both(http, direct, async (viaWarden, plain) => {
        const run = async (peer: Peer) => {
          const created = await peer.client.request(
            {
              method: 'tools/call',
              params: {
                name: 'simulate-research-query',
                arguments: { topic: 'faithful proxies' },
                task: { ttl: 60_000 },
              },
            },
            CreateTaskResultSchema,
          );
          const { taskId } = created.task;
          const got = await peer.client.request(
            { method: 'tasks/get', params: { taskId } },
            GetTaskResultSchema,
          );
          const listed = await peer.client.request(
            { method: 'tasks/list', params: {} },
            ListTasksResultSchema,
          );
          // tasks/result waits until the task is done (4 stages of 1 s).
          const result = await peer.client.request(
            { method: 'tasks/result', params: { taskId } },
            CallToolResultSchema,
            { timeout: TIMEOUT },
          );
          return { created, got, listed, result };
        };
        const [mine, theirs] = await Promise.all([run(viaWarden), run(plain)]);
        assert.equal(mine.created.task.status, 'working');
        assert.equal(mine.got.taskId, mine.created.task.taskId);
        assert.ok(
          mine.listed.tasks.some((t) => t.taskId === mine.created.task.taskId),
          'tasks/list has the task',
        );
        assert.match(resultText(mine.result), /faithful proxies/);
        assert.deepEqual(stripTaskIds(mine.result), stripTaskIds(theirs.result));
      }),
  );
});
