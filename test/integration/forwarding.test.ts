/**
 * Warden forwards the whole MCP protocol as it is, in both directions: every case runs the real
 * server-everything through the real daemon (SDK Client over Streamable HTTP, and for the
 * server-to-client requests also through the connect shim) and, where the answer is
 * deterministic, compares it with what the same server answers a client connected to it
 * directly over stdio.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import {
  CallToolResultSchema,
  CreateMessageRequestSchema,
  CreateTaskResultSchema,
  GetTaskResultSchema,
  ListTasksResultSchema,
  ElicitRequestSchema,
  ListRootsRequestSchema,
  type CallToolResult,
  type ClientCapabilities,
  type CreateMessageRequest,
  type ElicitRequest,
  type Notification,
  type Progress,
  type Root,
} from '@modelcontextprotocol/sdk/types.js';
import { AuditReader } from '../../main/core/audit/audit-reader.ts';
import { resultText } from '../helpers/sdk-client.ts';
import {
  CLI,
  EVERYTHING_JS,
  NODE,
  everythingServer,
  makeWardenEnv,
  startDaemonProcess,
  waitFor,
  type DaemonProcess,
  type WardenEnv,
} from '../helpers/warden-env.ts';

const TIMEOUT = 60_000;
/** How long to wait for a notification that should arrive (server-everything's pace is 5 s). */
const NOTIFICATION_WAIT_MS = 15_000;

const CLIENT_INFO = { name: 'forwarding-test-client', version: '7.8.9' };
/** A client that can answer every server-to-client request server-everything makes. */
const CAPABLE: ClientCapabilities = { sampling: {}, elicitation: { form: {} }, roots: { listChanged: true } };

/** Notifications a client received that no built-in handler took, and a way to wait for one. */
class Inbox {
  readonly seen: Notification[] = [];
  #waiters: { match: (n: Notification) => boolean; resolve: (n: Notification) => void }[] = [];

  push(notification: Notification): void {
    this.seen.push(notification);
    this.#waiters = this.#waiters.filter((w) => {
      if (!w.match(notification)) return true;
      w.resolve(notification);
      return false;
    });
  }

  /** Positions to wait "from": only notifications received after `mark()` count. */
  mark(): number {
    return this.seen.length;
  }

  since(mark: number, method?: string): Notification[] {
    return this.seen.slice(mark).filter((n) => method === undefined || n.method === method);
  }

  /** The first notification at or after `from` that matches; rejects after `timeoutMs`. */
  wait(
    method: string,
    predicate: (n: Notification) => boolean = () => true,
    options: { from?: number; timeoutMs?: number } = {},
  ): Promise<Notification> {
    const match = (n: Notification): boolean => n.method === method && predicate(n);
    const already = this.seen.slice(options.from ?? 0).find(match);
    if (already) return Promise.resolve(already);
    const timeoutMs = options.timeoutMs ?? NOTIFICATION_WAIT_MS;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters = this.#waiters.filter((w) => w.resolve !== done);
        const got = this.seen.map((n) => n.method).join(', ') || 'none';
        reject(new Error(`no ${method} within ${timeoutMs} ms (received: ${got})`));
      }, timeoutMs);
      const done = (n: Notification): void => {
        clearTimeout(timer);
        resolve(n);
      };
      this.#waiters.push({ match, resolve: done });
    });
  }
}

interface Peer {
  client: Client;
  inbox: Inbox;
  /** Errors the client's protocol layer reported (e.g. progress for an unknown token). */
  errors: Error[];
  /**
   * Over HTTP: resolves once the daemon has accepted the client's standalone GET SSE stream,
   * the only way to messages that belong to no request (list_changed, resources/updated,
   * server requests and log messages while no request is open). Resolved at once otherwise.
   */
  standaloneOpen: Promise<void>;
  close(): Promise<void>;
}

/** A peer connected over HTTP, with its transport (session id, negotiated protocol version). */
interface HttpPeer extends Peer {
  transport: StreamableHTTPClientTransport;
}

type Setup = (client: Client) => void;

async function connect(
  transport: Transport,
  capabilities: ClientCapabilities,
  setup?: Setup,
  standaloneOpen: Promise<void> = Promise.resolve(),
): Promise<Peer> {
  const client = new Client(CLIENT_INFO, { capabilities });
  const inbox = new Inbox();
  const errors: Error[] = [];
  client.fallbackNotificationHandler = (n) => {
    inbox.push(n);
    return Promise.resolve();
  };
  client.onerror = (error) => errors.push(error);
  setup?.(client);
  await client.connect(transport);
  return { client, inbox, errors, standaloneOpen, close: () => client.close() };
}

/** server-everything spawned directly over stdio: the reference answers. */
function connectDirect(capabilities: ClientCapabilities = {}, setup?: Setup): Promise<Peer> {
  const transport = new StdioClientTransport({
    command: NODE,
    args: [EVERYTHING_JS, 'stdio'],
    stderr: 'pipe',
  });
  return connect(transport, capabilities, setup);
}

