import type { StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import type { JSONRPCMessage } from '@modelcontextprotocol/server';
import type { HttpServerConfig } from '../config/schema.ts';
import { describeError, WardenError } from '../errors.ts';
import {
  paramHeaderDeclarations,
  paramHeadersFor,
  type ParamHeaderDeclaration,
} from '../era/param-headers.ts';
import { MODERN_PROTOCOL_VERSION } from '../era/modern.ts';
import type { Logger } from '../log.ts';
import {
  isCheckedError,
  isCheckedNotification,
  isCheckedRequest,
  isCheckedResponse,
  isCheckedResult,
  jsonRpcKindOf,
} from './jsonrpc-check.ts';
import { sdkClient, withHttpStatus } from './sdk-client.ts';
import { resolved, type SecretAccess } from './upstream-secrets.ts';

/**
 * A remote Streamable HTTP server of the 2026-07-28 era (spec basic/transports/streamable-http):
 * each request is its own POST through the SDK v2 client transport, which sets
 * `MCP-Protocol-Version`, `Mcp-Method` and `Mcp-Name` from the body; no session, no GET stream.
 * Warden adds the `Mcp-Param-*` headers a client must mirror, from the `x-mcp-header`
 * declarations of the tools lists that passed through this link (Warden's own pin check reads
 * the list before any call is forwarded). A `notifications/cancelled` from the session becomes
 * what cancels on this transport: the request's POST is aborted (#cancellation), nothing is
 * POSTed. Headers come from the config, secrets resolved at start. OAuth is not offered on this
 * link (a server that asks for it fails the era probe and is served as 2025-11-25).
 */
export class ModernHttpLink {
  onmessage?: (message: JSONRPCMessage) => void;
  onclose?: (reason: string) => void;
  readonly #server: HttpServerConfig;
  readonly #log: Logger;
  readonly #secrets: SecretAccess | undefined;
  readonly #inFlight = new Map<string | number, AbortController>();
  readonly #declarations = new Map<string, ParamHeaderDeclaration[]>();
  #transport: StreamableHTTPClientTransport | undefined;
  #closing = false;

  constructor(server: HttpServerConfig, logger: Logger, secrets?: SecretAccess) {
    this.#server = server;
    this.#log = logger;
    this.#secrets = secrets;
  }

  async start(): Promise<void> {
    const { server } = await resolved(this.#server, this.#secrets);
    this.#log.info(
      { url: this.#server.url, headerKeys: Object.keys(server.headers) },
      `connecting to upstream over HTTP (MCP ${MODERN_PROTOCOL_VERSION})`,
    );
    const transport = new (sdkClient().StreamableHTTPClientTransport)(new URL(server.url), {
      requestInit: { headers: server.headers },
    });
    transport.onmessage = (message) => this.#received(message);
    transport.onerror = (error) => {
      if (!this.#closing) this.#log.warn({ err: describeError(error) }, 'upstream HTTP error');
    };
    this.#transport = transport;
    await transport.start();
  }

  /**
   * Sends one message: a request on a POST of its own (with its Mcp-Param-* headers), a
   * cancellation by aborting that POST.
   * @throws WardenError UPSTREAM_UNAVAILABLE before start; what the transport throws (HTTP errors).
   */
  async send(message: JSONRPCMessage): Promise<void> {
    const transport = this.#transport;
    if (!transport || this.#closing)
      throw new WardenError('UPSTREAM_UNAVAILABLE', 'the HTTP connection is not started');
    if (isCheckedNotification(message) && message.method === 'notifications/cancelled') {
      const id = message.params?.requestId;
      if (typeof id === 'string' || typeof id === 'number') {
        this.#inFlight.get(id)?.abort('cancelled by the client');
        this.#inFlight.delete(id);
      }
      return;
    }
    if (!isCheckedRequest(message)) {
      await transport.send(message);
      return;
    }
    const abort = new AbortController();
    this.#inFlight.set(message.id, abort);
    const name = message.method === 'tools/call' ? message.params?.name : undefined;
    const declarations = typeof name === 'string' ? this.#declarations.get(name) : undefined;
    const headers = declarations ? paramHeadersFor(declarations, message.params?.arguments) : undefined;
    try {
      await transport.send(message, { requestSignal: abort.signal, ...(headers ? { headers } : {}) });
    } catch (error) {
      this.#inFlight.delete(message.id);
      if (abort.signal.aborted) return;
      const answer = errorAnswerIn(error, message.id);
      if (answer) {
        this.onmessage?.(answer);
        return;
      }
      throw withHttpStatus(error);
    }
  }

  #received(message: JSONRPCMessage): void {
    if (isCheckedResponse(message) && message.id !== undefined && message.id !== null) {
      this.#inFlight.delete(message.id);
      if (isCheckedResult(message)) this.#noteTools(message.result);
    }
    this.onmessage?.(message);
  }

  /** Remembers the x-mcp-header declarations of a tools/list page that passes through. */
  #noteTools(result: Record<string, unknown>): void {
    const tools = result.tools;
    if (!Array.isArray(tools)) return;
    for (const tool of tools as { name?: unknown; inputSchema?: unknown }[]) {
      if (typeof tool?.name !== 'string') continue;
      const declarations = paramHeaderDeclarations(tool.inputSchema);
      if (declarations.length > 0) this.#declarations.set(tool.name, declarations);
      else this.#declarations.delete(tool.name);
    }
  }

  async close(): Promise<void> {
    this.#closing = true;
    for (const abort of this.#inFlight.values()) abort.abort('the connection was closed');
    this.#inFlight.clear();
    await this.#transport?.close();
  }

  /** The version travels in each request's `_meta` (and its header); nothing to set. */
  setProtocolVersion(): void {}
}

/**
 * The server's JSON-RPC error answer to request `id` inside an HTTP error the transport threw
 * (spec basic/transports/streamable-http: a 2026-07-28 server answers e.g. method not found
 * with 404 and the error in the body; the SDK client hands over only a 400's body), or
 * undefined when the body is not one (then the HTTP failure stands).
 */
export function errorAnswerIn(error: unknown, id: string | number): JSONRPCMessage | undefined {
  if (!(error instanceof sdkClient().SdkHttpError)) return undefined;
  const text = (error.data as { text?: unknown } | undefined)?.text;
  if (typeof text !== 'string') return undefined;
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (jsonRpcKindOf(body) !== 'response') return undefined;
  const message = body as JSONRPCMessage;
  return isCheckedError(message) && message.id === id ? message : undefined;
}
