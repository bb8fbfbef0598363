import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { EVERYTHING_JS, NODE, ROOT, freePort, waitFor } from '../../test/helpers/warden-env.ts';

/** A peer bridge's entry script in node_modules, or why it cannot run. */
export type PeerScript = { script: string; version: string } | { missing: string };

function peerScript(pkg: string, entry: string): PeerScript {
  const dir = path.join(ROOT, 'node_modules', pkg);
  const script = path.join(dir, entry);
  if (!fs.existsSync(script))
    return { missing: `${pkg} is not installed (npm ci installs it as a dev dependency)` };
  const { version } = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as {
    version: string;
  };
  return { script, version };
}

/** supergateway: the peer stdio -> Streamable HTTP bridge. */
export const SUPERGATEWAY = peerScript('supergateway', 'dist/index.js');
/** mcp-remote: the peer stdio -> remote HTTP bridge clients launch. */
export const MCP_REMOTE = peerScript('mcp-remote', 'dist/proxy.js');

/** A running supergateway in front of server-everything. */
export interface Supergateway {
  url: string;
  pid: number | undefined;
  stop(): Promise<void>;
}

/**
 * Starts supergateway --stateful --outputTransport streamableHttp in front of server-everything
 * (one child server per session) on a free loopback port; resolves once it answers HTTP.
 * @throws Error when supergateway is missing, exits, or does not answer within 20 s.
 */
export async function startSupergateway(): Promise<Supergateway> {
  if ('missing' in SUPERGATEWAY) throw new Error(SUPERGATEWAY.missing);
  const port = await freePort();
  const child: ChildProcess = spawn(
    NODE,
    [
      SUPERGATEWAY.script,
      '--stdio',
      `${NODE} ${EVERYTHING_JS} stdio`,
      '--outputTransport',
      'streamableHttp',
      '--stateful',
      '--port',
      String(port),
      '--logLevel',
      'none',
    ],
    { stdio: 'ignore' },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `http://127.0.0.1:${port}/mcp`;
  await waitFor(
    () => {
      if (child.exitCode !== null) throw new Error(`supergateway exited with ${child.exitCode}`);
      return answersHttp(url);
    },
    20_000,
    'supergateway to listen',
  );
  return {
    url,
    pid: child.pid,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

/** Does anything answer HTTP at `url` (any status)? */
export function answersHttp(url: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.get(url, (res) => {
      res.resume();
      resolve(true);
    });
    req.on('error', () => resolve(false));
    req.setTimeout(1_000, () => req.destroy());
  });
}

/**
 * The command line that runs mcp-remote in front of `url` as a stdio server, as a client config
 * would (`--transport http-only --silent`), with its own MCP_REMOTE_CONFIG_DIR (a temp dir,
 * removed by `cleanup`).
 * @throws Error when mcp-remote is missing.
 */
export function mcpRemoteCommand(url: string): {
  command: string;
  args: string[];
  env: Record<string, string>;
  cleanup: () => void;
} {
  if ('missing' in MCP_REMOTE) throw new Error(MCP_REMOTE.missing);
  const configDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-mcp-remote-'));
  return {
    command: NODE,
    args: [MCP_REMOTE.script, url, '--transport', 'http-only', '--silent'],
    env: { PATH: process.env.PATH ?? '', HOME: configDir, MCP_REMOTE_CONFIG_DIR: configDir },
    cleanup: () => fs.rmSync(configDir, { recursive: true, force: true }),
  };
}