/**
 * The same server behind Warden, over the daemon's Streamable HTTP endpoint.
 * @param holdStandalone the client's GET (standalone SSE stream) request waits for it.
 */
async function connectHttp(
  daemon: DaemonProcess,
  capabilities: ClientCapabilities = {},
  setup?: Setup,
  holdStandalone?: Promise<void>,
): Promise<HttpPeer> {
  let opened!: () => void;
  const standaloneOpen = new Promise<void>((resolve) => (opened = resolve));
  const watchingFetch: typeof fetch = async (input, init) => {
    if (init?.method !== 'GET') return fetch(input, init);
    await holdStandalone;
    const response = await fetch(input, init);
    // The server transport registers the stream before it answers the GET.
    if (response.ok) opened();
    return response;
  };
  const transport = new StreamableHTTPClientTransport(new URL('/mcp/everything', daemon.url), {
    requestInit: { headers: { authorization: `Bearer ${daemon.token}` } },
    fetch: watchingFetch,
  });
  const peer = await connect(transport, capabilities, setup, standaloneOpen);
  return Object.assign(peer, { transport });
}

/** The same server behind Warden, through the connect shim (`mcp-warden connect everything`). */
function connectShim(w: WardenEnv, capabilities: ClientCapabilities = {}, setup?: Setup): Promise<Peer> {
  const transport = new StdioClientTransport({
    command: CLI,
    args: ['connect', 'everything'],
    env: w.env as Record<string, string>,
    stderr: 'pipe',
  });
  return connect(transport, capabilities, setup);
}

/** Runs `fn` with a direct peer and a Warden peer, closing both afterwards. */
async function both<T>(
  open: () => Promise<Peer>,
  openDirect: () => Promise<Peer>,
  fn: (warden: Peer, direct: Peer) => T | Promise<T>,
): Promise<T> {
  const [warden, direct] = await Promise.all([open(), openDirect()]);
  try {
    return await fn(warden, direct);
  } finally {
    await Promise.allSettled([warden.close(), direct.close()]);
  }
}

function call(
  client: Client,
  name: string,
  args: Record<string, unknown> = {},
  options: { onprogress?: (p: Progress) => void; signal?: AbortSignal; timeout?: number } = {},
): Promise<CallToolResult> {
  return client.request({ method: 'tools/call', params: { name, arguments: args } }, CallToolResultSchema, {
    timeout: options.timeout ?? TIMEOUT,
    ...options,
  });
}

