import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { choicesFor, type ApprovalBroker } from '../approvals/broker.ts';
import type { AuditCallStart } from '../audit/audit-log.ts';
import type { LockableSetting, PolicySource } from '../config/policy-schema.ts';
import type { ServerConfig, StdioServerConfig } from '../config/schema.ts';
import { describeError, WardenError } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { HostGrantStore } from './host-grants.ts';
import { installForSandbox, npxLaunch } from './npx-install.ts';
import { effectiveSandbox, type EffectiveSandbox } from './sandbox-policy.ts';
import { runtimeConfig, sandboxReadiness, which } from './sandbox-readiness.ts';
import { formatCommandLine } from '../command-line.ts';
import {
  parseWireLine,
  SANDBOX_SPEC_ENV,
  type DaemonMessage,
  type HostMessage,
  type SandboxHostSpec,
} from './sandbox-wire.ts';

/** The tool name of a held connection and of violation rows ("sandbox:network", …): not a valid MCP tool name. */
export const NETWORK_APPROVAL_TOOL = 'sandbox:connect';

/** How a server last started, for `servers list` and the dashboard's Servers page. */
export type SandboxState = SandboxStatus['state'] | 'not started' | 'out of scope';

export interface SandboxStatus {
  /** enforced: in the OS sandbox; off: "mode": "off"; unsandboxed: the OS cannot, not required; refused: required and the OS cannot. */
  state: 'enforced' | 'off' | 'unsandboxed' | 'refused';
  reason?: string;
  /** Violations recorded since the daemon started. */
  violations: number;
}

/** What upstream-link spawns instead of the server's own command line. */
export interface SpawnLine {
  command: string;
  args: string[];
  env: Record<string, string>;
}

export interface SandboxServiceOptions {
  broker: ApprovalBroker;
  grants: HostGrantStore;
  /** Records one violation (of `kind`) as a refused row of the audit log (AuditLog.queueRefusal) and counts it. */
  recordViolation: (
    start: AuditCallStart,
    error: string,
    kind: 'read' | 'write' | 'network',
  ) => Promise<unknown>;
  sources: () => readonly PolicySource[];
  locked: (setting: LockableSetting) => boolean;
  approvalTimeoutMs: () => number;
  /** Warden's own directories (never readable in the sandbox) and the default filesystem sandbox. */
  wardenDirs: string[];
  wardenSandboxDir?: string;
  logger: Logger;
  /** Called when a server's sandbox status or violation count changed (live views). */
  changed?: () => void;
}

interface Spawned {
  server: string;
  sessionId: string;
  clientName?: string;
  log: Logger;
  /** `host:port` a person allowed for this process's session. */
  session: Set<string>;
}

// The host is this module's sibling, as .ts from the sources or .js from a build.
const HOST_SCRIPT = fileURLToPath(
  new URL(`./sandbox-host${path.extname(fileURLToPath(import.meta.url))}`, import.meta.url),
);

/**
 * Runs stdio servers in the OS sandbox (`@anthropic-ai/sandbox-runtime`, one sandbox host
 * process per server: sandbox-host.ts). For each spawn it works out the sandbox in force
 * (sandbox-policy.ts), refuses or warns where the OS cannot sandbox (sandbox-readiness.ts),
 * runs the install step of an `npx` launcher outside the sandbox (npx-install.ts),
 * and serves the hosts over one Unix socket (mode 0600, in a 0700 directory): a connection to a
 * host no rule decides goes to the approval broker ("<server> wants to connect to host:port";
 * timeout, withdrawal and a lost daemon deny), every violation becomes an audit row linked to the
 * server and the session (tool "sandbox:<kind>", decision deny).
 */
export class SandboxService {
  readonly #opts: SandboxServiceOptions;
  readonly #status = new Map<string, SandboxStatus>();
  readonly #spawned = new Map<string, Spawned>();
  #listening: Promise<string> | undefined;
  #server: net.Server | undefined;
  #dir: string | undefined;

  constructor(options: SandboxServiceOptions) {
    this.#opts = options;
  }

  /** The sandbox in force for `server` now, every entry with its source (`policy explain`). */
  effective(
    server: StdioServerConfig,
    tmpDir = path.join(os.tmpdir(), 'mcp-warden-sandbox-XXXXXX'),
  ): EffectiveSandbox {
    return effectiveSandbox(server, this.#opts.sources(), {
      home: server.env.HOME ?? os.homedir(),
      tmpDir,
      wardenDirs: this.#opts.wardenDirs,
      ...(this.#opts.wardenSandboxDir ? { wardenSandboxDir: this.#opts.wardenSandboxDir } : {}),
      locked: this.#opts.locked('sandbox'),
    });
  }

  /** How `name` last started (undefined: not started since the daemon did). */
  status(name: string): SandboxStatus | undefined {
    return this.#status.get(name);
  }

