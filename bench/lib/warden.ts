import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { ControlClient } from '../../main/core/control/control-client.ts';
import type { EventLoopFigures } from '../../main/core/control/contract.ts';
import {
  CLI,
  everythingServer,
  makeWardenEnv,
  startDaemonProcess,
  waitFor,
  type DaemonProcess,
  type WardenEnv,
} from '../../test/helpers/warden-env.ts';

/** The server name the bench's Warden serves server-everything under. */
export const SERVER = 'everything';

/** A Warden daemon (a real `mcp-warden serve` process) guarding server-everything, for the bench. */
export interface BenchWarden {
  env: WardenEnv;
  daemon: DaemonProcess;
  control: ControlClient;
  /** The daemon's Streamable HTTP endpoint for the server, and the header it needs. */
  endpoint: { url: string; headers: Record<string, string> };
  /** A stdio transport that spawns `mcp-warden connect everything`, as Claude Desktop does. */
  shimTransport(): StdioClientTransport;
  /** Resolves once the daemon has no open session of the server (within 20 s). */
  idle(): Promise<void>;
  /**
   * Resolves once the server's warm upstream is ready (status `warm.state`), so the next session
   * is handed an initialized process (within 20 s).
   * @throws Error when it is not ready by then, naming the state and reason it had.
   */
  warmReady(): Promise<void>;
  /** Opens a new event-loop window in the daemon (measureEventLoop). */
  measureEventLoop(): Promise<void>;
  /** The daemon's event-loop figures of the open window (status). */
  eventLoop(): Promise<EventLoopFigures>;
  stop(): Promise<void>;
}

/**
 * Starts a fresh Warden in a temp home: config with server-everything (its read-only tools such
 * as echo run without approval), guard and audit on, log level warn.
 */
export async function startWarden(): Promise<BenchWarden> {
  const env = makeWardenEnv();
  env.env.MCP_WARDEN_LOG_LEVEL = 'warn';
  env.writeConfig({ mcpServers: { [SERVER]: everythingServer() } });
  const daemon = await startDaemonProcess(env);
  const control = new ControlClient(`${daemon.url}/api/v1`, daemon.token);
  return {
    env,
    daemon,
    control,
    endpoint: {
      url: new URL(`/mcp/${SERVER}`, daemon.url).href,
      headers: { authorization: `Bearer ${daemon.token}` },
    },
    shimTransport: () =>
      new StdioClientTransport({
        command: CLI,
        args: ['connect', SERVER],
        env: env.env as Record<string, string>,
        stderr: 'ignore',
      }),
    async idle() {
      await waitFor(
        async () => (await control.status()).servers.every((s) => s.sessions === 0),
        20_000,
        'the daemon to close its sessions',
      );
    },
    async warmReady() {
      let last: unknown;
      await waitFor(
        async () => {
          const server = (await control.status()).servers.find((s) => s.name === SERVER);
          last = server?.warm;
          return server?.warm?.state === 'ready';
        },
        20_000,
        `the warm upstream of ${SERVER} to be ready`,
      ).catch((error: unknown) => {
        throw new Error(`${(error as Error).message} (last: ${JSON.stringify(last)})`);
      });
    },
    async measureEventLoop() {
      await control.request('measureEventLoop', {});
    },
    async eventLoop() {
      return (await control.status()).eventLoop;
    },
    async stop() {
      await daemon.stop();
      env.cleanup();
    },
  };
}
