/**
 * Warden's one error family: a WardenError with a stable string code for programs and a
 * message meant for a person. It is mapped at the edges by exactly three functions, all here:
 * `jsonRpcErrorOf` (toward an MCP client; in bridge/jsonrpc.ts, the JSON-RPC edge, which turns
 * `rpc` below into the MCP SDK's ErrorCode numbers), `httpStatusOf` (the daemon's HTTP answers)
 * and `toWire`/`fromWire` (`{ code, message }`, what the control API and IPC carry and the other
 * side rebuilds into the same WardenError). This module imports nothing: the renderer and the
 * preload use it too.
 *
 * Each code below says when it is thrown; `status` is the HTTP status it is answered with,
 * `rpc` the JSON-RPC error it is answered with (JSON-RPC 2.0 section 5.1), by its name in the
 * MCP SDK's ErrorCode (SessionNotFound: -32001, which the SDK's HTTP server transport answers);
 * the Warden code itself travels in the JSON-RPC error's `data.reason`.
 */
/** The JSON-RPC errors Warden answers with, by their names in the MCP SDK's `ErrorCode`. */
export type JsonRpcKind =
  | 'ParseError'
  | 'InvalidRequest'
  | 'InvalidParams'
  | 'InternalError'
  | 'ConnectionClosed'
  | 'SessionNotFound';

