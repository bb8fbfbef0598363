import type { JSONRPCMessage } from '@modelcontextprotocol/server';
import { describeError } from '../errors.ts';
import { jsonRpcKindOf } from './jsonrpc-check.ts';

/** What one line of a stdio server's stdout is: a message to pass on, or why it is skipped. */
export type UpstreamLine = { message: JSONRPCMessage } | { refused: string };

/**
 * Parses one line a stdio server wrote (MCP 2025-11-25, basic/transports, stdio: one JSON-RPC
 * message per line), without its newline: JSON.parse once, then the one structural check
 * (jsonRpcKindOf), which accepts exactly what the MCP SDK's JSONRPCMessageSchema accepts. A
 * trailing CR is dropped; bytes that are not UTF-8 are decoded with replacement characters (as
 * the SDK's ReadBuffer does, so a message never fails on them alone). Never throws.
 */
export function parseUpstreamLine(line: Buffer): UpstreamLine {
  const end = line.length > 0 && line[line.length - 1] === 0x0d ? line.length - 1 : line.length;
  let raw: unknown;
  try {
    raw = JSON.parse(line.toString('utf8', 0, end));
  } catch (error) {
    return { refused: `not JSON: ${describeError(error)}` };
  }
  if (jsonRpcKindOf(raw) === undefined) return { refused: 'not a JSON-RPC 2.0 message' };
  return { message: raw as JSONRPCMessage };
}

/**
 * Splits a stdio server's stdout into lines (LF), holding at most `limit` bytes of a line not
 * yet ended: `push` answers false, and drops what it held, when the bytes held plus a new chunk
 * would exceed it (the limit of the SDK's ReadBuffer, counted the same way). Each complete line,
 * empty ones included, goes to `onLine` as it is (CR and all; parseUpstreamLine drops it).
 */
export class UpstreamLineReader {
  readonly #limit: number;
  readonly #onLine: (line: Buffer) => void;
  #held: Buffer[] = [];
  #heldBytes = 0;

  /** @param limit bytes; @param onLine each complete line, without its LF. */
  constructor(limit: number, onLine: (line: Buffer) => void) {
    this.#limit = limit;
    this.#onLine = onLine;
  }

  /** Takes the next chunk. @returns false when the limit was passed (nothing is held then). */
  push(chunk: Buffer): boolean {
    if (this.#heldBytes + chunk.length > this.#limit) {
      this.clear();
      return false;
    }
    let start = 0;
    let nl = chunk.indexOf(0x0a);
    if (nl !== -1 && this.#heldBytes > 0) {
      this.#held.push(chunk.subarray(0, nl));
      const line = Buffer.concat(this.#held);
      this.clear();
      this.#onLine(line);
      start = nl + 1;
      nl = chunk.indexOf(0x0a, start);
    }
    while (nl !== -1) {
      this.#onLine(chunk.subarray(start, nl));
      start = nl + 1;
      nl = chunk.indexOf(0x0a, start);
    }
    if (start < chunk.length) {
      this.#held.push(chunk.subarray(start));
      this.#heldBytes += chunk.length - start;
    }
    return true;
  }

  /** Drops a line not yet ended. */
  clear(): void {
    this.#held = [];
    this.#heldBytes = 0;
  }
}
