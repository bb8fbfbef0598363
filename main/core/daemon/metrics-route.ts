import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describeError, WardenError } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { WardenMetrics } from '../metrics/warden-metrics.ts';
import { nodeHttp } from '../node-http.ts';
import { allowedHosts } from './http-gate.ts';

/** The path of the Prometheus metrics, on the daemon's port and on the opt-in metrics port. */
export const METRICS_PATH = '/metrics';

/**
 * Answers a request for the metrics: `GET` (or `HEAD`) gets the registry in the Prometheus text
 * exposition format 0.0.4 (`text/plain; version=0.0.4`), never cached; other methods 405. The
 * caller has checked who may ask (the daemon's HTTP gate, or the metrics port's Host check).
 */
export async function serveMetrics(
  req: IncomingMessage,
  res: ServerResponse,
  metrics: WardenMetrics,
): Promise<void> {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' });
    res.end(`${req.method ?? 'this method'} is not allowed on ${METRICS_PATH}: use GET\n`);
    return;
  }
  const { contentType, text } = await metrics.render();
  res.writeHead(200, {
    'content-type': contentType,
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
  });
  res.end(req.method === 'HEAD' ? undefined : text);
}

/** The opt-in metrics port, listening. */
export interface MetricsPort {
  /** The port it listens on, on 127.0.0.1 (the one asked for, or the one picked for 0). */
  port: number;
  /** Stops listening and drops its connections. */
  close(): void;
}

/**
 * Listens on 127.0.0.1:`port` for a local Prometheus that has no token (`metrics.port` in the
 * config; off by default): it answers only `GET /metrics`, with no token asked, and nothing else
 * of the daemon. A Host other than 127.0.0.1/localhost at this port is refused with 403, like the
 * daemon's own port (DNS rebinding); so is any request with an Origin header (a web page).
 * @param port the port, 0 for a free one (tests).
 * @throws WardenError DAEMON_PORT_IN_USE when the port is taken; the listen error otherwise.
 */
export async function listenMetricsPort(
  port: number,
  metrics: WardenMetrics,
  logger: Logger,
): Promise<MetricsPort> {
  const host = '127.0.0.1';
  const server: Server = nodeHttp().createServer((req, res) => {
    answer(req, res, metrics, actual).catch((error: unknown) => {
      logger.error({ err: describeError(error) }, 'metrics request failed');
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });
  let actual = port;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        error.code === 'EADDRINUSE'
          ? new WardenError(
              'DAEMON_PORT_IN_USE',
              `the metrics port ${port} on ${host} is used by another program: set another "metrics.port" in the config`,
            )
          : error,
      ),
    );
    server.listen(port, host, () => resolve());
  });
  actual = (server.address() as AddressInfo).port;
  logger.info({ url: `http://${host}:${actual}${METRICS_PATH}` }, 'metrics port listening (no token)');
  return {
    port: actual,
    close: () => {
      server.close();
      server.closeAllConnections();
    },
  };
}

async function answer(
  req: IncomingMessage,
  res: ServerResponse,
  metrics: WardenMetrics,
  port: number,
): Promise<void> {
  const plain = (status: number, text: string): void => {
    res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' });
    res.end(text + '\n');
  };
  const hostHeader = req.headers.host?.toLowerCase();
  if (!hostHeader || !allowedHosts(port).has(hostHeader)) {
    plain(403, `Forbidden: Host "${hostHeader ?? ''}" is not this metrics port's loopback address`);
    return;
  }
  if (req.headers.origin !== undefined) {
    plain(403, 'Forbidden: the metrics port answers no web page (Origin header)');
    return;
  }
  const path = (req.url ?? '').split('?')[0];
  if (path !== METRICS_PATH) {
    plain(404, `Not found: this port serves only ${METRICS_PATH}`);
    return;
  }
  await serveMetrics(req, res, metrics);
}
