import type { IncomingMessage } from 'node:http';
import type getRawBodyType from 'raw-body';
import { WardenError } from './errors.ts';

let rawBody: typeof getRawBodyType | undefined;

/**
 * Reads an HTTP request's body bytes with raw-body: at most `limit` bytes (a Content-Length over
 * it is refused before reading) and exactly the declared Content-Length. On any failure the rest
 * of the body is drained (raw-body leaves the stream paused) so an answer can still be sent.
 * raw-body is loaded on first use, so the connect shim, which imports request-body.ts for its
 * limits, does not pay for it at start.
 * @param tooLarge the message of the TOO_LARGE error (each endpoint words its limit).
 * @throws WardenError TOO_LARGE over `limit`; INVALID_REQUEST when the client closed before the
 *   body ended, sent other than its Content-Length, or the stream failed.
 */
export async function readBodyBytes(req: IncomingMessage, limit: number, tooLarge: string): Promise<Buffer> {
  // Loaded once: a dynamic import() of a loaded module still goes through the module loader.
  const getRawBody = (rawBody ??= (await import('raw-body')).default);
  try {
    return await getRawBody(req, { limit, length: req.headers['content-length'] });
  } catch (error) {
    req.resume();
    const type = (error as { type?: unknown }).type;
    if (type === 'entity.too.large') throw new WardenError('TOO_LARGE', tooLarge, { cause: error });
    const why =
      type === 'request.aborted'
        ? 'the client closed the request before its body ended'
        : type === 'request.size.invalid'
          ? 'the body is shorter or longer than its Content-Length'
          : `the body could not be read (${error instanceof Error ? error.message : String(error)})`;
    throw new WardenError('INVALID_REQUEST', `Invalid Request: ${why}`, { cause: error });
  }
}