const CODES = {
  /** The config file does not match its schema, or a client config cannot be used as it is. */
  CONFIG_INVALID: { status: 409, rpc: 'InternalError' },
  /** The config file (or a client config) is not JSON. */
  CONFIG_NOT_JSON: { status: 409, rpc: 'InternalError' },
  /** The config file cannot be read. */
  CONFIG_UNREADABLE: { status: 500, rpc: 'InternalError' },
  /** `serve` found another daemon of this user already running. */
  DAEMON_ALREADY_RUNNING: { status: 500, rpc: 'InternalError' },
  /** The daemon's port is held by something else. */
  DAEMON_PORT_IN_USE: { status: 500, rpc: 'InternalError' },
  /** The daemon did not answer (not running, network error), seen by a client of it. */
  DAEMON_UNREACHABLE: { status: 500, rpc: 'ConnectionClosed' },
  /** The local socket's directory (or the socket) is not private to the user: it is not used. */
  RUNTIME_DIR_UNSAFE: { status: 500, rpc: 'InternalError' },
  /** The shim started a daemon that did not come up. */
  DAEMON_START_FAILED: { status: 500, rpc: 'ConnectionClosed' },
  /** A request names a server that is not in the config (`/mcp/<server>`). */
  SERVER_UNKNOWN: { status: 404, rpc: 'InvalidRequest' },
  /** No policy allows the server's command (or URL) to run. */
  SERVER_NOT_ALLOWED: { status: 403, rpc: 'InvalidRequest' },
  /** Warden is paused: no new session starts until someone resumes it. */
  PAUSED: { status: 503, rpc: 'InvalidRequest' },
  /**
   * A request names an MCP session that ended or belongs to another server. -32001 is what the
   * SDK's Streamable HTTP server transport answers an unknown session with (not its timeout).
   */
  SESSION_NOT_FOUND: { status: 404, rpc: 'SessionNotFound' },
  /** A request arrived at a session that was closing. */
  SESSION_CLOSED: { status: 404, rpc: 'ConnectionClosed' },
  /** The upstream server cannot be reached or started (incl. its OAuth sign-in). */
  UPSTREAM_UNAVAILABLE: { status: 500, rpc: 'ConnectionClosed' },
  /** A policy requires the OS sandbox for a stdio server and this machine cannot provide it. */
  SANDBOX_UNAVAILABLE: { status: 500, rpc: 'ConnectionClosed' },
  /** The upstream server ended or restarted before answering. */
  UPSTREAM_CRASHED: { status: 500, rpc: 'ConnectionClosed' },
  /** The upstream's circuit breaker is open after repeated failures. */
  CIRCUIT_OPEN: { status: 500, rpc: 'ConnectionClosed' },
  /** The audit log cannot record (a call is then not forwarded). */
  AUDIT_FAILED: { status: 500, rpc: 'InternalError' },
  /** state.db or the pin store cannot record a change (nothing changes then). */
  STORE_FAILED: { status: 500, rpc: 'InternalError' },
  /** The OS keychain is not available. */
  KEYCHAIN_UNAVAILABLE: { status: 500, rpc: 'InternalError' },
  /** A `${secret:NAME}` a server needs is not in the keychain. */
  SECRET_MISSING: { status: 500, rpc: 'InternalError' },
  /** A secret is bound to another server than the one that asks for it. */
  SECRET_NOT_BOUND: { status: 500, rpc: 'InternalError' },
  /** A policy document (user, managed) does not match its schema. */
  POLICY_INVALID: { status: 400, rpc: 'InternalError' },
  /** A signed org policy was refused (signature, key, rollback, expiry, size). */
  ORG_POLICY_REJECTED: { status: 500, rpc: 'InternalError' },
  /** What a request names does not exist (route, approval, rule, pin, client, secret). */
  NOT_FOUND: { status: 404, rpc: 'InvalidRequest' },
  /** The request is stale or clashes with the current state (a file changed since its preview). */
  CONFLICT: { status: 409, rpc: 'InvalidRequest' },
  /** Another multi-step change is in progress or must be finished first. */
  CHANGE_PENDING: { status: 409, rpc: 'InternalError' },
  /** A multi-step change failed and was rolled back. */
  CHANGE_FAILED: { status: 500, rpc: 'InternalError' },
  /** A fault point of the change tests fired (never in normal runs). */
  FAULT_INJECTED: { status: 500, rpc: 'InternalError' },
  /** A command or argument a person gave cannot be used as given. */
  USAGE: { status: 400, rpc: 'InternalError' },
  /** A server's complete list (every page) could not be read, so nothing of it is shown. */
  LIST_INCOMPLETE: { status: 500, rpc: 'InternalError' },
  /** A request for something Warden hides (a definition awaiting review, a denied tool). */
  REFUSED: { status: 403, rpc: 'InvalidParams' },
  /** A request that is not what the endpoint takes (bad body, query, path, headers, id reuse). */
  INVALID_REQUEST: { status: 400, rpc: 'InvalidRequest' },
  /** A body or message that is not valid UTF-8 or not JSON. */
  PARSE_ERROR: { status: 400, rpc: 'ParseError' },
  /** A body or message over its size limit. */
  TOO_LARGE: { status: 413, rpc: 'InvalidRequest' },
  /** An HTTP method a route does not take. */
  METHOD_NOT_ALLOWED: { status: 405, rpc: 'InvalidRequest' },
  /** An MCP request whose Accept header lacks a media type the transport answers with. */
  NOT_ACCEPTABLE: { status: 406, rpc: 'InvalidRequest' },
  /** An MCP POST whose body is not declared `application/json`. */
  UNSUPPORTED_MEDIA_TYPE: { status: 415, rpc: 'InvalidRequest' },
  /** A request without a valid bearer token (or dashboard session token). */
  UNAUTHORIZED: { status: 401, rpc: 'ConnectionClosed' },
  /** A request from a foreign Host or Origin, or IPC from a frame that is not ours. */
  FORBIDDEN: { status: 403, rpc: 'ConnectionClosed' },
  /** A dashboard ticket that is unknown, used or expired. */
  TICKET_INVALID: { status: 401, rpc: 'InvalidRequest' },
  /** Something failed that Warden has no code for (a bug or an unexpected failure). */
  INTERNAL: { status: 500, rpc: 'InternalError' },
  /** The other side (a newer daemon) sent a code this version does not know; see `received`. */
  UNRECOGNIZED: { status: 500, rpc: 'InternalError' },
} as const satisfies Record<string, { status: number; rpc: JsonRpcKind }>;

/** Every code of the family (see the table above for when each is thrown). */
export type WardenErrorCode = keyof typeof CODES;

