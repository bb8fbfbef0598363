import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { WardenError } from '../errors.ts';

/**
 * Checks of every request to the daemon, before anything else runs
 * (MCP 2025-11-25, basic/transports, "Security Warning": validate Origin, bind to localhost,
 * authenticate): a Host that is not the daemon's own loopback address, or an Origin other than
 * the daemon's own, is refused with 403 (DNS rebinding, cross-site requests); a missing or wrong
 * bearer token with 401.
 */

/** The Host header values the daemon answers to. */
export function allowedHosts(port: number): Set<string> {
  return new Set([`127.0.0.1:${port}`, `localhost:${port}`]);
}

/** The Origin header values the daemon accepts (its own pages); requests without Origin pass. */
export function allowedOrigins(port: number): Set<string> {
  return new Set([`http://127.0.0.1:${port}`, `http://localhost:${port}`]);
}

export class HttpGate {
  readonly #hosts: Set<string>;
  readonly #origins: Set<string>;
  readonly #token: Buffer;

  constructor(port: number, token: string) {
    this.#hosts = allowedHosts(port);
    this.#origins = allowedOrigins(port);
    this.#token = Buffer.from(`Bearer ${token}`);
  }

  /**
   * Returns why the request is refused (WardenError FORBIDDEN, answered 403, or UNAUTHORIZED,
   * 401), or undefined when it may proceed.
   * @param options.tokenRequired false for routes anyone on this machine may reach (static UI,
   *   OAuth callback, the dashboard ticket exchange): Host and Origin are still checked.
   * @param options.alsoAccept another credential this route accepts (dashboard session tokens).
   */
  check(
    req: IncomingMessage,
    options: { tokenRequired?: boolean; alsoAccept?: (authorization: string) => boolean } = {},
  ): WardenError | undefined {
    const host = req.headers.host?.toLowerCase();
    if (!host || !this.#hosts.has(host)) {
      return new WardenError(
        'FORBIDDEN',
        `Forbidden: Host "${host ?? ''}" is not this daemon's loopback address`,
      );
    }
    const origin = req.headers.origin;
    if (origin !== undefined && !this.#origins.has(origin.toLowerCase())) {
      return new WardenError('FORBIDDEN', `Forbidden: requests from Origin "${origin}" are not allowed`);
    }
    if (options.tokenRequired === false) return undefined;
    const auth = req.headers.authorization;
    if (auth === undefined) {
      return new WardenError(
        'UNAUTHORIZED',
        'Unauthorized: a bearer token is required (see the daemon state file)',
      );
    }
    const given = Buffer.from(auth);
    const daemonToken = given.length === this.#token.length && timingSafeEqual(given, this.#token);
    if (!daemonToken && !options.alsoAccept?.(auth)) {
      return new WardenError('UNAUTHORIZED', 'Unauthorized: the bearer token is not valid');
    }
    return undefined;
  }
}
