import { fromWire, WardenError } from '../errors.ts';

/**
 * The hello of the local socket: the first line a connect shim sends, and the one line the
 * daemon answers it with, before the connection carries newline-delimited JSON-RPC exactly as
 * MCP stdio does.
 *
 *   shim   -> {"mcpWarden":1,"token":"…","server":"<name>","client":{"pid":1,"ppid":2,"parent":"claude"}}
 *   daemon -> {"mcpWarden":1,"welcome":{"pid":3,"version":"…","config":"/…/config.json","session":"<uuid>"}}
 *          or {"mcpWarden":1,"refused":{"code":"SERVER_UNKNOWN","message":"…"}} and closes.
 */

/** The hello protocol's version (`mcpWarden` in every hello line). */
export const HELLO_VERSION = 1;

/** Largest hello line either side takes, bytes. */
export const MAX_HELLO_BYTES = 64 * 1024;

/** What a shim tells about the process it runs in (cheap to learn; informational only). */
export interface HelloClient {
  pid: number;
  ppid: number;
  /** The parent's process name (Linux /proc/<ppid>/comm), when known: the MCP client. */
  parent?: string;
}

/** The shim's hello. */
export interface Hello {
  token: string;
  server: string;
  client: HelloClient;
}

/** The daemon's welcome: the session is open. */
export interface Welcome {
  pid: number;
  version: string;
  /** The config file in force. */
  config: string;
  /** The new session's id (a fresh UUID). */
  session: string;
}

/** The daemon's answer to a hello. */
export type Greeting = { welcome: Welcome } | { refused: WardenError };

/** The hello line (with its newline). */
export function helloLine(hello: Hello): string {
  return JSON.stringify({ mcpWarden: HELLO_VERSION, ...hello }) + '\n';
}

/** The welcome line (with its newline). */
export function welcomeLine(welcome: Welcome): string {
  return JSON.stringify({ mcpWarden: HELLO_VERSION, welcome }) + '\n';
}

/** The refusal line (with its newline): the WardenError's code and message. */
export function refusalLine(error: WardenError): string {
  return (
    JSON.stringify({ mcpWarden: HELLO_VERSION, refused: { code: error.code, message: error.message } }) + '\n'
  );
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

function parseJson(line: Buffer): unknown {
  try {
    return JSON.parse(line.toString('utf8'));
  } catch {
    return undefined;
  }
}

/**
 * Reads a shim's hello line.
 * @returns the hello, or the INVALID_REQUEST error to refuse it with (not a hello, another
 *   hello version, fields missing or of the wrong type).
 */
export function parseHello(line: Buffer): Hello | WardenError {
  const raw = parseJson(line);
  if (!isObject(raw) || !('mcpWarden' in raw)) {
    return new WardenError(
      'INVALID_REQUEST',
      'Invalid Request: the local socket takes a hello line first (run `mcp-warden connect <server>`)',
    );
  }
  if (raw.mcpWarden !== HELLO_VERSION) {
    return new WardenError(
      'INVALID_REQUEST',
      `Invalid Request: hello version ${JSON.stringify(raw.mcpWarden)} is not supported (this daemon speaks ${HELLO_VERSION}); use the mcp-warden of the running daemon`,
    );
  }
  const client = isObject(raw.client) ? raw.client : {};
  if (typeof raw.token !== 'string' || typeof raw.server !== 'string') {
    return new WardenError(
      'INVALID_REQUEST',
      'Invalid Request: the hello needs "token" and "server" strings',
    );
  }
  return {
    token: raw.token,
    server: raw.server,
    client: {
      pid: Number.isSafeInteger(client.pid) ? (client.pid as number) : 0,
      ppid: Number.isSafeInteger(client.ppid) ? (client.ppid as number) : 0,
      ...(typeof client.parent === 'string' ? { parent: client.parent.slice(0, 64) } : {}),
    },
  };
}

/**
 * Reads the daemon's answer to a hello.
 * @returns the greeting, or undefined when the line is not one (not a Warden daemon, or a
 *   version that speaks another hello).
 */
export function parseGreeting(line: Buffer): Greeting | undefined {
  const raw = parseJson(line);
  if (!isObject(raw) || raw.mcpWarden !== HELLO_VERSION) return undefined;
  if (isObject(raw.welcome)) {
    const w = raw.welcome;
    return {
      welcome: {
        pid: typeof w.pid === 'number' ? w.pid : 0,
        version: typeof w.version === 'string' ? w.version : '',
        config: typeof w.config === 'string' ? w.config : '',
        session: typeof w.session === 'string' ? w.session : '',
      },
    };
  }
  const refused = fromWire(raw.refused);
  return refused ? { refused } : undefined;
}
