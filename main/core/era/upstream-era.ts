import { DiscoverResultSchema } from '@modelcontextprotocol/core';
import type { ServerConfig } from '../config/schema.ts';
import { identityHash, serverIdentity } from '../policy/identity.ts';
import { describeError } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { UpstreamEra, UpstreamEraStore } from '../store/upstream-eras.ts';
import { MODERN_PROTOCOL_VERSION, wardenEnvelope } from './modern.ts';

/** How long a stdio server gets to answer the probe's `server/discover` before it counts as legacy, ms. */
export const PROBE_TIMEOUT_MS = 5_000;

/** The id of the probe's request (Warden's own ids start with `mcp-warden/`). */
const PROBE_ID = 'mcp-warden/server/discover/probe';

/** What the probe needs of a link to the server (bridge/upstream-link.ts's UpstreamLink is one). */
export interface ProbeLink {
  start(): Promise<void>;
  send(message: {
    jsonrpc: '2.0';
    id: string;
    method: string;
    params: Record<string, unknown>;
  }): Promise<void>;
  close(): Promise<void>;
  onmessage?: (message: never) => void;
  onclose?: (reason: string) => void;
}

export interface UpstreamErasOptions {
  /** Where verdicts persist (state.db); absent: in memory only. */
  store?: Pick<UpstreamEraStore, 'get' | 'put' | 'forget'>;
  /** A new, unstarted link to the server (of the modern era for url servers), used once for the probe and closed. */
  createLink: (server: ServerConfig, logger: Logger) => ProbeLink;
  /** Warden's version, named in the probe's clientInfo. */
  version: string;
  logger: Logger;
  /** Probe timeout, ms (default PROBE_TIMEOUT_MS). */
  timeoutMs?: number;
}

/**
 * The protocol era of each configured server, probed once per server identity and cached
 * (memory, and state.db through the store), following MCP 2026-07-28 basic/versioning
 * ("backward compatibility with initialization-based versions"):
 * - stdio: Warden starts the server on a link of its own, sends `server/discover` first and
 *   waits up to the timeout: a DiscoverResult naming 2026-07-28 means modern; any error, a
 *   result that is not one, silence, or the process ending means legacy (the fallback is not
 *   keyed to one error code). The probe's process is then ended; sessions start their own.
 * - Streamable HTTP: the same `server/discover` as a 2026-07-28 request on the era's link
 *   (upstream-modern-http.ts): a DiscoverResult means modern; a 400 that is not one (a legacy
 *   server's "Mcp-Session-Id required"), any other HTTP error or no answer means legacy
 *   (#backward-compatibility).
 * Fail closed: an era Warden cannot determine is legacy. A cached verdict is forgotten when it
 * fails (forget), and the next modern client probes again.
 */
export class UpstreamEras {
  readonly #opts: UpstreamErasOptions;
  /** Verdicts by server name, each for the identity (hash) it was probed as. */
  readonly #known = new Map<string, { identity: string; era: UpstreamEra }>();
  /** Probes in progress, by name and identity. */
  readonly #probing = new Map<string, Promise<UpstreamEra>>();

  constructor(options: UpstreamErasOptions) {
    this.#opts = options;
  }

  /** The era of `server`: cached, else probed now (concurrent callers share one probe). Never rejects. */
  verdict(server: ServerConfig): Promise<UpstreamEra> {
    const cached = this.known(server);
    if (cached) return Promise.resolve(cached);
    const key = `${server.name}\n${identityOf(server)}`;
    let probing = this.#probing.get(key);
    if (!probing) {
      probing = this.#probe(server).finally(() => this.#probing.delete(key));
      this.#probing.set(key, probing);
    }
    return probing;
  }

  /** The cached era of `server` (no probe); undefined when it was not probed as its current identity. */
  known(server: ServerConfig): UpstreamEra | undefined {
    const known = this.#known.get(server.name);
    if (known?.identity === identityOf(server)) return known.era;
    return this.#stored(server);
  }

  /** Forgets the verdict of the server named `name`: its cached assumption failed. */
  forget(name: string, why: string): void {
    this.#known.delete(name);
    try {
      this.#opts.store?.forget(name);
    } catch (error) {
      this.#opts.logger.warn({ err: describeError(error), server: name }, 'could not forget an era verdict');
    }
    this.#opts.logger.info({ server: name }, `the server's protocol era will be probed again: ${why}`);
  }

  #stored(server: ServerConfig): UpstreamEra | undefined {
    try {
      const era = this.#opts.store?.get(server);
      if (era) this.#known.set(server.name, { identity: identityOf(server), era });
      return era;
    } catch (error) {
      this.#opts.logger.warn(
        { err: describeError(error), server: server.name },
        'could not read an era verdict',
      );
      return undefined;
    }
  }

  async #probe(server: ServerConfig): Promise<UpstreamEra> {
    const logger = this.#opts.logger.child({ server: server.name, component: 'era-probe' });
    const era = await probeEra(
      this.#opts.createLink(server, logger),
      this.#opts.version,
      this.#opts.timeoutMs ?? PROBE_TIMEOUT_MS,
    ).catch((error: unknown) => {
      logger.info({ err: describeError(error) }, 'the era probe failed; the server is taken as 2025-11-25');
      return 'legacy' as const;
    });
    logger.info(
      { era },
      `the server speaks ${era === 'modern' ? MODERN_PROTOCOL_VERSION : '2025-11-25 (initialize)'}`,
    );
    this.#known.set(server.name, { identity: identityOf(server), era });
    try {
      this.#opts.store?.put(server, era);
    } catch (error) {
      logger.warn({ err: describeError(error) }, 'could not record the era verdict');
    }
    return era;
  }
}

/**
 * Probes one server on `link` (started here, always closed): `server/discover` first, as a
 * 2026-07-28 client does (spec basic/transports/stdio#backward-compatibility and
 * streamable-http#backward-compatibility).
 * @returns `modern` for a DiscoverResult that names 2026-07-28, else `legacy`.
 * @throws what starting the link throws (the caller takes the server as legacy).
 */
export async function probeEra(link: ProbeLink, version: string, timeoutMs: number): Promise<UpstreamEra> {
  let settle: (era: UpstreamEra) => void = () => undefined;
  const verdict = new Promise<UpstreamEra>((resolve) => (settle = resolve));
  const timer = setTimeout(() => settle('legacy'), timeoutMs);
  link.onmessage = (message: { id?: unknown; result?: unknown; error?: unknown }) => {
    if (message.id !== PROBE_ID) return;
    settle(isModernDiscover(message.result) ? 'modern' : 'legacy');
  };
  link.onclose = () => settle('legacy');
  try {
    await link.start();
    await link.send({
      jsonrpc: '2.0',
      id: PROBE_ID,
      method: 'server/discover',
      params: { _meta: wardenEnvelope(version) },
    });
    return await verdict;
  } finally {
    clearTimeout(timer);
    await link.close().catch(() => undefined);
  }
}

/** Whether a result is a DiscoverResult (the SDK v2 core schema) that offers 2026-07-28. */
function isModernDiscover(result: unknown): boolean {
  const parsed = DiscoverResultSchema.safeParse(result);
  return parsed.success && parsed.data.supportedVersions.includes(MODERN_PROTOCOL_VERSION);
}

/** The identity a verdict is for (command and args, or URL: policy/identity.ts). */
function identityOf(server: ServerConfig): string {
  return identityHash(serverIdentity(server));
}