/** A resource read result without the timestamp server-everything puts into dynamic content. */
function withoutTimestamps<T>(value: T): T {
  return JSON.parse(
    JSON.stringify(value)
      .replace(/created at [^"]*"/g, 'created at <time>"')
      .replace(/"blob":"[^"]*"/g, '"blob":"<blob>"'),
  ) as T;
}

/** A value with task ids (random per server) replaced. */
function stripTaskIds<T>(value: T): T {
  return JSON.parse(JSON.stringify(value).replace(/"taskId":"[^"]*"/g, '"taskId":"<id>"')) as T;
}

/**
 * server-everything, allowed to run and every tool call allowed: what is under test here is the
 * forwarding, not the guard.
 */
function wardenConfig(): Record<string, unknown> {
  return {
    policy: {
      servers: [{ command: NODE, args: [EVERYTHING_JS, 'stdio'] }],
      rules: [{ server: 'everything', tool: '*', action: 'allow' }],
    },
    mcpServers: { everything: everythingServer() },
  };
}

function decodeBlob(blob: string): string {
  return Buffer.from(blob, 'base64').toString('utf8');
}

describe('forwarding: client-to-server requests and server notifications, as they are', () => {
  let w: WardenEnv;
  let daemon: DaemonProcess;
  const http = (): Promise<Peer> => connectHttp(daemon);
  const direct = (): Promise<Peer> => connectDirect();

  before(async () => {
    w = makeWardenEnv();
    w.writeConfig(wardenConfig());
    daemon = await startDaemonProcess(w);
  });

  after(async () => {
    await daemon?.stop();
    w?.cleanup();
  });

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

  test('ping is answered', { timeout: TIMEOUT }, async () => {
    const peer = await http();
    try {
      assert.deepEqual(await peer.client.ping(), {});
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
      // notifications/initialized) takes a moment longer to reach the daemon.
      let release!: () => void;
      const hold = new Promise<void>((resolve) => (release = resolve));
      const peer = await connectHttp(daemon, {}, undefined, hold);
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
      const peer = await connectHttp(daemon, {}, undefined, hold);
      try {
        // As above: once this ping is answered, the post-initialize list_changed waits in Warden.
        assert.deepEqual(await peer.client.ping(), {});
        const refused = await fetch(new URL('/mcp/everything', daemon.url), {
          method: 'GET',
          headers: {
            authorization: `Bearer ${daemon.token}`,
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
      const peer = await connectHttp(daemon);
      try {
        await peer.standaloneOpen;
        // Only one standalone stream per session: the transport refuses a second one (409)...
        const second = await fetch(new URL('/mcp/everything', daemon.url), {
          method: 'GET',
          headers: {
            authorization: `Bearer ${daemon.token}`,
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

describe('forwarding: progress and cancellation', () => {
  let w: WardenEnv;
  let daemon: DaemonProcess;

  before(async () => {
    w = makeWardenEnv();
    w.writeConfig(wardenConfig());
    daemon = await startDaemonProcess(w);
  });

  after(async () => {
    await daemon?.stop();
    w?.cleanup();
  });

  test('progress notifications of a tools/call reach its onprogress callback', { timeout: TIMEOUT }, () =>
    both(
      () => connectHttp(daemon),
      () => connectDirect(),
      async (viaWarden, plain) => {
        const run = async (peer: Peer) => {
          const progress: Progress[] = [];
          const result = await call(
            peer.client,
            'trigger-long-running-operation',
            { duration: 1, steps: 4 },
            { onprogress: (p) => progress.push(p) },
          );
          return { progress, result };
        };
        const [mine, theirs] = await Promise.all([run(viaWarden), run(plain)]);
        assert.deepEqual(
          mine.progress,
          [1, 2, 3, 4].map((progress) => ({ progress, total: 4 })),
        );
        // The direct stdio client can miss the last one: when the final progress and the result
        // arrive in one chunk, the SDK client handles the result first and then drops the progress
        // for an unknown token. What it got is a prefix of what the server sent.
        assert.ok(theirs.progress.length >= 3, `direct progress: ${JSON.stringify(theirs.progress)}`);
        assert.deepEqual(theirs.progress, mine.progress.slice(0, theirs.progress.length));
        assert.deepEqual(mine.result, theirs.result);
        assert.match(
          resultText(mine.result),
          /Long running operation completed\. Duration: 1 seconds, Steps: 4\./,
        );
        assert.deepEqual(viaWarden.errors, []);
      },
    ),
  );

  test(
    'an aborted tools/call is cancelled quickly, audited as cancelled, and the session goes on',
    { timeout: TIMEOUT },
    async () => {
      const peer = await connectHttp(daemon);
      try {
        const controller = new AbortController();
        let firstProgress!: () => void;
        const running = new Promise<void>((resolve) => (firstProgress = resolve));
        const duration = 40; // a unique argument, to find the call in the audit log
        const pending = call(
          peer.client,
          'trigger-long-running-operation',
          { duration, steps: duration },
          { signal: controller.signal, onprogress: () => firstProgress() },
        );
        // The call is really running upstream once its first progress arrives.
        await running;
        const abortedAt = performance.now();
        controller.abort(new Error('the user stopped it'));
        await assert.rejects(pending, /the user stopped it/);
        assert.ok(performance.now() - abortedAt < 2000, 'the abort took too long');

        // The session still works.
        assert.deepEqual(await peer.client.ping(), {});
        const echo = await call(peer.client, 'echo', { message: 'still here' });
        assert.equal(resultText(echo), 'Echo: still here');

        // The audit log says the call was cancelled (recorded when the cancellation reached Warden).
        const reader = AuditReader.open(w.paths.auditDb);
        try {
          const row = await waitFor(
            () =>
              reader
                .latest(50)
                .find(
                  (r) =>
                    r.tool === 'trigger-long-running-operation' &&
                    (r.arguments as { duration?: number } | null)?.duration === duration &&
                    r.outcome !== null,
                ),
            10_000,
            'the audit outcome of the cancelled call',
          );
          assert.equal(row.outcome, 'cancelled');
          assert.equal(row.clientName, CLIENT_INFO.name);
          assert.ok(typeof row.durationMs === 'number' && row.durationMs < 10_000);
          const echoRow = reader
            .latest(50)
            .find((r) => (r.arguments as { message?: string } | null)?.message === 'still here');
          assert.equal(echoRow?.outcome, 'ok');
        } finally {
          reader.close();
        }
      } finally {
        await peer.close();
      }
    },
  );
});

describe('forwarding: server-to-client requests (sampling, elicitation, roots)', () => {
  let w: WardenEnv;
  let daemon: DaemonProcess;

  before(async () => {
    w = makeWardenEnv();
    w.writeConfig(wardenConfig());
    daemon = await startDaemonProcess(w);
  });

  after(async () => {
    await daemon?.stop();
    w?.cleanup();
  });

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
        () => connectHttp(daemon, CAPABLE, answering(newLog())),
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
        () => connectHttp(daemon, CAPABLE, answering(mineLog)),
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
        () => connectHttp(daemon, CAPABLE, answering(mineLog)),
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
        daemon,
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
      const peer = await connectShim(w, CAPABLE, answering(log));
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
