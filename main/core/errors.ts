/**
 * Typed local errors: a stable string code for programs and a message meant for a person.
 * Mapping to JSON-RPC error codes happens once, at the edge toward the client
 * (see bridge/jsonrpc.ts); these never cross the wire as they are.
 */
export type WardenErrorCode =
  | 'CONFIG_INVALID'
  | 'CONFIG_NOT_JSON'
  | 'CONFIG_UNREADABLE'
  | 'DAEMON_ALREADY_RUNNING'
  | 'DAEMON_PORT_IN_USE'
  | 'DAEMON_UNREACHABLE'
  | 'DAEMON_START_FAILED'
  | 'SERVER_UNKNOWN'
  | 'UPSTREAM_UNAVAILABLE'
  | 'UPSTREAM_CRASHED'
  | 'CIRCUIT_OPEN'
  | 'AUDIT_FAILED'
  | 'STORE_FAILED'
  | 'KEYCHAIN_UNAVAILABLE'
  | 'SECRET_MISSING'
  | 'SECRET_NOT_BOUND'
  | 'POLICY_INVALID'
  | 'ORG_POLICY_REJECTED'
  | 'SERVER_NOT_ALLOWED'
  | 'NOT_FOUND'
  | 'CONFLICT'
  | 'CHANGE_PENDING'
  | 'CHANGE_FAILED'
  | 'FAULT_INJECTED'
  | 'USAGE'
  /** A server's complete list (every page) could not be read, so nothing of it is shown. */
  | 'LIST_INCOMPLETE'
  /** A request for something Warden hides (a definition awaiting review, a denied tool). */
  | 'REFUSED';

/** An error with a stable code and a message that says what went wrong and what to do. */
export class WardenError extends Error {
  readonly code: WardenErrorCode;

  constructor(code: WardenErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'WardenError';
    this.code = code;
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
