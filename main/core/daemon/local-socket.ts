import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import type net from 'node:net';
import type { JSONRPCMessage } from '@modelcontextprotocol/server';
import { errorResponseFor, errorResponseWith } from '../bridge/jsonrpc.ts';
import { duplicateIdError } from '../bridge/session-routing.ts';
import { WardenError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { MAX_HELLO_BYTES, parseHello, refusalLine, welcomeLine, type Hello } from './local-socket-hello.ts';
import { BATCH_REFUSED, LineSplitter, MAX_LINE_BYTES, parseLine, type Line } from './local-socket-lines.ts';
import {
  admitSession,
  SessionRegistry,
  type EndpointSession,
  type SessionHost,
  type TrackedSession,
} from './session-opening.ts';

/** A connection that has not sent its hello line after this long is closed, ms. */
export const HELLO_TIMEOUT_MS = 10_000;

/**
 * Largest backlog of messages the client has not read yet, bytes (16 MiB). A message is queued
 * only while the backlog is below it (so one message of any size always gets through); past it
 * the client is taken as gone and the connection is dropped, with the reason logged.
 */
export const MAX_UNREAD_BYTES = 16 * 1024 * 1024;

export interface LocalSocketOptions extends SessionHost {
  /** The install's token (state file): a hello must carry it. */
  token: string;
  /** This daemon's version, for the welcome. */
  version: string;
}

interface LocalEntry extends TrackedSession {
  socket: net.Socket;
}

const digest = (text: string): Buffer => createHash('sha256').update(text).digest();

/**
 * The local socket endpoint (local-socket-path.ts says where it is): each connection is one
 * downstream session of one server. The connect shim sends a hello line (local-socket-hello.ts)
 * with the token and the server's name; the daemon answers with a welcome and the connection
 * then carries newline-delimited JSON-RPC exactly as MCP stdio does (MCP 2025-11-25,
 * basic/transports), or with a refusal (INVALID_REQUEST, UNAUTHORIZED, SERVER_UNKNOWN, PAUSED,
 * SERVER_NOT_ALLOWED) and closes. Sessions open as on every endpoint (admitSession, the
 * gateway's BridgeSession: the same guard and audit as HTTP sessions).
 *
 * Each line is parsed once (JSON.parse and a structural check, local-socket-lines.ts); a line
 * that is not one JSON-RPC message gets the JSON-RPC error the shim answers it with, a line
 * over MAX_LINE_BYTES is skipped as it arrives, and a request whose id is in progress gets the
 * duplicate-id error. While the client does not read, its requests are not read either; a
 * backlog past MAX_UNREAD_BYTES drops the connection. The connection closing ends the session
 * and its upstream.
 */
export class LocalSocketEndpoint {
  readonly #opts: LocalSocketOptions;
  readonly #log: Logger;
  readonly #token: Buffer;
  readonly #sessions = new SessionRegistry<LocalEntry>();
  /** Connections still in their hello. */
  readonly #greeting = new Set<net.Socket>();

  constructor(options: LocalSocketOptions) {
    this.#opts = options;
    this.#log = options.logger;
    this.#token = digest(options.token);
  }

  get sessionCount(): number {
    return this.#sessions.size;
  }

  /** How many sessions of `server` are open. */
  sessionsOf(server: string): number {
    return this.#sessions.of(server).length;
  }

  /** Restarts the upstream of every session of `server`; resolves with how many. */
  restart(server: string): Promise<number> {
    return this.#sessions.restart(server);
  }

  /** Ends the sessions of the named servers (their bridges, then their connections). */
  endSessionsOf(servers: ReadonlySet<string>): Promise<void> {
    return this.#sessions.end(servers);
  }

  /** Ends every session, and drops connections still in their hello. */
  async close(): Promise<void> {
    for (const socket of this.#greeting) socket.destroy();
    this.#greeting.clear();
    await this.#sessions.end();
  }

  /** Takes a new connection (the net.Server's connection listener). */
  accept = (socket: net.Socket): void => {
    this.#greeting.add(socket);
    const timer = setTimeout(() => {
      this.#log.warn('local socket connection closed: no hello in time');
      socket.destroy();
    }, HELLO_TIMEOUT_MS);
    timer.unref();
    // Until a session is open, the client ending its side ends the connection.
    let onEnd = (): void => void socket.end();
    let onLine: (line: Line) => void = (line) => {
      clearTimeout(timer);
      this.#greeting.delete(socket);
      onLine = () => undefined;
      const hello = Buffer.isBuffer(line)
        ? parseHello(line)
        : new WardenError('TOO_LARGE', `the hello line is over the ${MAX_HELLO_BYTES}-byte limit`);
      if (hello instanceof WardenError) return this.#refuse(socket, hello);
      const next = this.#open(socket, hello);
      if (next) {
        splitter.limit = MAX_LINE_BYTES;
        onLine = next.onLine;
        onEnd = next.onEnd;
      }
    };
    const splitter = new LineSplitter(MAX_HELLO_BYTES, (line) => onLine(line));
    socket.on('data', (chunk: Buffer) => splitter.push(chunk));
    socket.on('error', (error) => this.#log.debug({ err: error.message }, 'local socket connection error'));
    socket.once('end', () => onEnd());
    socket.once('close', () => {
      clearTimeout(timer);
      this.#greeting.delete(socket);
    });
  };

  #refuse(socket: net.Socket, error: WardenError): void {
    this.#log.warn({ code: error.code }, `local socket session refused: ${error.message}`);
    socket.pause();
    socket.end(refusalLine(error));
    // A client that does not read the refusal does not keep the connection.
    setTimeout(() => socket.destroy(), HELLO_TIMEOUT_MS).unref();
  }

  /**
   * Checks the hello and opens the session; the handlers of its lines and of the client ending its
   * side (the session and its upstream end first, then the daemon ends its side), or undefined
   * when refused.
   */
  #open(socket: net.Socket, hello: Hello): { onLine: (line: Line) => void; onEnd: () => void } | undefined {
    if (!timingSafeEqual(digest(hello.token), this.#token)) {
      this.#refuse(
        socket,
        new WardenError(
          'UNAUTHORIZED',
          "Unauthorized: the token in the hello is not this daemon's (it is in the daemon state file, daemon.json)",
        ),
      );
      return undefined;
    }
    const opening = admitSession(this.#opts, hello.server);
    if ('error' in opening) {
      this.#refuse(socket, opening.error);
      return undefined;
    }
    const id = randomUUID();
    const logger = this.#log.child({ server: opening.server.name, session: id });
    const write = this.#writer(socket, logger);
    const session = this.#opts.openSession({
      server: opening.server,
      trusted: opening.trusted,
      downstream: {
        send: (message) => {
          write(message);
          return Promise.resolve();
        },
        // One stream carries every answer: nothing to end for a cancelled request.
        closeRequestStream: () => undefined,
      },
      sessionId: () => id,
      logger,
    });
    const entry: LocalEntry = {
      socket,
      session,
      end: async () => {
        await session.close();
        socket.end();
      },
    };
    this.#sessions.add(id, entry);
    socket.once('close', () => {
      this.#sessions.delete(id);
      logger.info('session ended');
      void session.close();
    });
    socket.write(
      welcomeLine({
        pid: process.pid,
        version: this.#opts.version,
        config: this.#opts.config().file,
        session: id,
      }),
    );
    logger.info({ client: hello.client, transport: 'local-socket' }, 'session started');
    return {
      onLine: (line) => this.#line(session, line, write, logger),
      onEnd: () => {
        this.#sessions.delete(id);
        void session.close().finally(() => socket.end());
      },
    };
  }

  /** One line of an open session. */
  #line(session: EndpointSession, line: Line, write: (m: JSONRPCMessage) => void, logger: Logger): void {
    const parsed = parseLine(line);
    if ('batch' in parsed) {
      logger.warn({ ids: parsed.batch }, 'refused a JSON-RPC batch');
      for (const id of parsed.batch)
        write(errorResponseFor(id, new WardenError('INVALID_REQUEST', BATCH_REFUSED)));
      return;
    }
    if ('error' in parsed) {
      logger.warn({ code: parsed.error.data.reason }, parsed.error.message);
      write(errorResponseWith(parsed.id, parsed.error));
      return;
    }
    const message = parsed.message;
    if (!('method' in message && 'id' in message)) {
      void session.fromDownstream(message);
      return;
    }
    const reservation = session.reserve([message.id]);
    if (reservation.clashes.length > 0) {
      logger.warn({ id: message.id }, 'refused a request whose id is in progress');
      write(duplicateIdError(message.id));
      return;
    }
    // The session takes the id up synchronously (Exchanges.open) before the release.
    void session.fromDownstream(message);
    reservation.release();
  }

  /**
   * The session's writer: one line per message. While the client does not read, reading its
   * requests pauses; once the backlog passes MAX_UNREAD_BYTES the connection is dropped.
   */
  #writer(socket: net.Socket, logger: Logger): (message: JSONRPCMessage) => void {
    let waiting = false;
    return (message) => {
      if (socket.destroyed || !socket.writable) return;
      if (socket.writableLength > MAX_UNREAD_BYTES) {
        logger.warn(
          { unreadBytes: socket.writableLength },
          'local socket client stopped reading its answers: connection dropped',
        );
        socket.destroy();
        return;
      }
      if (!socket.write(JSON.stringify(message) + '\n') && !waiting) {
        waiting = true;
        socket.pause();
        socket.once('drain', () => {
          waiting = false;
          socket.resume();
        });
      }
    };
  }
}
