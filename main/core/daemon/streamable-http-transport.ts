import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  isInitializeRequest,
  SUPPORTED_PROTOCOL_VERSIONS,
  type JSONRPCMessage,
  type RequestId,
} from '@modelcontextprotocol/server';
import { WardenError } from '../errors.ts';
import { sendJsonRpcError } from './http-answers.ts';
import { isCheckedRequest, isCheckedResponse } from '../bridge/jsonrpc-check.ts';
import { SSE_KEEP_ALIVE_MS, SseStream, sseHeaders } from './streamable-http-sse.ts';

/** At most this many messages wait for a client's standalone stream; older ones are dropped. */
export const MAX_QUEUED_STANDALONE = 200;

export interface StreamableHttpTransportOptions {
  /** The session's Mcp-Session-Id (globally unique, e.g. a random UUID). */
  sessionId: string;
  /** Takes each message the client sent, in order (the session's bridge). */
  deliver: (message: JSONRPCMessage) => void;
  /** Called once when the session's transport closes (DELETE, idle, the gateway). */
  onclose?: () => void;
  /** The MCP-Protocol-Version values taken (default: the MCP SDK's SUPPORTED_PROTOCOL_VERSIONS). */
  supportedVersions?: readonly string[];
  /** Comment interval on idle event streams, ms (default SSE_KEEP_ALIVE_MS; 0: none). */
  keepAliveMs?: number;
}

/** One POST holding requests: where their answers go, JSON until a related message needs a stream. */
interface PostAnswer {
  readonly res: ServerResponse;
  /** The requests' ids, in the order of the body. */
  readonly ids: RequestId[];
  /** Whether the body was a batch (answered with an array, JSON-RPC 2.0 section 6). */
  readonly batch: boolean;
  /** Answers collected while the response is still JSON, by the index of their request. */
  readonly answers: (JSONRPCMessage | undefined)[];
  /** Requests neither answered nor withdrawn. */
  waiting: number;
  /** The event stream, once the response switched to one. */
  sse: SseStream | undefined;
  done: boolean;
}

const DONE = Promise.resolve();

/**
 * Whether an Accept header lists what a POST may be answered with (both application/json and
 * text/event-stream) or, for a GET, an event stream; the same test as the MCP SDK's transport.
 */
function accepts(accept: string | undefined, post: boolean): boolean {
  if (accept === undefined || !accept.includes('text/event-stream')) return false;
  return !post || accept.includes('application/json');
}

/** Whether a Content-Type header is application/json (parameters such as charset allowed). */
function isJson(contentType: string | undefined): boolean {
  if (contentType === 'application/json') return true;
  return contentType?.split(';', 1)[0]?.trim().toLowerCase() === 'application/json';
}

/**
 * Why the transport would refuse a POST before looking at its messages (406 without an Accept
 * header taking both JSON and event streams, 415 for a body not declared JSON), or undefined.
 * The endpoint asks before it opens a session for an `initialize`.
 */
export function postRefusal(req: IncomingMessage): WardenError | undefined {
  if (!accepts(req.headers.accept, true)) {
    return new WardenError(
      'NOT_ACCEPTABLE',
      'Not Acceptable: Client must accept both application/json and text/event-stream',
    );
  }
  if (!isJson(req.headers['content-type'])) {
    return new WardenError(
      'UNSUPPORTED_MEDIA_TYPE',
      'Unsupported Media Type: Content-Type must be application/json',
    );
  }
  return undefined;
}

/**
 * The server side of one session of the Streamable HTTP transport (MCP 2025-11-25,
 * basic/transports) on node:http, for messages already read and checked (request-body.ts):
 *
 * - POST of notifications and responses only: delivered, answered 202 with no body.
 * - POST holding requests: delivered in order; answered with `application/json` (the answer,
 *   or for a batch the array of answers) once every request is answered. The response switches
 *   to `text/event-stream` only when a message related to one of its requests (a progress
 *   notification, a server-to-client request sent with that `relatedRequestId`) comes before the
 *   answers; then every message goes on that stream as an event, and it ends after the last answer.
 * - GET: the standalone event stream for messages related to no request (one per session, 409
 *   for a second); messages sent while none is open wait (at most MAX_QUEUED_STANDALONE, oldest
 *   dropped) and are delivered when it opens.
 * - DELETE: 200, then the session closes.
 * - Accept: 406 unless it lists both media types (POST) or text/event-stream (GET); Content-Type
 *   other than application/json: 415; an MCP-Protocol-Version not supported: 400 naming those
 *   supported; an `initialize` in an established session: 400; other methods: 405.
 *
 * Resumability: the spec lets a server attach event ids and replay after Last-Event-ID (it
 * MAY). This transport attaches none, so a client has nothing to resume from, and a GET with a
 * Last-Event-ID is a new standalone stream: a stream cut by the network loses what it would
 * have carried, as with the MCP SDK's transport without an event store (what Warden ran before).
 */
