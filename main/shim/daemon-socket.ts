import fs from 'node:fs';
import net from 'node:net';
import { WardenError } from '../core/errors.ts';
import {
  helloLine,
  MAX_HELLO_BYTES,
  parseGreeting,
  type Greeting,
} from '../core/daemon/local-socket-hello.ts';
import { checkLocalSocket } from '../core/daemon/local-socket-path.ts';
import { readDaemonState } from '../core/state-file.ts';

/** How long the daemon may take to answer the hello, ms. */
export const GREETING_TIMEOUT_MS = 15_000;

/** A connection to the daemon's local socket whose hello was answered. */
export interface DaemonConnection {
  socket: net.Socket;
  greeting: Greeting;
  /** Bytes that came after the greeting line in the same read (normally none). */
  rest: Buffer;
}

/** The process the shim runs in, for the hello: cheap to learn, informational only. */
function clientInfo(): { pid: number; ppid: number; parent?: string } {
  let parent: string | undefined;
  if (process.platform === 'linux') {
    try {
      parent = fs.readFileSync(`/proc/${process.ppid}/comm`, 'utf8').trim() || undefined;
    } catch {
      // gone or hidden: not needed
    }
  }
  return { pid: process.pid, ppid: process.ppid, ...(parent ? { parent } : {}) };
}

/**
 * Connects to the running daemon's local socket (from the state file), after checking that it
 * and its directory are private to this user, and says hello for `server`.
 * @returns the connection with the daemon's greeting (welcome or refusal), or undefined when no
 *   daemon listens (no state file or socket recorded, the socket missing or refusing
 *   connections: a daemon may be started).
 * @throws WardenError RUNTIME_DIR_UNSAFE when the socket or its directory is not private;
 *   DAEMON_UNREACHABLE when something answers that is not a Warden daemon, or not in time.
 */
export async function connectDaemon(
  stateFile: string,
  server: string,
): Promise<DaemonConnection | undefined> {
  const state = readDaemonState(stateFile);
  if (!state?.socket || !checkLocalSocket(state.socket)) return undefined;
  const socketPath = state.socket;
  const socket = await new Promise<net.Socket | undefined>((resolve, reject) => {
    const s = net.connect(socketPath);
    s.once('connect', () => {
      s.off('error', onError);
      resolve(s);
    });
    const onError = (error: NodeJS.ErrnoException): void => {
      s.destroy();
      if (error.code === 'ENOENT' || error.code === 'ECONNREFUSED') resolve(undefined);
      else reject(unreachable(`cannot connect to ${socketPath}: ${error.message}`));
    };
    s.once('error', onError);
  });
  if (!socket) return undefined;
  socket.write(helloLine({ token: state.token, server, client: clientInfo() }));
  return readGreeting(socket, socketPath);
}

function unreachable(message: string): WardenError {
  return new WardenError('DAEMON_UNREACHABLE', message);
}

/** Reads the daemon's one greeting line; the socket is paused after it. */
function readGreeting(socket: net.Socket, socketPath: string): Promise<DaemonConnection> {
  return new Promise((resolve, reject) => {
    let buffered: Buffer = Buffer.alloc(0);
    const fail = (message: string): void => {
      cleanup();
      socket.destroy();
      reject(unreachable(message));
    };
    const timer = setTimeout(
      () => fail(`the Warden daemon on ${socketPath} did not answer the hello in time`),
      GREETING_TIMEOUT_MS,
    );
    const onData = (chunk: Buffer): void => {
      buffered = buffered.length ? Buffer.concat([buffered, chunk]) : chunk;
      const nl = buffered.indexOf(0x0a);
      if (nl === -1) {
        if (buffered.length > MAX_HELLO_BYTES) fail(`what answers on ${socketPath} is not a Warden daemon`);
        return;
      }
      cleanup();
      socket.pause();
      const greeting = parseGreeting(buffered.subarray(0, nl));
      if (!greeting) {
        socket.destroy();
        reject(
          unreachable(
            `what answers on ${socketPath} is not a Warden daemon of this version (mcp-warden version tells which runs)`,
          ),
        );
        return;
      }
      resolve({ socket, greeting, rest: buffered.subarray(nl + 1) });
    };
    const onClose = (): void =>
      fail(`the Warden daemon on ${socketPath} closed the connection before answering`);
    const cleanup = (): void => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('close', onClose);
    };
    socket.on('data', onData);
    socket.once('close', onClose);
    // Kept for the connection's life: an error is followed by 'close', which its user handles.
    socket.on('error', () => undefined);
  });
}
