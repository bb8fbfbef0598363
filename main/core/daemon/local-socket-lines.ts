import type { JSONRPCMessage, RequestId } from '@modelcontextprotocol/server';
import { jsonRpcErrorOf, type JsonRpcErrorObject } from '../bridge/jsonrpc.ts';
import { jsonRpcKindOf, MAX_MESSAGE_BYTES } from '../bridge/jsonrpc-check.ts';
import { describeError, WardenError } from '../errors.ts';

/**
 * Newline-delimited JSON-RPC as MCP stdio carries it (MCP 2025-11-25, basic/transports, stdio):
 * one message per line, UTF-8, no embedded newlines. Both ends of the local socket use this
 * module, the connect shim (each stdin line) and the daemon (each socket line); it loads neither
 * zod nor the SDK, so the shim starts fast.
 */

/** Largest line taken, bytes (4 MiB): the same limit as an HTTP request body (MAX_MESSAGE_BYTES). */
export const MAX_LINE_BYTES = MAX_MESSAGE_BYTES;

/**
 * What one line is: a message to forward; an error to answer (with the line's id when it has
 * one); or a JSON-RPC batch, refused with one error per request in it (`batch` holds their ids).
 */
export type ParsedLine =
  { message: JSONRPCMessage } | { id: RequestId | null; error: JsonRpcErrorObject } | { batch: RequestId[] };

/** Why a batch line is refused (each of its requests gets this error). */
export const BATCH_REFUSED =
  'Invalid Request: JSON-RPC batches are not supported over stdio (MCP 2025-06-18 removed them); send one message per line';

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Decodes and validates one line (a Buffer without its newline, or the marker of a line over
 * the limit that was skipped). JSON.parse once, then the one structural check (bridge/jsonrpc-check.ts).
 */
export function parseLine(line: Buffer | { tooLong: number }): ParsedLine {
  if (!Buffer.isBuffer(line)) {
    return {
      id: null,
      error: jsonRpcErrorOf(
        new WardenError('TOO_LARGE', `message over the ${line.tooLong}-byte limit skipped`),
      ),
    };
  }
  let text: string;
  try {
    text = utf8.decode(line);
  } catch {
    return {
      id: null,
      error: jsonRpcErrorOf(new WardenError('PARSE_ERROR', 'Parse error: the message is not valid UTF-8')),
    };
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    return {
      id: null,
      error: jsonRpcErrorOf(new WardenError('PARSE_ERROR', `Parse error: ${describeError(error)}`)),
    };
  }
  if (Array.isArray(raw)) {
    const batch = raw.flatMap((item: unknown) => {
      const request = item as { id?: unknown; method?: unknown } | null;
      const id = request?.id;
      return typeof request === 'object' &&
        request !== null &&
        'method' in request &&
        (typeof id === 'string' || typeof id === 'number')
        ? [id]
        : [];
    });
    if (batch.length > 0) return { batch };
    return { id: null, error: jsonRpcErrorOf(new WardenError('INVALID_REQUEST', BATCH_REFUSED)) };
  }
  if (jsonRpcKindOf(raw) === undefined) {
    const id = (raw as { id?: unknown } | null)?.id;
    return {
      id: typeof id === 'string' || typeof id === 'number' ? id : null,
      error: jsonRpcErrorOf(
        new WardenError('INVALID_REQUEST', 'Invalid Request: not a JSON-RPC 2.0 message'),
      ),
    };
  }
  return { message: raw as JSONRPCMessage };
}

/** A line of a byte stream, or the marker of a line over the limit (skipped, not buffered). */
export type Line = Buffer | { tooLong: number };

/**
 * Splits a byte stream into lines (LF, optional CR), each at most `limit` bytes: a longer line
 * is reported once as `{ tooLong: limit }` and its bytes are dropped as they arrive, never
 * buffered whole. Empty lines are skipped.
 */
export class LineSplitter {
  /** The longest line taken, bytes; may change between lines (the next piece is held to it). */
  limit: number;
  readonly #onLine: (line: Line) => void;
  #parts: Buffer[] = [];
  #size = 0;
  #skipping = false;

  constructor(limit: number, onLine: (line: Line) => void) {
    this.limit = limit;
    this.#onLine = onLine;
  }

  /** Takes the next chunk of the stream. */
  push(chunk: Buffer): void {
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(0x0a, start);
      const piece = chunk.subarray(start, nl === -1 ? chunk.length : nl);
      if (!this.#skipping) {
        this.#size += piece.length;
        if (this.#size > this.limit) {
          this.#skipping = true;
          this.#parts = [];
          this.#onLine({ tooLong: this.limit });
        } else if (piece.length) this.#parts.push(piece);
      }
      if (nl === -1) return;
      if (!this.#skipping)
        this.#emit(this.#parts.length === 1 ? this.#parts[0]! : Buffer.concat(this.#parts));
      this.#parts = [];
      this.#size = 0;
      this.#skipping = false;
      start = nl + 1;
    }
  }

  /** The stream ended: a last line without a newline is still a line. */
  end(): void {
    if (!this.#skipping && this.#parts.length) this.#emit(Buffer.concat(this.#parts));
    this.#parts = [];
    this.#size = 0;
  }

  #emit(buf: Buffer): void {
    const line = buf.length && buf[buf.length - 1] === 0x0d ? buf.subarray(0, -1) : buf;
    if (line.length) this.#onLine(line);
  }
}

/**
 * Splits a readable byte stream into lines with a LineSplitter. Resolves when the stream ends
 * or closes.
 */
export function readLines(
  input: NodeJS.ReadableStream,
  limit: number,
  onLine: (line: Line) => void,
): Promise<void> {
  return new Promise((resolve) => {
    const splitter = new LineSplitter(limit, onLine);
    input.on('data', (chunk: Buffer) => splitter.push(chunk));
    input.once('end', () => {
      splitter.end();
      resolve();
    });
    input.once('close', () => resolve());
  });
}
