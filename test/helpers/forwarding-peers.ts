/**
 * Peers for the forwarding tests: an SDK Client connected to server-everything directly over
 * stdio (the reference answers), and the same client behind Warden, over the daemon's
 * Streamable HTTP endpoint or through the connect shim; with an inbox of the notifications
 * each received, and a way to wait for one.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import {
  CallToolResultSchema,
  type CallToolResult,
  type ClientCapabilities,
  type Notification,
  type Progress,
} from '@modelcontextprotocol/sdk/types.js';
import {
  CLI,
  EVERYTHING_JS,
  NODE,
  everythingServer,
  type DaemonProcess,
  type WardenEnv,
} from './warden-env.ts';

export const TIMEOUT = 60_000;
/** How long to wait for a notification that should arrive (server-everything's pace is 5 s). */
export const NOTIFICATION_WAIT_MS = 15_000;

export const CLIENT_INFO = { name: 'forwarding-test-client', version: '7.8.9' };
/** A client that can answer every server-to-client request server-everything makes. */
export const CAPABLE: ClientCapabilities = {
  sampling: {},
  elicitation: { form: {} },
  roots: { listChanged: true },
};

/** Notifications a client received that no built-in handler took, and a way to wait for one. */
export class Inbox {
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

export interface Peer {
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
export interface HttpPeer extends Peer {
  transport: StreamableHTTPClientTransport;
}

export type Setup = (client: Client) => void;

export async function connect(
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
export function connectDirect(capabilities: ClientCapabilities = {}, setup?: Setup): Promise<Peer> {
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
export async function connectHttp(
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
export function connectShim(
  w: WardenEnv,
  capabilities: ClientCapabilities = {},
  setup?: Setup,
): Promise<Peer> {
  const transport = new StdioClientTransport({
    command: CLI,
    args: ['connect', 'everything'],
    env: w.env as Record<string, string>,
    stderr: 'pipe',
  });
  return connect(transport, capabilities, setup);
}

/** Runs `fn` with a direct peer and a Warden peer, closing both afterwards. */
export async function both<T>(
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

export function call(
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
export function withoutTimestamps<T>(value: T): T {
  return JSON.parse(
    JSON.stringify(value)
      .replace(/created at [^"]*"/g, 'created at <time>"')
      .replace(/"blob":"[^"]*"/g, '"blob":"<blob>"'),
  ) as T;
}

/** A value with task ids (random per server) replaced. */
export function stripTaskIds<T>(value: T): T {
  return JSON.parse(JSON.stringify(value).replace(/"taskId":"[^"]*"/g, '"taskId":"<id>"')) as T;
}

/**
 * server-everything, allowed to run and every tool call allowed: what is under test here is the
 * forwarding, not the guard.
 */
export function wardenConfig(): Record<string, unknown> {
  return {
    policy: {
      servers: [{ command: NODE, args: [EVERYTHING_JS, 'stdio'] }],
      rules: [{ server: 'everything', tool: '*', action: 'allow' }],
    },
    mcpServers: { everything: everythingServer() },
  };
}

export function decodeBlob(blob: string): string {
  return Buffer.from(blob, 'base64').toString('utf8');
}
