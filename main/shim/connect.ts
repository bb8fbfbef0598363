import type net from 'node:net';
import type { Writable } from 'node:stream';
import type { JSONRPCMessage } from '@modelcontextprotocol/server';
import { errorResponseFor, errorResponseWith, idKey } from '../core/bridge/jsonrpc.ts';
import { WardenError } from '../core/errors.ts';
import type { WardenPaths } from '../core/paths.ts';
import {
  BATCH_REFUSED,
  LineSplitter,
  MAX_LINE_BYTES,
  parseLine,
  readLines,
  type Line,
} from '../core/daemon/local-socket-lines.ts';
import { answeredIdOf } from './answered-id.ts';
import { ensureDaemon } from './daemon-launcher.ts';
import { oldSpaceSweeper } from './old-space-sweep.ts';

export { BATCH_REFUSED, parseLine, readLines } from '../core/daemon/local-socket-lines.ts';

export interface ConnectOptions {
  server: string;
  paths: WardenPaths;
  cliEntry: string;
  configOverride?: string;
  input?: NodeJS.ReadableStream;
  output?: NodeJS.WritableStream;
  diagnostics?: NodeJS.WritableStream;
}

/** How long the shim waits for the daemon to close the connection after stdin ended, ms. */
export const CLOSE_WAIT_MS = 2000;

type RequestId = string | number;

const NEWLINE = Buffer.from('\n');

/**
 * The connect shim: what a client config launches (`mcp-warden connect <server>`). Bridges
 * newline-delimited JSON-RPC on stdin/stdout (MCP 2025-11-25, basic/transports, stdio) to a
 * session on the daemon's local socket (local-socket.ts), starting the daemon when it is not
 * running. It holds no policy: each stdin line is validated once (UTF-8, JSON, one JSON-RPC
 * message, at most MAX_LINE_BYTES; otherwise answered with a JSON-RPC error and skipped) and
 * its bytes are forwarded as they are; the daemon's lines are written to stdout as they are.
 * stdout carries only MCP messages; diagnostics go to stderr.
 *
 * When the daemon refuses the session (unknown server, paused, not allowed, bad token), the
 * refusal is said on stderr and every request is answered with it. Resolves with 0 when the
 * client closes stdin; with 1 when the daemon goes away first, after answering every request
 * still in progress with DAEMON_UNREACHABLE.
 * @throws WardenError DAEMON_START_FAILED, RUNTIME_DIR_UNSAFE, DAEMON_UNREACHABLE (ensureDaemon).
 */
export async function runConnect(options: ConnectOptions): Promise<number> {
  const input = options.input ?? process.stdin;
  const output = options.output ?? process.stdout;
  const diag = options.diagnostics ?? process.stderr;
  const say = (text: string): void => void diag.write(`mcp-warden connect ${options.server}: ${text}\n`);
  const answer = (id: RequestId, error: unknown): void =>
    void output.write(JSON.stringify(errorResponseFor(id, error)) + '\n');

  const daemon = await ensureDaemon(options.paths, options.server, options.cliEntry, options.configOverride);
  const { greeting, socket } = daemon;
  if ('refused' in greeting) {
    if (daemon.started) say('started the Warden daemon');
    say(greeting.refused.message);
    socket.destroy();
    await readLines(
      input,
      MAX_LINE_BYTES,
      lineHandler(output, say, (message) => {
        if ('method' in message && 'id' in message) answer(message.id, greeting.refused);
      }),
    );
    return 0;
  }
  if (daemon.started) say(`started the Warden daemon (pid ${greeting.welcome.pid})`);
  return forward(socket, daemon.rest, input, output, say);
}

/**
 * Forwards stdin lines to the daemon and the daemon's lines to stdout, with backpressure both
 * ways (a side that does not read pauses the other's reading), keeping the ids of the requests
 * in progress so they are answered if the daemon goes away.
 */
