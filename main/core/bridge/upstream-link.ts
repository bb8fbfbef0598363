import type { ChildProcess } from 'node:child_process';
import spawn from 'cross-spawn';
import type { StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { isInitializeRequest, type JSONRPCMessage } from '@modelcontextprotocol/server';
import type { OAuthCoordinator } from '../oauth/oauth.ts';
import type { HttpServerConfig, ServerConfig, StdioServerConfig } from '../config/schema.ts';
import { formatCommandLine } from '../command-line.ts';
import { describeError, WardenError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { redactValues } from '../secrets/references.ts';
import { ownGroupSpawnOptions, ProcessTree } from '../process/process-tree.ts';
import type { UpstreamProcesses } from '../process/upstream-processes.ts';
import { isCheckedRequest } from './jsonrpc-check.ts';
import { QueuedWriter } from './queued-writer.ts';
import { parseUpstreamLine, UpstreamLineReader } from './upstream-lines.ts';
import { sdkClient, withHttpStatus } from './sdk-client.ts';
import { ModernHttpLink } from './upstream-modern-http.ts';
import { resolved, type SecretAccess } from './upstream-secrets.ts';

export type { SecretAccess } from './upstream-secrets.ts';

/**
 * Wraps a stdio server's command line before it is spawned (the OS sandbox, sandbox/): the
 * command, arguments and environment to run instead, or undefined to run it as configured.
 * @throws WardenError when the server must not start (the link's start() rejects with it).
 */
export type SpawnWrapper = (
  server: StdioServerConfig,
  env: Record<string, string>,
  logger: Logger,
) => Promise<{ command: string; args: string[]; env: Record<string, string> } | undefined>;

/** Largest message Warden accepts from an upstream server, bytes (16 MiB). */
export const MAX_UPSTREAM_MESSAGE_BYTES = 16 * 1024 * 1024;

/**
 * One live connection to an upstream server, carrying JSON-RPC messages as they are.
 * `onclose` fires once, with a sentence saying why, when the connection ends for any reason
 * other than `close()`.
 */
export interface UpstreamLink {
  start(): Promise<void>;
  send(message: JSONRPCMessage): Promise<void>;
  close(): Promise<void>;
  /** Tells an HTTP link the negotiated protocol version (sent as MCP-Protocol-Version). */
  setProtocolVersion(version: string): void;
  /** The process id of a stdio child once it runs (for logs); undefined otherwise. */
  readonly pid?: number | undefined;
  onmessage?: (message: JSONRPCMessage) => void;
  onclose?: (reason: string) => void;
}

/**
 * Creates the link for a configured server (stdio child or Streamable HTTP; for a url server of
 * the 2026-07-28 era, `era: 'modern'`, the per-request link of upstream-modern-http.ts). Secret references
 * are resolved in `start()`, at spawn / connect time; logs show the references, never values.
 * `processes` follows the process trees of stdio children (recorded until they are over).
 */
export function createUpstreamLink(
  server: ServerConfig,
  logger: Logger,
  secrets?: SecretAccess,
  oauth?: OAuthCoordinator,
  processes?: UpstreamProcesses,
  era: 'legacy' | 'modern' = 'legacy',
  wrap?: SpawnWrapper,
): UpstreamLink {
  if (server.kind === 'stdio') return new StdioLink(server, logger, secrets, processes, wrap);
  return era === 'modern'
    ? new ModernHttpLink(server, logger, secrets)
    : new HttpLink(server, logger, secrets, oauth);
}

/**
 * The variables a stdio child inherits from Warden's environment: the MCP SDK's
 * `getDefaultEnvironment()` list (`@modelcontextprotocol/client/stdio`, which
 * test/unit/upstream-environment.test.ts holds this equal to), named here so that a daemon of
 * stdio servers does not load the SDK's client package for a list of names.
 */
const INHERITED_ENV_VARS =
  process.platform === 'win32'
    ? [
        'APPDATA',
        'COMSPEC',
        'HOMEDRIVE',
        'HOMEPATH',
        'LOCALAPPDATA',
        'PATH',
        'PATHEXT',
        'PROCESSOR_ARCHITECTURE',
        'PROGRAMDATA',
        'PROGRAMFILES',
        'PROGRAMFILES(X86)',
        'PROGRAMW6432',
        'SYSTEMDRIVE',
        'SYSTEMROOT',
        'TEMP',
        'USERNAME',
        'USERPROFILE',
        'WINDIR',
      ]
    : ['HOME', 'LOGNAME', 'PATH', 'SHELL', 'TERM', 'USER'];

/**
 * The environment of a stdio child: the MCP SDK's safe defaults (HOME, LOGNAME, PATH, SHELL,
 * TERM, USER on POSIX; the Windows equivalents; a value that starts with `()`, a shell
 * function, is left out as the SDK leaves it out) plus the server's own `env`. Nothing else of
 * Warden's environment is inherited.
 * @param inherited the environment to inherit from (Warden's own by default).
 */
export function upstreamEnvironment(
  server: StdioServerConfig,
  inherited: NodeJS.ProcessEnv = process.env,
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const key of INHERITED_ENV_VARS) {
    const value = inherited[key];
    if (value !== undefined && !value.startsWith('()')) env[key] = value;
  }
  return { ...env, ...server.env };
}

/**
 * A stdio child process speaking newline-delimited JSON-RPC (MCP 2025-11-25, transports: stdio).
 * Each line is parsed and checked once (parseUpstreamLine); lines that are not JSON-RPC are
 * logged and skipped; a message over MAX_UPSTREAM_MESSAGE_BYTES ends the link. Each message
 * sent is serialized once. stderr is copied to the diagnostic log.
 *
 * The child leads its own process group (ProcessTree): whatever it starts (npx's shell and the
 * server under it, the children of a `sh -c` wrapper) ends with the link, when it is closed,
 * when the child exits on its own (a crash), and when Warden exits.
 */
class StdioLink implements UpstreamLink {
  onmessage?: (message: JSONRPCMessage) => void;
  onclose?: (reason: string) => void;
  readonly #server: StdioServerConfig;
  readonly #log: Logger;
  readonly #buffer = new UpstreamLineReader(MAX_UPSTREAM_MESSAGE_BYTES, (line) => this.#onLine(line));
  readonly #secrets: SecretAccess | undefined;
  readonly #processes: UpstreamProcesses | undefined;
  readonly #wrap: SpawnWrapper | undefined;
  #child: ChildProcess | undefined;
  #tree: ProcessTree | undefined;
  #writer: QueuedWriter | undefined;
  #spawning: Promise<void> | undefined;
  #closing = false;
  #secretValues = new Map<string, string>();

  constructor(
    server: StdioServerConfig,
    logger: Logger,
    secrets?: SecretAccess,
    processes?: UpstreamProcesses,
    wrap?: SpawnWrapper,
  ) {
    this.#server = server;
    this.#log = logger;
    this.#secrets = secrets;
    this.#processes = processes;
    this.#wrap = wrap;
  }

  get pid(): number | undefined {
    return this.#child?.pid;
  }

  async start(): Promise<void> {
    const { server: target, values } = await resolved(this.#server, this.#secrets);
    if (this.#closing)
      throw new WardenError('UPSTREAM_UNAVAILABLE', 'the connection was closed before the server started');
    this.#secretValues = values;
    const env = upstreamEnvironment(target);
    const line = (await this.#wrap?.(target, env, this.#log)) ?? {
      command: target.command,
      args: target.args,
      env,
    };
    if (this.#closing)
      throw new WardenError('UPSTREAM_UNAVAILABLE', 'the connection was closed before the server started');
    this.#spawning = this.#spawn(target, line);
    return this.#spawning;
  }

  #spawn(
    target: StdioServerConfig,
    line: { command: string; args: string[]; env: Record<string, string> },
  ): Promise<void> {
    const server = this.#server;
    this.#log.info(
      { command: server.command, args: server.args, cwd: server.cwd, envKeys: Object.keys(server.env) },
      `spawning upstream: ${formatCommandLine(server)}`,
    );
    return new Promise((resolve, reject) => {
      const child = spawn(line.command, line.args, {
        env: line.env,
        cwd: target.cwd,
        stdio: ['pipe', 'pipe', 'pipe'],
        shell: false,
        windowsHide: true,
        ...ownGroupSpawnOptions(),
      });
      this.#child = child;
      let spawned = false;
      child.once('spawn', () => {
        spawned = true;
        const tree = new ProcessTree(child, this.#log);
        this.#tree = tree;
        this.#processes?.track(tree, server.name, formatCommandLine(server));
        if (child.stdin) this.#writer = new QueuedWriter(child.stdin, "the server process's stdin");
        this.#log.info({ childPid: child.pid }, 'upstream started');
        resolve();
      });
      child.once('error', (error) => {
        if (!spawned) {
          const hint =
            (error as NodeJS.ErrnoException).code === 'ENOENT' ? ' (command not found on PATH)' : '';
          reject(
            new WardenError(
              'UPSTREAM_UNAVAILABLE',
              `cannot start "${formatCommandLine(server)}": ${error.message}${hint}`,
              { cause: error },
            ),
          );
        } else {
          this.#log.warn({ err: error }, 'upstream process error');
        }
      });
      child.once('exit', () => {
        // What the leader started may outlive it (and hold its stdout open): end it too.
        if (!this.#closing) void this.#tree?.end({ closeStdin: false });
      });
      child.once('close', (code, signal) => {
        this.#child = undefined;
        if (this.#closing) return;
        const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
        this.#log.warn({ code, signal }, `upstream ${how}`);
        if (spawned) this.onclose?.(`the server process ${how}`);
      });
      child.stdin?.on('error', (error) => this.#log.debug({ err: error }, 'upstream stdin error'));
      child.stdout?.on('data', (chunk: Buffer) => this.#onData(chunk));
      let stderrTail = '';
      child.stderr?.setEncoding('utf8');
      child.stderr?.on('data', (text: string) => {
        const lines = (stderrTail + text).split('\n');
        stderrTail = lines.pop() ?? '';
        if (stderrTail.length > 4096) stderrTail = stderrTail.slice(0, 4096);
        for (const line of lines) {
          if (!line.trim()) continue;
          // A server that prints its own token must not put it in Warden's log.
          this.#log.info(
            { stderr: redactValues(line, this.#secretValues).slice(0, 2000) },
            'upstream stderr',
          );
        }
      });
    });
  }

  #onData(chunk: Buffer): void {
    if (this.#closing) return;
    if (!this.#buffer.push(chunk)) {
      this.#log.error(
        `upstream sent a message over ${MAX_UPSTREAM_MESSAGE_BYTES} bytes; ending the connection`,
      );
      this.#kill(`the server sent a message over the ${MAX_UPSTREAM_MESSAGE_BYTES}-byte limit`);
    }
  }

  #onLine(line: Buffer): void {
    if (this.#closing) return;
    const parsed = parseUpstreamLine(line);
    if ('refused' in parsed) {
      this.#log.warn(
        { err: parsed.refused.slice(0, 300) },
        'upstream wrote a line that is not JSON-RPC; skipped',
      );
      return;
    }
    this.onmessage?.(parsed.message);
  }

  #kill(reason: string): void {
    const tree = this.#tree;
    if (!this.#child || !tree) return;
    this.#closing = true;
    this.#buffer.clear();
    tree.killNow();
    void tree.end({ closeStdin: false });
    this.onclose?.(reason);
  }

  /**
   * Writes a message to the child's stdin; resolves once the pipe took it (writes queue behind
   * one `drain` listener).
   * @throws Error when the process is not running or its stdin closed.
   */
  send(message: JSONRPCMessage): Promise<void> {
    const writer = this.#writer;
    if (!writer || !this.#child)
      return Promise.reject(new WardenError('UPSTREAM_UNAVAILABLE', 'the server process is not running'));
    return writer.write(JSON.stringify(message) + '\n');
  }

  /** Ends the child and everything it started (ProcessTree.end); resolves when all are gone. */
  async close(): Promise<void> {
    this.#closing = true;
    this.#buffer.clear();
    await this.#spawning?.catch(() => undefined);
    await this.#tree?.end();
  }

  setProtocolVersion(): void {}
}

/** An initialize request: the SDK's schema is consulted only for a message that names the method. */
function isInitialize(message: JSONRPCMessage): boolean {
  return isCheckedRequest(message) && message.method === 'initialize' && isInitializeRequest(message);
}

/**
 * A remote Streamable HTTP server of the 2025-11-25 era (spec basic/transports), through the SDK
 * v2 client transport (loaded on the first connect, sdk-client.ts); headers from config,
 * secrets resolved at start. OAuth (spec basic/authorization) is offered to a server whose
 * configured headers carry no `Authorization`: a configured token is what the server gets, and
 * a 401 to it stands as the server's answer.
 */
class HttpLink implements UpstreamLink {
  onmessage?: (message: JSONRPCMessage) => void;
  onclose?: (reason: string) => void;
  readonly #server: HttpServerConfig;
  readonly #log: Logger;
  readonly #secrets: SecretAccess | undefined;
  readonly #oauth: OAuthCoordinator | undefined;
  #transport: StreamableHTTPClientTransport | undefined;
  #protocolVersion: string | undefined;
  #signsIn = false;
  #closing = false;

  constructor(server: HttpServerConfig, logger: Logger, secrets?: SecretAccess, oauth?: OAuthCoordinator) {
    this.#server = server;
    this.#log = logger;
    this.#secrets = secrets;
    this.#oauth = oauth;
  }

  async start(): Promise<void> {
    const { server } = await resolved(this.#server, this.#secrets);
    this.#log.info(
      { url: this.#server.url, headerKeys: Object.keys(server.headers) },
      'connecting to upstream over HTTP',
    );
    const configuredAuthorization = Object.keys(server.headers).some(
      (name) => name.toLowerCase() === 'authorization',
    );
    this.#signsIn = this.#oauth !== undefined && !configuredAuthorization;
    const transport = new (sdkClient().StreamableHTTPClientTransport)(new URL(server.url), {
      requestInit: { headers: server.headers },
      ...(this.#oauth && this.#signsIn ? { authProvider: this.#oauth.provider(this.#server.name) } : {}),
    });
    transport.onmessage = (message) => this.onmessage?.(message);
    transport.onerror = (error) => this.#log.warn({ err: describeError(error) }, 'upstream HTTP error');
    transport.onclose = () => {
      if (!this.#closing) this.onclose?.('the HTTP connection to the server was closed');
    };
    if (this.#protocolVersion) transport.setProtocolVersion(this.#protocolVersion);
    this.#transport = transport;
    await transport.start();
  }

  /**
   * Sends a message; when the server asks for authorization (401), runs the OAuth flow (one at a
   * time per server: a session's initialize waits while another session signs in) and retries.
   */
  send(message: JSONRPCMessage): Promise<void> {
    const oauth = this.#oauth;
    if (!oauth || !this.#signsIn || !isInitialize(message)) return this.#sendAuthorized(message);
    return oauth.exclusive(this.#server.name, () => this.#sendAuthorized(message));
  }

  async #sendAuthorized(message: JSONRPCMessage): Promise<void> {
    const transport = this.#transport;
    if (!transport) throw new WardenError('UPSTREAM_UNAVAILABLE', 'the HTTP connection is not started');
    try {
      await transport.send(message);
    } catch (error) {
      if (!(error instanceof sdkClient().UnauthorizedError) || !this.#oauth || !this.#signsIn)
        throw withHttpStatus(error);
      this.#log.info('the server requires authorization; waiting for the person to sign in');
      // The callback's query as it came (code, and iss that the SDK checks, RFC 9207).
      const callback = await this.#oauth.waitForCallback(this.#server.name);
      await transport.finishAuth(callback);
      await transport.send(message).catch((retry: unknown) => {
        throw withHttpStatus(retry);
      });
    }
  }

  async close(): Promise<void> {
    this.#closing = true;
    const transport = this.#transport;
    if (!transport) return;
    try {
      await transport.terminateSession();
    } catch {
      // the server may not support DELETE (405) or may be gone
    }
    await transport.close();
  }

  setProtocolVersion(version: string): void {
    this.#protocolVersion = version;
    this.#transport?.setProtocolVersion(version);
  }
}