  /**
   * The sandbox of a configured server for `servers list` and the dashboard: how it last
   * started, else "not started" with the mode in force; a url server is out of scope.
   */
  describe(server: ServerConfig): { state: SandboxState; reason?: string; violations: number } {
    if (server.kind !== 'stdio')
      return {
        state: 'out of scope',
        reason: 'a remote (url) server runs elsewhere; the OS sandbox applies to local stdio servers',
        violations: 0,
      };
    const status = this.#status.get(server.name);
    if (status) return status;
    const sandbox = this.effective(server);
    return {
      state: 'not started',
      reason:
        sandbox.mode === 'off'
          ? `will run without the sandbox ("mode": "off" in ${sandbox.modeSource})`
          : `will run in the OS sandbox${sandbox.requiredBy ? ` (required by ${sandbox.requiredBy})` : ''}`,
      violations: 0,
    };
  }

  /**
   * The command line that runs `server` in its sandbox, or undefined when it runs as configured
   * ("mode": "off", or the OS cannot sandbox it and no policy requires it: logged as a warning).
   * @param env the server's environment as upstream-link built it.
   * @param logger the link's logger (its `session` binding links violations to the session).
   * @throws WardenError SANDBOX_UNAVAILABLE when a policy requires the sandbox and the OS cannot
   *   provide it; the message says what is missing and how to fix it.
   */
  async wrap(
    server: StdioServerConfig,
    env: Record<string, string>,
    logger: Logger,
  ): Promise<SpawnLine | undefined> {
    const tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mcp-warden-server-'));
    const sandbox = this.effective(server, tmpDir);
    const previous = this.#status.get(server.name)?.violations ?? 0;
    if (sandbox.mode === 'off') {
      fs.rmSync(tmpDir, { recursive: true, force: true });
      this.#setStatus(server.name, {
        state: 'off',
        reason: `"mode": "off" in ${sandbox.modeSource}`,
        violations: previous,
      });
      logger.warn(
        { sandbox: 'off' },
        `sandbox off for ${server.name} ("mode": "off" in ${sandbox.modeSource})`,
      );
      return undefined;
    }
    const { tools, unavailable } = await sandboxReadiness(env.PATH);
    if (unavailable) {
      fs.rmSync(tmpDir, { recursive: true, force: true });
      if (sandbox.requiredBy) {
        const message = `"${server.name}" was not started: ${sandbox.requiredBy} requires the OS sandbox, and ${unavailable.problem}. Fix: ${unavailable.fix}`;
        this.#setStatus(server.name, { state: 'refused', reason: message, violations: previous });
        throw new WardenError('SANDBOX_UNAVAILABLE', message);
      }
      const reason = `runs without the OS sandbox: ${unavailable.problem} (fix: ${unavailable.fix})`;
      this.#setStatus(server.name, { state: 'unsandboxed', reason, violations: previous });
      logger.warn({ sandbox: 'unavailable' }, `${server.name} ${reason}`);
      return undefined;
    }
    if (!commandExists(server.command, env.PATH, server.cwd)) {
      fs.rmSync(tmpDir, { recursive: true, force: true });
      throw new WardenError(
        'UPSTREAM_UNAVAILABLE',
        `cannot start "${formatCommandLine(server)}": ${server.command} does not exist (command not found on PATH)`,
      );
    }
    let line = { command: server.command, args: server.args };
    const npx = npxLaunch(server.command, server.args);
    if (npx) {
      try {
        line = await installForSandbox(server.command, npx, env, server.cwd);
      } catch (error) {
        fs.rmSync(tmpDir, { recursive: true, force: true });
        throw error;
      }
      logger.info(
        { spec: npx.spec, command: line.command },
        `installed ${npx.spec} outside the sandbox; the server runs its executable without the registry`,
      );
    }
    const socket = await this.#listen();
    const token = randomBytes(16).toString('base64url');
    const bindings = logger.bindings() as { session?: unknown };
    this.#spawned.set(token, {
      server: server.name,
      sessionId: typeof bindings.session === 'string' ? bindings.session : 'warm',
      log: logger,
      session: new Set(),
    });
    const spec: SandboxHostSpec = {
      socket,
      token,
      command: line.command,
      args: line.args,
      tmpDir,
      config: runtimeConfig(sandbox, tools),
    };
    this.#setStatus(server.name, { state: 'enforced', violations: previous });
    logger.info({ sandbox: spec.config }, `${server.name} runs in the OS sandbox`);
    return {
      command: process.execPath,
      args: [HOST_SCRIPT],
      env: { ...env, [SANDBOX_SPEC_ENV]: JSON.stringify(spec) },
    };
  }

  /** Stops serving sandbox hosts (their open questions are denied). */
  close(): void {
    this.#server?.close();
    if (this.#dir) fs.rmSync(this.#dir, { recursive: true, force: true });
  }

  #setStatus(name: string, status: SandboxStatus): void {
    const before = this.#status.get(name);
    this.#status.set(name, status);
    if (before?.state !== status.state || before.violations !== status.violations) this.#opts.changed?.();
  }

  #listen(): Promise<string> {
    this.#listening ??= new Promise<string>((resolve, reject) => {
      this.#dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mcp-warden-sbx-'));
      const file = path.join(this.#dir, 'hosts.sock');
      const server = net.createServer((connection) => this.#serve(connection));
      this.#server = server;
      server.once('error', reject);
      server.listen(file, () => {
        fs.chmodSync(file, 0o600);
        server.unref();
        resolve(file);
      });
    });
    return this.#listening;
  }

  #serve(connection: net.Socket): void {
    connection.setEncoding('utf8');
    let spawned: Spawned | undefined;
    let tail = '';
    const abort = new AbortController();
    connection.on('close', () => abort.abort('the server exited'));
    connection.on('error', () => undefined);
    connection.on('data', (text: string) => {
      const lines = (tail + text).split('\n');
      tail = lines.pop() ?? '';
      if (tail.length > 65_536) connection.destroy();
      for (const line of lines) {
        const message = parseWireLine<HostMessage>(line);
        if (!message) continue;
        if (!spawned) {
          // A token is good for one connection: the host that was spawned with it.
          spawned = message.type === 'hello' ? this.#spawned.get(message.token) : undefined;
          if (message.type === 'hello') this.#spawned.delete(message.token);
          if (!spawned) connection.destroy();
          continue;
        }
        const from = spawned;
        if (message.type === 'ask') {
          void this.#ask(from, message.host, message.port, abort.signal).then((answer) => {
            if (!connection.destroyed) connection.write(JSON.stringify({ ...answer, id: message.id }) + '\n');
          });
        } else if (message.type === 'violation') void this.#violation(from, message.line, message.at);
        else if (message.type === 'failed')
          from.log.error({ err: message.message }, 'the sandbox could not be set up');
      }
    });
  }

  async #ask(
    from: Spawned,
    host: string,
    port: number,
    signal: AbortSignal,
  ): Promise<Omit<DaemonMessage, 'id'>> {
    const key = `${host.toLowerCase()}:${port}`;
    if (from.session.has(key)) return { type: 'answer', allow: true };
    if (this.#opts.grants.allowed(from.server, host, port)) return { type: 'answer', allow: true };
    const question = `${from.server} wants to connect to ${host}:${port}`;
    from.log.info({ host, port }, question);
    const outcome = await this.#opts.broker.request(
      {
        sessionId: from.sessionId,
        client: from.clientName ? { name: from.clientName } : {},
        server: from.server,
        tool: NETWORK_APPROVAL_TOOL,
        arguments: { host, port },
        rule: { source: 'OS sandbox', text: `${question}: no sandbox rule allows or denies ${host}` },
        choices: choicesFor(this.#opts.locked('alwaysAllow') ? 'session' : 'always'),
      },
      { timeoutMs: this.#opts.approvalTimeoutMs(), signal },
    );
    if (outcome.kind === 'timeout')
      return {
        type: 'answer',
        allow: false,
        reason: `nobody answered within ${Math.round(outcome.afterMs / 1000)} s`,
      };
    if (outcome.kind === 'withdrawn') return { type: 'answer', allow: false, reason: outcome.reason };
    const { choice, by } = outcome.answer;
    if (choice === 'deny')
      return { type: 'answer', allow: false, reason: outcome.answer.reason ?? `denied by a person (${by})` };
    if (choice === 'allow-session') from.session.add(key);
    if (choice === 'allow-always') {
      try {
        this.#opts.grants.grant(from.server, host, port, by);
      } catch (error) {
        from.log.warn({ err: describeError(error) }, `could not remember ${key} for ${from.server}`);
        from.session.add(key);
      }
    }
    return { type: 'answer', allow: true };
  }

  async #violation(from: Spawned, line: string, at: string): Promise<void> {
    // Linux reports write-intent syscalls ("deny openat /tmp/x"), macOS "deny file-write-create …",
    // "deny file-read-data …" and the proxy "deny network-outbound host:port (reason)".
    const kind = /network/.test(line) ? 'network' : /file-read/.test(line) ? 'read' : 'write';
    const status = this.#status.get(from.server);
    if (status) this.#setStatus(from.server, { ...status, violations: status.violations + 1 });
    from.log.warn({ violation: line }, `sandbox violation by ${from.server}`);
    try {
      await this.#opts.recordViolation(
        {
          startedAt: Date.parse(at) || Date.now(),
          sessionId: from.sessionId,
          ...(from.clientName ? { clientName: from.clientName } : {}),
          server: from.server,
          tool: `sandbox:${kind}`,
          arguments: { violation: line },
          decision: 'deny',
          reason: `OS sandbox: ${line}`,
        },
        line,
        kind,
      );
    } catch (error) {
      from.log.error({ err: describeError(error) }, 'could not audit a sandbox violation');
    }
  }
}

/** Whether `command` names an executable: a path (against `cwd`), or a name on `pathVar`. */
function commandExists(command: string, pathVar: string | undefined, cwd: string | undefined): boolean {
  if (!command.includes('/')) return which(command, pathVar) !== undefined;
  try {
    fs.accessSync(path.resolve(cwd ?? process.cwd(), command), fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