export class StreamableHttpTransport {
  readonly sessionId: string;
  readonly #opts: StreamableHttpTransportOptions;
  readonly #versions: readonly string[];
  readonly #keepAliveMs: number;
  /** The open POST awaiting each request's answer, by request id (1 and "1" are distinct keys). */
  readonly #byId = new Map<RequestId, PostAnswer>();
  #standalone: SseStream | undefined;
  #queued: JSONRPCMessage[] = [];
  #closed = false;

  constructor(options: StreamableHttpTransportOptions) {
    this.sessionId = options.sessionId;
    this.#opts = options;
    this.#versions = options.supportedVersions ?? SUPPORTED_PROTOCOL_VERSIONS;
    this.#keepAliveMs = options.keepAliveMs ?? SSE_KEEP_ALIVE_MS;
  }

  /**
   * Answers one HTTP request of this session. `body` is the POST's checked messages; `opening`
   * marks the POST holding the `initialize` that created the session (no protocol version yet).
   */
  handle(
    req: IncomingMessage,
    res: ServerResponse,
    body: JSONRPCMessage | JSONRPCMessage[] | undefined,
    opening = false,
  ): void {
    if (this.#closed) {
      sendJsonRpcError(
        res,
        new WardenError('SESSION_NOT_FOUND', 'Session not found: it ended; initialize again'),
      );
      return;
    }
    switch (req.method) {
      case 'POST':
        return this.#post(req, res, body ?? [], opening);
      case 'GET':
        return this.#get(req, res);
      case 'DELETE':
        return this.#delete(req, res);
      default:
        res.setHeader('allow', 'GET, POST, DELETE');
        sendJsonRpcError(
          res,
          new WardenError(
            'METHOD_NOT_ALLOWED',
            `Method not allowed: ${req.method} (MCP endpoints take GET, POST and DELETE)`,
          ),
        );
    }
  }

