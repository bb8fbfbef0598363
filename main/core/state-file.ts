import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { nodeHttp } from './node-http.ts';

/**
 * The daemon state file (`daemon.json` in the state dir, mode 0600): how a shim or the CLI
 * finds the running daemon and authenticates to it.
 */
export interface DaemonState {
  /** Per-install bearer token (256 bits, base64url); kept across restarts. */
  token: string;
  /** Loopback port of the running daemon, if any. */
  port?: number;
  /** PID of the running daemon; absent after a clean shutdown. */
  pid?: number;
  /** The daemon's local socket (Unix socket path or Windows pipe name), where shims connect. */
  socket?: string;
  /** Base URL, e.g. http://127.0.0.1:47113 */
  url?: string;
  configFile?: string;
  version?: string;
  /** ISO 8601 start time. */
  startedAt?: string;
}

/** Reads the state file; undefined when it is missing or unreadable. */
export function readDaemonState(file: string): DaemonState | undefined {
  try {
    const parsed = JSON.parse(fs.readFileSync(file, 'utf8')) as DaemonState;
    return typeof parsed.token === 'string' && parsed.token.length >= 32 ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Writes the state file atomically (temp file + rename), readable by the user alone (0600, in a
 * 0700 directory).
 */
export function writeDaemonState(file: string, state: DaemonState): void {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const temp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(temp, JSON.stringify(state, null, 2) + '\n', { mode: 0o600 });
  fs.chmodSync(temp, 0o600);
  fs.renameSync(temp, file);
}

/** The install's token: the one in the state file, or a new random one. */
export function loadOrCreateToken(file: string): string {
  return readDaemonState(file)?.token ?? randomBytes(32).toString('base64url');
}

/** True when a process with this pid exists (signal 0 probe). */
export function isProcessAlive(pid: number | undefined): boolean {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Health answer of a running daemon, from GET /healthz. */
export interface DaemonHealth {
  name: string;
  version: string;
  pid: number;
  config: string;
  servers: string[];
  sessions: number;
}

/** Largest health answer read, bytes: a longer one is not a daemon's. */
const MAX_HEALTH_BYTES = 64 * 1024;

/**
 * Asks the daemon described by `state` whether it is up (GET /healthz over node:http, not
 * fetch: a daemon starting up probes its predecessor, and fetch would load undici for good).
 * @returns its health, or undefined when nothing (or something else) answers within `timeoutMs`.
 */
export async function probeDaemon(
  state: DaemonState | undefined,
  timeoutMs = 1000,
): Promise<DaemonHealth | undefined> {
  if (!state?.port) return undefined;
  try {
    const body = await getHealth(state.port, state.token, timeoutMs);
    if (body === undefined) return undefined;
    const health = JSON.parse(body) as DaemonHealth;
    return health?.name === 'mcp-warden' ? health : undefined;
  } catch {
    return undefined;
  }
}

/** The body of a 2xx answer to GET /healthz, or undefined for another status; rejects on a failure or past `timeoutMs`. */
function getHealth(port: number, token: string, timeoutMs: number): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const request = nodeHttp().get(
      {
        host: '127.0.0.1',
        port,
        path: '/healthz',
        agent: false,
        headers: { authorization: `Bearer ${token}` },
      },
      (response) => {
        const status = response.statusCode ?? 0;
        if (status < 200 || status > 299) {
          response.resume();
          resolve(undefined);
          return;
        }
        const chunks: Buffer[] = [];
        let bytes = 0;
        response.on('data', (chunk: Buffer) => {
          bytes += chunk.length;
          if (bytes > MAX_HEALTH_BYTES) request.destroy(new Error('health answer too long'));
          else chunks.push(chunk);
        });
        response.on('error', reject);
        response.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
        response.on('close', () => {
          if (!response.complete) reject(new Error('health answer cut short'));
        });
      },
    );
    request.on('error', reject);
    const timer = setTimeout(() => request.destroy(new Error('health probe timed out')), timeoutMs);
    request.on('close', () => clearTimeout(timer));
  });
}
