/**
 * The sandbox host: the process Warden starts in place of a sandboxed stdio server. It sets up
 * `@anthropic-ai/sandbox-runtime` for this one server (its own proxy, violation monitor and
 * ask callback), starts the server under bubblewrap / Seatbelt with the server's stdio as its
 * own (MCP bytes never pass through this process), relays each question about a host no rule
 * decides and each violation to the daemon (sandbox-wire.ts), and exits with the server.
 *
 * Run as `node sandbox-host.js` with SANDBOX_SPEC_ENV set; not a module to import.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import { SandboxManager, type SandboxRuntimeConfig } from '@anthropic-ai/sandbox-runtime';
import {
  parseWireLine,
  SANDBOX_SPEC_ENV,
  type DaemonMessage,
  type HostMessage,
  type SandboxHostSpec,
} from './sandbox-wire.ts';

const spec = JSON.parse(process.env[SANDBOX_SPEC_ENV] ?? 'null') as SandboxHostSpec | null;
delete process.env[SANDBOX_SPEC_ENV];
if (!spec) {
  process.stderr.write(`sandbox host: ${SANDBOX_SPEC_ENV} is not set\n`);
  process.exit(70);
}

const socket = net.connect(spec.socket);
socket.setEncoding('utf8');
const send = (message: HostMessage): void => {
  if (!socket.destroyed) socket.write(JSON.stringify(message) + '\n');
};
const pending = new Map<number, (answer: DaemonMessage) => void>();
let nextId = 1;
let tail = '';
socket.on('data', (text: string) => {
  const lines = (tail + text).split('\n');
  tail = lines.pop() ?? '';
  for (const line of lines) {
    const message = parseWireLine<DaemonMessage>(line);
    if (message?.type !== 'answer') continue;
    pending.get(message.id)?.(message);
    pending.delete(message.id);
  }
});
// Without the daemon nobody can answer: every open question is denied (fail closed).
socket.on('close', () => {
  for (const [id, resolve] of pending)
    resolve({ type: 'answer', id, allow: false, reason: 'MCP Warden is gone' });
  pending.clear();
});
socket.on('error', () => undefined);
send({ type: 'hello', token: spec.token });

function ask(host: string, port: number): Promise<boolean | { allow: false; reason: string }> {
  if (socket.destroyed) return Promise.resolve({ allow: false, reason: 'MCP Warden is gone' });
  const id = nextId++;
  return new Promise((resolve) => {
    pending.set(id, (answer) =>
      resolve(answer.allow ? true : { allow: false, reason: answer.reason ?? 'denied by MCP Warden' }),
    );
    send({ type: 'ask', id, host, port });
  });
}

/** POSIX single quotes around one word of the command line. */
const quote = (word: string): string => `'${word.replace(/'/g, `'\\''`)}'`;

async function main(config: SandboxRuntimeConfig, host: SandboxHostSpec): Promise<number> {
  await SandboxManager.initialize(config, ({ host: h, port }) => ask(h, port ?? 0), true);
  let sent = 0;
  const store = SandboxManager.getSandboxViolationStore();
  const flush = (): void => {
    const total = store.getTotalCount();
    if (total <= sent) return;
    const fresh = store.getViolations(Math.min(total - sent, 100));
    sent = total;
    for (const v of fresh) send({ type: 'violation', line: v.line, at: new Date(v.timestamp).toISOString() });
  };
  store.subscribe(flush);
  // Loopback goes through the proxy like any host (srt would send it direct, into a network
  // namespace with nothing in it), so a connection to a local service is asked about too.
  const inner = [
    'env',
    '-u',
    'NO_PROXY',
    '-u',
    'no_proxy',
    `TMPDIR=${host.tmpDir}`,
    host.command,
    ...host.args,
  ]
    .map(quote)
    .join(' ');
  const wrapped = await SandboxManager.wrapWithSandboxArgv(
    inner,
    undefined,
    undefined,
    undefined,
    undefined,
    {
      commandId: host.token,
      commandText: [host.command, ...host.args].join(' '),
    },
  );
  const [command, ...args] = wrapped.argv;
  if (!command) throw new Error('sandbox-runtime returned an empty command line');
  const child = spawn(command, args, {
    env: { ...process.env, ...wrapped.env, NODE_USE_ENV_PROXY: '1', TMPDIR: host.tmpDir },
    stdio: 'inherit',
  });
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(signal, () => child.kill(signal));
  const code = await new Promise<number>((resolve) => {
    child.once('error', (error) => {
      process.stderr.write(`sandbox host: cannot start the server: ${error.message}\n`);
      resolve(127);
    });
    child.once('exit', (exitCode, signal) => resolve(exitCode ?? (signal ? 128 + 15 : 1)));
  });
  flush();
  return code;
}

void main(spec.config as unknown as SandboxRuntimeConfig, spec)
  .catch((error: unknown) => {
    const message = error instanceof Error ? error.message : String(error);
    send({ type: 'failed', message });
    process.stderr.write(`sandbox host: the sandbox could not be set up: ${message}\n`);
    return 71;
  })
  .then(async (code) => {
    fs.rmSync(spec.tmpDir, { recursive: true, force: true });
    await SandboxManager.reset().catch(() => undefined);
    socket.end(() => process.exit(code));
    setTimeout(() => process.exit(code), 1000).unref();
  });
