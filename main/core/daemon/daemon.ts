import fs from 'node:fs';
import path from 'node:path';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { WardenConfig } from '../config/schema.ts';
import { parseConfig } from '../config/load.ts';
import { openChangeContext } from '../change/context.ts';
import { sealLegacyBackups } from '../clients/backup.ts';
import { describeRecovery, recoverChanges } from '../change/run-change.ts';
import { describeError, WardenError } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { WardenPaths } from '../paths.ts';
import { WARDEN_VERSION } from '../version.ts';
import { nodeHttp } from '../node-http.ts';
import { Gateway, type GatewayOptions } from './gateway.ts';
import { listenLocalSocket, type ListeningLocalSocket } from './local-socket-listen.ts';
import { listenMetricsPort, type MetricsPort } from './metrics-route.ts';
import { localSocketLocation } from './local-socket-path.ts';
import { loadOrCreateToken, probeDaemon, readDaemonState, writeDaemonState } from '../state-file.ts';
import { WardenCore } from '../runtime/warden-core.ts';
import { OAUTH_CALLBACK_PATH } from '../oauth/oauth.ts';
import { watchInForce } from '../runtime/watch-in-force.ts';

/** The daemon only ever listens here (never on a routable address). */
export const LOOPBACK = '127.0.0.1';

export { PORT_ENV_VAR } from '../env-settings.ts';

export interface DaemonOptions {
  config: WardenConfig;
  paths: WardenPaths;
  logger: Logger;
  /** Overrides the config's port; 0 picks a free one (tests). */
  port?: number;
  /** Overrides the config's `metrics.port` (tokenless metrics on loopback); 0 picks a free one (tests). */
  metricsPort?: number;
  /** Another managed policy file than the OS default (tests). */
  managedPolicyFile?: string;
  /** Gateway overrides (tests; the app passes its own UI directory). */
  gateway?: Pick<GatewayOptions, 'session' | 'idleMs' | 'uiDir'>;
}

export interface RunningDaemon {
  url: string;
  port: number;
  token: string;
  gateway: Gateway;
  core: WardenCore;
  /** The tokenless loopback metrics port, when `metrics.port` turns it on. */
  metricsPort?: number;
  /**
   * Stops accepting requests, ends every session and the whole process tree of every upstream
   * (waiting for them, a few seconds at most), closes the audit log.
   */
  close(): Promise<void>;
}

/**
 * Starts the daemon: one per user. Opens the audit log, listens on 127.0.0.1 and on its local
 * socket (local-socket-path.ts), and records the port, socket, token and pid in the state file
 * for shims.
 * @throws WardenError DAEMON_ALREADY_RUNNING when a daemon already answers (saying where),
 *   DAEMON_PORT_IN_USE when something else holds the port, AUDIT_FAILED when the audit log
 *   cannot be opened, RUNTIME_DIR_UNSAFE when the local socket's directory is not private.
 */
