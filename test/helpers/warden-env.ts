/**
 * Test harness: an isolated Warden "user" per test (its own HOME and XDG dirs, so config,
 * audit log and daemon state never touch the real ones), real reference servers from
 * node_modules, and the real CLI.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { resolvePaths, type WardenPaths } from '../../main/core/paths.ts';
import { readDaemonState, type DaemonState } from '../../main/core/state-file.ts';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
/**
 * The CLI as client configs launch it from a checkout: bin/mcp-warden, which runs the compiled
 * build in dist/ and refuses one older than main/ (`npm test` builds first: its `pretest`; after
 * editing main/ run `npm run build:main` before running test files one by one).
 */
export const CLI = path.join(ROOT, 'bin', 'mcp-warden');
export const NODE = process.execPath;

/** Entry scripts of the reference servers installed as devDependencies. */
export const EVERYTHING_JS = path.join(
  ROOT,
  'node_modules/@modelcontextprotocol/server-everything/dist/index.js',
);
export const FILESYSTEM_JS = path.join(
  ROOT,
  'node_modules/@modelcontextprotocol/server-filesystem/dist/index.js',
);
export const INSPECTOR_CLI = path.join(
  ROOT,
  'node_modules/@modelcontextprotocol/inspector/clients/launcher/build/index.js',
);

export interface WardenEnv {
  home: string;
  env: NodeJS.ProcessEnv;
  paths: WardenPaths;
  /**
   * Writes the user's config. Unless `allowServers` is false, a `policy.servers` rule allowing
   * (and trusting) each configured stdio server's exact command and argv, and each URL, is added:
   * tests state which servers they run, as a user's policy would.
   */
  writeConfig(config: Record<string, unknown>, options?: { allowServers?: boolean }): void;
  state(): DaemonState | undefined;
  cleanup(): void;
}

/** A fresh, isolated user environment. */
export function makeWardenEnv(): WardenEnv {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'warden-test-'));
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: home,
    XDG_CONFIG_HOME: path.join(home, '.config'),
    XDG_DATA_HOME: path.join(home, '.local/share'),
    XDG_STATE_HOME: path.join(home, '.local/state'),
    XDG_CACHE_HOME: path.join(home, '.cache'),
    MCP_WARDEN_LOG_LEVEL: 'debug',
  };
  const paths = resolvePaths(undefined, env);
  // env-paths reads process.env; recompute with the test env's XDG variables.
  const base = {
    configDir: path.join(home, '.config/mcp-warden'),
    dataDir: path.join(home, '.local/share/mcp-warden'),
    stateDir: path.join(home, '.local/state/mcp-warden'),
  };
  const isolated: WardenPaths = {
    ...paths,
    configDir: base.configDir,
    configFile: path.join(base.configDir, 'config.json'),
    dataDir: base.dataDir,
    auditDb: path.join(base.dataDir, 'audit.db'),
    stateDb: path.join(base.dataDir, 'state.db'),
    sandboxDir: path.join(base.dataDir, 'sandbox'),
    stateDir: base.stateDir,
    daemonStateFile: path.join(base.stateDir, 'daemon.json'),
    daemonLogFile: path.join(base.stateDir, 'daemon.log'),
  };
  return {
    home,
    env,
    paths: isolated,
    writeConfig(config, options = {}) {
      fs.mkdirSync(isolated.configDir, { recursive: true });
      const written = options.allowServers === false ? config : withServerAllowRules(config);
      fs.writeFileSync(isolated.configFile, JSON.stringify(written, null, 2));
    },
    state: () => readDaemonState(isolated.daemonStateFile),
    cleanup() {
      fs.rmSync(home, { recursive: true, force: true });
    },
  };
}

/** Adds a trusted allow rule for the exact identity of every server in `mcpServers`. */
export function withServerAllowRules(config: Record<string, unknown>): Record<string, unknown> {
  const servers = (config.mcpServers ?? {}) as Record<
    string,
    { command?: string; args?: string[]; url?: string }
  >;
  const policy = { ...((config.policy ?? {}) as Record<string, unknown>) };
  const rules = [...((policy.servers as unknown[] | undefined) ?? [])];
  for (const entry of Object.values(servers)) {
    if (entry.url) rules.push({ url: entry.url, trusted: true });
    else if (entry.command)
      rules.push({ command: entry.command, args: (entry.args ?? []).map(escapeGlob), trusted: true });
  }
  return { ...config, policy: { ...policy, servers: rules } };
}

/** Escapes glob characters so a rule matches the exact string. */
function escapeGlob(text: string): string {
  return text.replace(/[*?[\]{}()!+@]/g, '\\$&');
}

/** A loopback port that was free a moment ago. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Config entry for server-everything over stdio, run by this Node. */
export function everythingServer(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { command: NODE, args: [EVERYTHING_JS, 'stdio'], ...extra };
}

/** Config entry for server-filesystem rooted at `root`. */
export function filesystemServer(root: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { command: NODE, args: [FILESYSTEM_JS, root], ...extra };
}

export interface DaemonProcess {
  child: ChildProcess;
  url: string;
  port: number;
  token: string;
  output: () => string;
  /** SIGTERM and wait for exit; resolves with the exit code. */
  stop(): Promise<number | null>;
}

/** Runs `mcp-warden serve --port <port>` as a real process and waits until it answers. */
export async function startDaemonProcess(w: WardenEnv, port?: number): Promise<DaemonProcess> {
  const p = port ?? (await freePort());
  const child = spawn(CLI, ['serve', '--port', String(p)], { env: w.env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const deadline = Date.now() + 20_000;
  for (;;) {
    const state = w.state();
    if (state && state.pid === child.pid && state.port === p) {
      return {
        child,
        url: state.url!,
        port: p,
        token: state.token,
        output: () => output,
        async stop() {
          if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
          return exited;
        },
      };
    }
    if (child.exitCode !== null) throw new Error(`daemon exited with ${child.exitCode}:\n${output}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`daemon did not start in time:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Waits until `predicate` holds, polling every 25 ms; throws after `timeoutMs`. */
export async function waitFor<T>(
  predicate: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs = 10_000,
  what = 'condition',
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await predicate();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
