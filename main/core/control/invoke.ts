import type { Readable } from 'node:stream';
import { z } from 'zod';
import { WardenError } from '../errors.ts';
import type { ControlEvent } from './contract.ts';
import {
  operation,
  queryEntries,
  pathParams,
  type OperationInput,
  type OperationName,
  type OperationOutput,
  type OPERATIONS,
  type RequestParts,
} from './operations.ts';

/** A download an operation answers with (response 'text'): streamed by the daemon. */
export interface Download {
  contentType: string;
  filename: string;
  /** The bytes; the handler's resources are released when it ends or is destroyed. */
  stream: Readable;
}

/** Follows events until the returned function is called. */
export type EventsHandler = (send: (event: ControlEvent) => void) => () => void;

type Spec<K extends OperationName> = (typeof OPERATIONS)[K];

/** The handler of one operation: a transport-free service over validated input. */
export type HandlerOf<K extends OperationName> =
  Spec<K> extends { response: 'events' }
    ? EventsHandler
    : Spec<K> extends { response: 'text' }
      ? (input: OperationInput<K>) => Promise<Download>
      : (input: OperationInput<K>) => Promise<OperationOutput<K>> | OperationOutput<K>;

/** A handler for every operation of the table (control/handlers/index.ts). */
export type ControlHandlers = { [K in OperationName]: HandlerOf<K> };

/**
 * Validates a request's parts with the operation's schemas (contract: operations.ts): path
 * parameters (strings, as decoded from the URL), the query (as the URL's search parameters
 * carry it: strings; see queryEntries) and the JSON body.
 * @throws WardenError INVALID_REQUEST naming the part ("invalid body: …") and what is wrong.
 */
export function validateInput<K extends OperationName>(name: K, parts: RequestParts): OperationInput<K> {
  const spec = operation(name);
  const names = pathParams(spec.path);
  const params = Object.fromEntries(names.map((n) => [n, String(parts.params?.[n] ?? '')]));
  return {
    params: spec.params ? parse(spec.params, params, 'path') : params,
    query: spec.query ? parse(spec.query, parts.query ?? {}, 'query') : undefined,
    body: spec.body ? parse(spec.body, parts.body, 'body') : undefined,
  } as OperationInput<K>;
}

/**
 * Calls an operation's handler in this process, as the daemon would over HTTP: the parts are
 * validated, the answer is checked against the output schema (a download is read whole).
 * @throws WardenError whatever the handler throws, INVALID_REQUEST for invalid parts.
 */
export async function invokeOperation<K extends OperationName>(
  handlers: Partial<ControlHandlers>,
  name: K,
  parts: RequestParts,
): Promise<OperationOutput<K>> {
  const spec = operation(name);
  const handler = handlers[name] as ((input: unknown) => unknown) | undefined;
  if (!handler || spec.response === 'events')
    throw new WardenError(
      'DAEMON_UNREACHABLE',
      `${name} needs the Warden daemon: start it with \`mcp-warden serve\``,
    );
  const input = validateInput(name, {
    ...parts,
    ...(parts.query ? { query: Object.fromEntries(queryEntries(parts.query)) } : {}),
  });
  const result = await handler(input);
  if (spec.response === 'text') {
    const chunks: Buffer[] = [];
    for await (const chunk of (result as Download).stream as AsyncIterable<Buffer | string>)
      chunks.push(Buffer.from(chunk));
    return Buffer.concat(chunks).toString('utf8') as OperationOutput<K>;
  }
  return spec.output.parse(result) as OperationOutput<K>;
}

/** Parses `value`; INVALID_REQUEST "invalid <what>:" with zod's description otherwise. */
export function parse<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const parsed = schema.safeParse(value);
  if (!parsed.success)
    throw new WardenError('INVALID_REQUEST', `invalid ${what}:\n${z.prettifyError(parsed.error)}`);
  return parsed.data;
}