export async function startDaemon(options: DaemonOptions): Promise<RunningDaemon> {
  const { paths, logger } = options;
  const existing = readDaemonState(paths.daemonStateFile);
  const running = await probeDaemon(existing);
  if (running) throw alreadyRunning(existing?.url, running.pid, running.config);
  const config = await recoverInterruptedChange(options.config, paths, logger);

  const token = loadOrCreateToken(paths.daemonStateFile);
  const core = WardenCore.open(
    config,
    paths,
    logger,
    options.managedPolicyFile ? { managedPolicyFile: options.managedPolicyFile } : {},
  );
  try {
    await core.startOrgSync();
  } catch (error) {
    core.close();
    throw error;
  }
  const server = nodeHttp().createServer({ keepAliveTimeout: 60_000 });
  try {
    await listen(server, options.port ?? config.port);
  } catch (error) {
    core.close();
    if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      // Another daemon may be starting at this very moment: give it a moment to say so.
      for (let i = 0; i < 20; i++) {
        const state = readDaemonState(paths.daemonStateFile);
        const health = await probeDaemon(state, 500);
        if (health) throw alreadyRunning(state?.url, health.pid, health.config);
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new WardenError(
        'DAEMON_PORT_IN_USE',
        `port ${options.port ?? config.port} on ${LOOPBACK} is used by another program; ` +
          'set another one with --port, $MCP_WARDEN_PORT or "daemon.port" in the config',
      );
    }
    throw error;
  }
  const port = (server.address() as AddressInfo).port;
  const url = `http://${LOOPBACK}:${port}`;
  core.oauth.setRedirectUrl(`${url}${OAUTH_CALLBACK_PATH}`);
  // Attached in the same tick as `listen` resolves, before any connection is processed.
  const gateway = new Gateway({ port, token, core, logger, ...options.gateway });
  server.on('request', gateway.handle);
  // Only the daemon that holds the port gets here: it may replace a stale local socket.
  let local: ListeningLocalSocket;
  try {
    local = await listenLocalSocket(localSocketLocation(paths.stateDir), gateway.acceptLocal, logger);
  } catch (error) {
    server.close();
    await gateway.close();
    core.close();
    throw error;
  }
  let metrics: MetricsPort | undefined;
  const metricsPort = options.metricsPort ?? config.metricsPort;
  if (metricsPort !== undefined) {
    try {
      metrics = await listenMetricsPort(metricsPort, core.metrics, logger);
    } catch (error) {
      local.close();
      server.close();
      await gateway.close();
      core.close();
      throw error;
    }
  }
  // Only now that this daemon owns the port: end what a killed predecessor left running.
  const leftovers = core.upstreams.endLeftovers().catch((error: unknown) => {
    logger.warn({ err: describeError(error) }, 'could not check for upstream processes left running');
  });
  // The config file and the managed policy: edits are put in force while running (StateInForce).
  const unwatch = watchInForce(core.inForce, logger);
  writeDaemonState(paths.daemonStateFile, {
    token,
    port,
    pid: process.pid,
    socket: local.path,
    url,
    configFile: config.file,
    version: WARDEN_VERSION,
    startedAt: new Date().toISOString(),
  });
  logger.info(
    {
      url,
      socket: local.path,
      config: config.file,
      servers: [...config.servers.keys()],
      audit: paths.auditDb,
    },
    'daemon listening',
  );

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closing ??= (async () => {
      unwatch();
      local.close();
      metrics?.close();
      server.close();
      server.closeAllConnections();
      core.broker.withdrawAll('MCP Warden is shutting down');
      await gateway.close();
      await leftovers;
      core.close();
      const state = readDaemonState(paths.daemonStateFile);
      if (state?.pid === process.pid) writeDaemonState(paths.daemonStateFile, { token: state.token });
      logger.info('daemon stopped');
    })());
  return {
    url,
    port,
    token,
    gateway,
    core,
    ...(metrics ? { metricsPort: metrics.port } : {}),
    close,
  };
}

function alreadyRunning(url: string | undefined, pid: number, config: string): WardenError {
  return new WardenError(
    'DAEMON_ALREADY_RUNNING',
    `MCP Warden is already running (pid ${pid}) at ${url ?? 'an unknown address'} with config ${config}; ` +
      'stop it first, or connect to it with `mcp-warden connect <server>`',
  );
}

function listen(server: Server, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, LOOPBACK, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/**
 * Recovers what an interrupted multi-step change left (see recoverChanges) before the daemon
 * serves anything; when it touched the config file, the config is read again. A change that
 * cannot be recovered yet (e.g. no keychain) is logged, and the daemon starts with the config as
 * it is (each file is wholly before or after the change). Then client config backups that
 * earlier versions kept in plain text are encrypted.
 */
async function recoverInterruptedChange(
  config: WardenConfig,
  paths: WardenPaths,
  logger: Logger,
): Promise<WardenConfig> {
  const { ctx, close } = openChangeContext(paths);
  try {
    let current = config;
    try {
      const recovered = await recoverChanges(ctx);
      if (recovered) {
        logger.warn({ change: recovered.what, outcome: recovered.outcome }, describeRecovery(recovered));
        const real = fs.existsSync(config.file) ? fs.realpathSync(config.file) : config.file;
        if (recovered.files.includes(real))
          current = parseConfig(fs.readFileSync(config.file, 'utf8'), config.file);
      }
    } catch (error) {
      logger.warn({ err: error }, 'an interrupted change could not be recovered yet');
    }
    try {
      const sealed = await sealLegacyBackups(path.join(paths.dataDir, 'backups'), ctx);
      if (sealed.length)
        logger.info({ files: sealed }, 'client config backups kept in plain text are now encrypted');
    } catch (error) {
      logger.warn({ err: error }, 'client config backups kept in plain text could not be encrypted yet');
    }
    return current;
  } finally {
    close();
  }
}
