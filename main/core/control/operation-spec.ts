import type { z } from 'zod';
import type { ControlEvent } from './contract.ts';

/**
 * The shape of an entry of the operations table (operations.ts) and the path helpers the
 * daemon's dispatch and the clients share. Imports only zod (types) and contract.ts.
 */

/** An HTTP method the control API uses. */
export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'DELETE';

/** A ControlEvent type. */
export type ControlEventType = ControlEvent['type'];

/** One operation of the table; see OPERATIONS. */
export interface OperationSpec {
  readonly method: HttpMethod;
  /**
   * Under /api/v1. `:name` is a path parameter (one segment, percent-encoded by the client and
   * decoded by the daemon); `:name(a|b)` restricts it to a pattern.
   */
  readonly path: string;
  /** What it does, for a person. */
  readonly summary: string;
  /** The WardenApi method's positional arguments. */
  readonly args: z.ZodTuple;
  /** Path parameters as the daemon validates them (default: each a string). */
  readonly params?: z.ZodType;
  /** The query as the daemon validates it (from the URL's search parameters, all strings). */
  readonly query?: z.ZodType;
  /** The JSON body as the daemon validates it; without one the body is not read. */
  readonly body?: z.ZodType;
  /** How the positional arguments become the request (absent: no parameters, no body). */
  readonly request?: (...args: never[]) => RequestParts;
  /** The answer: JSON checked against this schema, or `text` for a download. */
  readonly output: z.ZodType;
  readonly response?: 'json' | 'text' | 'events';
  /** ControlEvents the operation may cause (its handler, or the core it changes, tells them). */
  readonly emits: readonly ControlEventType[];
  /**
   * A CLI command derived from the entry (main/cli/operations.ts): it calls the operation with
   * no arguments and prints the answer as JSON. Only for operations without arguments.
   */
  readonly cli?: { readonly command: string; readonly description: string };
  /**
   * false: not for the UI (not in WardenApi, not over IPC), only for the CLI and HTTP callers
   * with the daemon's token. Default: the UI may call it.
   */
  readonly ui?: false;
}

/** An operation's request: path parameters (raw, before encoding), query, JSON body. */
export interface RequestParts {
  params?: Record<string, string | number>;
  query?: Record<string, string | number | undefined>;
  body?: unknown;
}

type WithoutPattern<N extends string> = N extends `${infer Name}(${string}` ? Name : N;

/** The parameter names of a path: "/pins/:server/:kind(a|b)/x" -> "server" | "kind". */
export type PathParamNames<P extends string> = P extends `${string}:${infer Rest}`
  ? Rest extends `${infer Name}/${infer Tail}`
    ? WithoutPattern<Name> | PathParamNames<`/${Tail}`>
    : WithoutPattern<Rest>
  : never;

/** A query as the URL carries it: each value a string, undefined and empty values left out. */
export function queryEntries(query: NonNullable<RequestParts['query']>): [string, string][] {
  return Object.entries(query)
    .filter(([, value]) => value !== undefined && value !== '')
    .map(([key, value]) => [key, String(value)]);
}

/** The names of a path's parameters, in order: "/pins/:server/:kind(a|b)" -> ["server", "kind"]. */
export function pathParams(path: string): string[] {
  return [...path.matchAll(/:([A-Za-z]+)/g)].map((m) => m[1]!);
}

/**
 * A path with its parameters filled in by `encode` (the client's percent-encoding of one
 * segment).
 */
export function fillPath(path: string, params: RequestParts['params'], encode: (value: string) => string) {
  return path.replace(/:([A-Za-z]+)(\([^)]*\))?/g, (_match, name: string) => {
    const value = params?.[name];
    if (value === undefined) throw new TypeError(`no value for path parameter ${name} of ${path}`);
    return encode(String(value));
  });
}

/**
 * The regular expression that matches a path (under /api/v1) and captures its parameters:
 * `:name` one segment, `:name(a|b)` one of those.
 */
export function pathPattern(path: string): RegExp {
  const source = path
    .split(/(:[A-Za-z]+(?:\([^)]*\))?)/)
    .map((part) => {
      const param = /^:[A-Za-z]+(?:\(([^)]*)\))?$/.exec(part);
      if (param) return `(${param[1] ?? '[^/]+'})`;
      return part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    })
    .join('');
  return new RegExp(`^/api/v1${source}$`);
}
