import type { ServerResponse } from 'node:http';
import type { JSONRPCMessage } from '@modelcontextprotocol/server';

/** A comment line is sent on an idle event stream this often, ms (the MCP SDK's default, 15 s). */
export const SSE_KEEP_ALIVE_MS = 15_000;

/**
 * The response headers of an event stream of session `sessionId` (MCP 2025-11-25,
 * basic/transports); without one (2026-07-28: no sessions) no Mcp-Session-Id.
 */
export function sseHeaders(sessionId: string | undefined): Record<string, string> {
  return {
    'content-type': 'text/event-stream',
    'cache-control': 'no-cache, no-transform',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
    ...(sessionId === undefined ? {} : { 'mcp-session-id': sessionId }),
  };
}

/**
 * One server-sent event stream on a node:http response (HTML Living Standard, "Server-sent
 * events"): each JSON-RPC message is one `message` event whose data is the message as JSON (one
 * line: JSON.stringify escapes every line break). A comment every `keepAliveMs` keeps proxies
 * and idle timers from closing a quiet stream. The headers are sent at once, so a client waiting
 * for the response (a standalone GET) sees it open before any event.
 */
export class SseStream {
  readonly #res: ServerResponse;
  readonly #keepAlive: NodeJS.Timeout | undefined;
  #ended = false;

  constructor(res: ServerResponse, sessionId: string | undefined, keepAliveMs = SSE_KEEP_ALIVE_MS) {
    this.#res = res;
    res.writeHead(200, sseHeaders(sessionId));
    res.flushHeaders();
    if (keepAliveMs > 0) {
      this.#keepAlive = setInterval(() => {
        if (this.open) res.write(': keepalive\n\n');
      }, keepAliveMs);
      this.#keepAlive.unref();
    }
    res.once('close', () => this.#stop());
  }

  /** True until the stream is ended here or the client goes away. */
  get open(): boolean {
    return !this.#ended && !this.#res.destroyed && !this.#res.writableEnded;
  }

  /** Writes one event; false (nothing written) when the stream is no longer open. */
  write(message: JSONRPCMessage): boolean {
    if (!this.open) return false;
    this.#res.write(`event: message\ndata: ${JSON.stringify(message)}\n\n`);
    return true;
  }

  /** Ends the stream (the response). */
  end(): void {
    const wasOpen = this.open;
    this.#stop();
    if (wasOpen) this.#res.end();
  }

  #stop(): void {
    this.#ended = true;
    if (this.#keepAlive) clearInterval(this.#keepAlive);
  }
}