  /**
   * Sends a message to the client: an answer on the POST that carried its request; a message
   * with `relatedRequestId` on that request's response (switching it to an event stream);
   * anything else on the standalone stream (or queued for it).
   * @throws (rejects) WardenError NOT_FOUND for an answer or related message whose request has
   *   no open POST (answered already, or the client went away).
   */
  send(message: JSONRPCMessage, options?: { relatedRequestId?: RequestId }): Promise<void> {
    if (isCheckedResponse(message)) {
      const id = (message as { id?: RequestId }).id;
      const answer = id === undefined ? undefined : this.#byId.get(id);
      if (!answer) return noStream(id);
      this.#answered(answer, id!, message);
      return DONE;
    }
    const related = options?.relatedRequestId;
    if (related !== undefined) {
      const answer = this.#byId.get(related);
      if (!answer) return noStream(related);
      this.#streamOf(answer).write(message);
      return DONE;
    }
    if (this.#standalone?.open) {
      this.#standalone.write(message);
      return DONE;
    }
    if (this.#closed) return DONE;
    this.#queued.push(message);
    if (this.#queued.length > MAX_QUEUED_STANDALONE) this.#queued.shift();
    return DONE;
  }

  /**
   * Withdraws a request that will get no answer (it was cancelled, MCP basic/utilities/
   * cancellation): its POST is answered with the other answers once they are in, or, when it
   * carried no other request, with an event stream that ends at once.
   */
  closeRequestStream(id: RequestId): void {
    const answer = this.#byId.get(id);
    if (!answer) return;
    this.#byId.delete(id);
    if (--answer.waiting === 0) this.#finish(answer);
  }

  /** Closes the session's transport: open streams and POSTs end; later requests get 404. */
  close(): Promise<void> {
    if (this.#closed) return DONE;
    this.#closed = true;
    const open = new Set(this.#byId.values());
    this.#byId.clear();
    for (const answer of open) this.#finish(answer);
    this.#standalone?.end();
    this.#standalone = undefined;
    this.#queued = [];
    this.#opts.onclose?.();
    return DONE;
  }

  #post(
    req: IncomingMessage,
    res: ServerResponse,
    body: JSONRPCMessage | JSONRPCMessage[],
    opening: boolean,
  ): void {
    const refusal = postRefusal(req) ?? (opening ? undefined : this.#versionRefusal(req));
    if (refusal) return sendJsonRpcError(res, refusal);
    const messages = Array.isArray(body) ? body : [body];
    const ids: RequestId[] = [];
    for (const message of messages) {
      if (!isCheckedRequest(message)) continue;
      if (!opening && message.method === 'initialize' && isInitializeRequest(message)) {
        return sendJsonRpcError(
          res,
          new WardenError('INVALID_REQUEST', 'Invalid Request: Server already initialized'),
        );
      }
      ids.push(message.id);
    }
    if (ids.length === 0) {
      for (const message of messages) this.#opts.deliver(message);
      res.writeHead(202, { 'mcp-session-id': this.sessionId });
      res.end();
      return;
    }
    const answer: PostAnswer = {
      res,
      ids,
      batch: Array.isArray(body),
      answers: new Array<JSONRPCMessage | undefined>(ids.length),
      waiting: ids.length,
      sse: undefined,
      done: false,
    };
    for (const id of ids) this.#byId.set(id, answer);
    // A client that goes away takes its answers with it (nothing to deliver them on).
    res.once('close', () => {
      if (answer.done) return;
      answer.done = true;
      for (const id of answer.ids) if (this.#byId.get(id) === answer) this.#byId.delete(id);
    });
    for (const message of messages) this.#opts.deliver(message);
  }

  #get(req: IncomingMessage, res: ServerResponse): void {
    if (!accepts(req.headers.accept, false)) {
      return sendJsonRpcError(
        res,
        new WardenError('NOT_ACCEPTABLE', 'Not Acceptable: Client must accept text/event-stream'),
      );
    }
    const refusal = this.#versionRefusal(req);
    if (refusal) return sendJsonRpcError(res, refusal);
    if (this.#standalone?.open) {
      return sendJsonRpcError(
        res,
        new WardenError('CONFLICT', 'Conflict: Only one SSE stream is allowed per session'),
      );
    }
    const stream = new SseStream(res, this.sessionId, this.#keepAliveMs);
    this.#standalone = stream;
    res.once('close', () => {
      if (this.#standalone === stream) this.#standalone = undefined;
    });
    const queued = this.#queued;
    this.#queued = [];
    for (const message of queued) stream.write(message);
  }

  #delete(req: IncomingMessage, res: ServerResponse): void {
    const refusal = this.#versionRefusal(req);
    if (refusal) return sendJsonRpcError(res, refusal);
    res.writeHead(200, { 'mcp-session-id': this.sessionId });
    res.end();
    void this.close();
  }

  /** 400 for an MCP-Protocol-Version header this transport does not support (none: taken). */
  #versionRefusal(req: IncomingMessage): WardenError | undefined {
    const version = req.headers['mcp-protocol-version'];
    if (version === undefined || this.#versions.includes(version as string)) return undefined;
    return new WardenError(
      'INVALID_REQUEST',
      `Bad Request: Unsupported protocol version: ${String(version)} (supported versions: ${this.#versions.join(', ')})`,
    );
  }

  /** The event stream of a POST's response, switching it from JSON (with what it holds so far). */
  #streamOf(answer: PostAnswer): SseStream {
    if (answer.sse) return answer.sse;
    const stream = new SseStream(answer.res, this.sessionId, this.#keepAliveMs);
    answer.sse = stream;
    for (const message of answer.answers) if (message) stream.write(message);
    return stream;
  }

  #answered(answer: PostAnswer, id: RequestId, message: JSONRPCMessage): void {
    this.#byId.delete(id);
    if (answer.sse) answer.sse.write(message);
    else answer.answers[answer.ids.length === 1 ? 0 : answer.ids.indexOf(id)] = message;
    if (--answer.waiting === 0) this.#finish(answer);
  }

  /** Ends a POST's response: the stream, or the JSON answers (an ended stream when there are none). */
  #finish(answer: PostAnswer): void {
    if (answer.done) return;
    answer.done = true;
    if (answer.sse) return answer.sse.end();
    const { res } = answer;
    if (res.headersSent || res.destroyed) return;
    const answers = answer.answers.filter((message) => message !== undefined);
    if (answers.length === 0) {
      res.writeHead(200, sseHeaders(this.sessionId));
      res.end();
      return;
    }
    const text = JSON.stringify(answer.batch ? answers : answers[0]);
    res.writeHead(200, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(text),
      'mcp-session-id': this.sessionId,
    });
    res.end(text);
  }
}

function noStream(id: RequestId | undefined): Promise<void> {
  return Promise.reject(
    new WardenError(
      'NOT_FOUND',
      `No open request ${JSON.stringify(id ?? null)} of this session to answer on (answered already, or the client went away)`,
    ),
  );
}
