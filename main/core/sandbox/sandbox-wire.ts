/**
 * The messages between the daemon and a sandbox host (sandbox-host.ts), one JSON object per line
 * over the daemon's sandbox socket (sandbox-socket.ts). The host starts with `hello` naming the
 * token it was spawned with; the token is the only thing that ties the connection to a server.
 */

/** The environment variable that carries a host's {@link SandboxHostSpec} (removed at once). */
export const SANDBOX_SPEC_ENV = 'MCP_WARDEN_SANDBOX_SPEC';

/** What a sandbox host is told to run. */
export interface SandboxHostSpec {
  /** The daemon's sandbox socket. */
  socket: string;
  /** 128 random bits, base64url: names this spawn to the daemon and its proxy. */
  token: string;
  command: string;
  args: string[];
  /** The server's temp dir (its TMPDIR), removed when the server exits. */
  tmpDir: string;
  /** sandbox-runtime's SandboxRuntimeConfig (JSON). */
  config: Record<string, unknown>;
}

export type HostMessage =
  | { type: 'hello'; token: string }
  | { type: 'ask'; id: number; host: string; port: number }
  | { type: 'violation'; line: string; at: string }
  | { type: 'failed'; message: string };

export type DaemonMessage = { type: 'answer'; id: number; allow: boolean; reason?: string };

/** Parses one line of the wire; undefined when it is not a message of the expected shape. */
export function parseWireLine<T extends { type: string }>(line: string): T | undefined {
  try {
    const value: unknown = JSON.parse(line);
    return value !== null &&
      typeof value === 'object' &&
      typeof (value as { type?: unknown }).type === 'string'
      ? (value as T)
      : undefined;
  } catch {
    return undefined;
  }
}