/** Every WardenErrorCode, in table order. */
export const WARDEN_ERROR_CODES = Object.keys(CODES) as WardenErrorCode[];

/** True when `code` is a WardenErrorCode. */
export function isWardenErrorCode(code: unknown): code is WardenErrorCode {
  return typeof code === 'string' && Object.hasOwn(CODES, code);
}

/** An error with a stable code and a message that says what went wrong and what to do. */
export class WardenError extends Error {
  readonly code: WardenErrorCode;
  /** For UNRECOGNIZED: the code the other side sent. */
  readonly received?: string;

  constructor(code: WardenErrorCode, message: string, options?: { cause?: unknown; received?: string }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'WardenError';
    this.code = code;
    if (options?.received !== undefined) this.received = options.received;
  }
}

/** True when `error` is a WardenError, optionally with the given code. */
export function isWardenError(error: unknown, code?: WardenErrorCode): error is WardenError {
  return error instanceof WardenError && (code === undefined || error.code === code);
}

/** A one-line description of any thrown value, for logs and messages. */
export function describeError(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}

/** Any thrown value as a WardenError: itself, or INTERNAL with its message. */
export function asWardenError(error: unknown): WardenError {
  return isWardenError(error) ? error : new WardenError('INTERNAL', describeError(error), { cause: error });
}

/** The HTTP status a thrown value is answered with (an unknown value: 500). */
export function httpStatusOf(error: unknown): number {
  return CODES[asWardenError(error).code].status;
}

/** The JSON-RPC error a WardenError is answered with (see jsonRpcErrorOf in bridge/jsonrpc.ts). */
export function jsonRpcKindOf(error: WardenError): JsonRpcKind {
  return CODES[error.code].rpc;
}

/** What the control API's error bodies and IPC carry of an error. */
export interface WireError {
  code: string;
  message: string;
}

/** A thrown value as `{ code, message }` (for UNRECOGNIZED, the code received travels on). */
export function toWire(error: unknown): WireError {
  const warden = asWardenError(error);
  return { code: warden.received ?? warden.code, message: warden.message };
}

/**
 * Rebuilds the WardenError a `{ code, message }` came from. A code this version does not know
 * becomes UNRECOGNIZED with the code in `received`; a value that is not a wire error gives
 * undefined.
 */
export function fromWire(value: unknown): WardenError | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const { code, message } = value as { code?: unknown; message?: unknown };
  if (typeof code !== 'string' || typeof message !== 'string') return undefined;
  if (isWardenErrorCode(code)) return new WardenError(code, message);
  return new WardenError('UNRECOGNIZED', message, { received: code });
}

/** How an IPC error's string form begins; the wire form `{ code, message }` follows as JSON. */
const IPC_PREFIX = 'WardenError: ';

/**
 * A thrown value as the error an Electron `ipcMain.handle` handler throws: the same WardenError
 * (code, message), whose string form is `WardenError: {"code":…,"message":…}`. Electron hands
 * the renderer only that string ("Error invoking remote method '<channel>': <String(error)>"),
 * so the wire form rides in it; fromIpcError rebuilds the error on the other side.
 */
export function toIpcError(error: unknown): WardenError {
  const wire = toWire(error);
  const ipc = fromWire(wire)!;
  Object.defineProperty(ipc, 'toString', { value: () => `${IPC_PREFIX}${JSON.stringify(wire)}` });
  return ipc;
}

/**
 * Rebuilds the WardenError of a rejected `ipcRenderer.invoke` (see toIpcError), or undefined
 * when its message carries no wire form (an error that did not come through toIpcError).
 */
export function fromIpcError(error: unknown): WardenError | undefined {
  const text = error instanceof Error ? error.message : String(error);
  const at = text.indexOf(`${IPC_PREFIX}{`);
  if (at < 0) return undefined;
  try {
    return fromWire(JSON.parse(text.slice(at + IPC_PREFIX.length)));
  } catch {
    return undefined;
  }
}
