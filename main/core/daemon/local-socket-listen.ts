import fs from 'node:fs';
import net from 'node:net';
import { describeError, WardenError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { checkLocalSocket, prepareRuntimeDir, type LocalSocketLocation } from './local-socket-path.ts';

/** How long a connection to a socket found on start may take to tell whether a daemon answers, ms. */
export const STALE_PROBE_MS = 1000;

/** The daemon's listening local socket. */
export interface ListeningLocalSocket {
  path: string;
  /** Stops listening and removes the socket (connections already open are the endpoint's). */
  close(): void;
}

/**
 * Listens on the daemon's local socket (see local-socket-path.ts): prepares the private runtime
 * directory, replaces a stale socket a killed daemon left (only after a connection to it is
 * refused: nothing answers on it), and makes the socket 0600.
 * @throws WardenError RUNTIME_DIR_UNSAFE (directory or socket not private to this user, or a
 *   file there that is not a socket), DAEMON_ALREADY_RUNNING when something answers on the
 *   socket, DAEMON_PORT_IN_USE when the pipe or socket cannot be listened on.
 */
export async function listenLocalSocket(
  location: LocalSocketLocation,
  onConnection: (socket: net.Socket) => void,
  logger: Logger,
): Promise<ListeningLocalSocket> {
  if (location.dir) prepareRuntimeDir(location.dir);
  // Half-open: when a client ends its side, its session (and upstream) ends before the daemon
  // ends its own, so a client that waits for that knows the server is gone (LocalSocketEndpoint).
  const server = net.createServer({ pauseOnConnect: false, allowHalfOpen: true }, onConnection);
  server.on('error', (error) => logger.warn({ err: describeError(error) }, 'local socket error'));
  try {
    await listen(server, location.path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE' || !location.dir) throw inUse(location, error);
    // A socket is there: checked to be ours first, then replaced only if nothing answers on it.
    checkLocalSocket(location.path);
    if (await answers(location.path)) {
      throw new WardenError(
        'DAEMON_ALREADY_RUNNING',
        `MCP Warden is already running: a daemon answers on its local socket ${location.path}; stop it first`,
      );
    }
    logger.info({ socket: location.path }, 'replacing the stale local socket of a daemon that is gone');
    fs.rmSync(location.path, { force: true });
    try {
      await listen(server, location.path);
    } catch (again) {
      throw inUse(location, again);
    }
  }
  if (location.dir) fs.chmodSync(location.path, 0o600);
  return {
    path: location.path,
    close: () => {
      // libuv removes the socket file when a listening Unix socket closes.
      server.close();
    },
  };
}

function inUse(location: LocalSocketLocation, error: unknown): WardenError {
  return new WardenError(
    'DAEMON_PORT_IN_USE',
    `cannot listen on the local socket ${location.path}: ${describeError(error)}`,
    { cause: error },
  );
}

function listen(server: net.Server, socketPath: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/** True when a connection to the socket succeeds (something listens on it). */
function answers(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = net.connect(socketPath);
    const done = (up: boolean): void => {
      probe.destroy();
      resolve(up);
    };
    probe.setTimeout(STALE_PROBE_MS, () => done(true));
    probe.once('connect', () => done(true));
    probe.once('error', (error: NodeJS.ErrnoException) =>
      done(error.code !== 'ECONNREFUSED' && error.code !== 'ENOENT'),
    );
  });
}