function forward(
  socket: net.Socket,
  rest: Buffer,
  input: NodeJS.ReadableStream,
  output: NodeJS.WritableStream,
  say: (text: string) => void,
): Promise<number> {
  /** Requests in progress by idKey: the id and how many times it was sent. */
  const pending = new Map<string, { id: RequestId; count: number }>();
  const sweep = oldSpaceSweeper();
  /** When stdout says it is full, stops reading the daemon until stdout drains. */
  const holdDaemon = (more: boolean): void => {
    if (!more && !socket.isPaused()) {
      socket.pause();
      output.once('drain', () => socket.resume());
    }
  };
  const write = (bytes: Buffer | string): void => holdDaemon(output.write(bytes));
  const send = (line: Buffer): void => {
    if (!writeLine(socket, line) && !input.isPaused()) {
      input.pause();
      socket.once('drain', () => input.resume());
    }
  };

  const fromDaemon = new LineSplitter(Number.POSITIVE_INFINITY, (line: Line) => {
    if (!Buffer.isBuffer(line)) return;
    void sweep();
    settle(pending, line);
    holdDaemon(writeLine(output, line));
  });

  return new Promise<number>((resolve) => {
    let inputEnded = false;
    socket.on('data', (chunk: Buffer) => fromDaemon.push(chunk));
    socket.once('close', () => {
      fromDaemon.end();
      if (inputEnded) return resolve(0);
      input.pause();
      const lost = new WardenError(
        'DAEMON_UNREACHABLE',
        'the Warden daemon closed the connection (it stopped, restarted, or ended this session after a config change); restart the client to reconnect',
      );
      say(
        `${lost.message}${pending.size ? `; ${pending.size} request(s) in progress answered with an error` : ''}`,
      );
      for (const { id } of pending.values()) write(JSON.stringify(errorResponseFor(id, lost)) + '\n');
      pending.clear();
      output.write('', () => resolve(1));
    });
    if (rest.length) fromDaemon.push(rest);
    socket.resume();

    void readLines(
      input,
      MAX_LINE_BYTES,
      lineHandler(write, say, (message, line) => {
        void sweep();
        if ('method' in message && 'id' in message) {
          const key = idKey(message.id);
          const open = pending.get(key);
          if (open) open.count++;
          else pending.set(key, { id: message.id, count: 1 });
        }
        send(line);
      }),
    ).then(() => {
      inputEnded = true;
      if (socket.destroyed) return resolve(0);
      socket.end();
      setTimeout(() => {
        socket.destroy();
        resolve(0);
      }, CLOSE_WAIT_MS).unref();
    });
  });
}

/**
 * What is done with each stdin line: parsed once (parseLine); a line that is not one JSON-RPC
 * message is answered with its error and said on stderr; a batch gets one error per request in
 * it; a message goes to `onMessage` with its bytes.
 */
function lineHandler(
  out: NodeJS.WritableStream | ((bytes: string) => void),
  say: (text: string) => void,
  onMessage: (message: JSONRPCMessage, line: Buffer) => void,
): (line: Line) => void {
  const write = typeof out === 'function' ? out : (bytes: string) => void out.write(bytes);
  return (line) => {
    const parsed = parseLine(line);
    if ('batch' in parsed) {
      say(BATCH_REFUSED);
      for (const id of parsed.batch)
        write(JSON.stringify(errorResponseFor(id, new WardenError('INVALID_REQUEST', BATCH_REFUSED))) + '\n');
      return;
    }
    if ('error' in parsed) {
      say(parsed.error.message);
      write(JSON.stringify(errorResponseWith(parsed.id, parsed.error)) + '\n');
      return;
    }
    onMessage(parsed.message, line as Buffer);
  };
}

/**
 * Writes a line and its newline as one write (the stream corked around the two, so a socket
 * sends them in one writev), without copying the line. A Buffer.concat per line made the
 * shim's ArrayBuffer memory grow by about 0.17 MiB per 1 000 calls until a full GC, with
 * Buffer's pool on or off (measured over 30 000 calls: 0.4 -> 4.9 MiB; flat at 0.26 MiB this
 * way). Returns what the last write returned: false when the stream wants the writer to wait
 * for 'drain'.
 */
function writeLine(stream: NodeJS.WritableStream, line: Buffer): boolean {
  const corkable = stream as Partial<Pick<Writable, 'cork' | 'uncork'>>;
  corkable.cork?.();
  stream.write(line);
  const more = stream.write(NEWLINE);
  corkable.uncork?.();
  return more;
}

/** Notes the answer a daemon line carries, if it is one (its request is no longer pending). */
function settle(pending: Map<string, { id: RequestId; count: number }>, line: Buffer): void {
  if (pending.size === 0) return;
  const id = answeredIdOf(line);
  if (id === undefined) return;
  const key = idKey(id);
  const open = pending.get(key);
  if (open && --open.count === 0) pending.delete(key);
}
