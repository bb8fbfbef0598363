/**
 * The floor of an HTTP-to-stdio bridge on node:http, for `npm run bench` (rows http.relay and
 * http.concurrent-relay): one Node.js process (http-relay-process.ts) that answers Streamable
 * HTTP POSTs by writing each body to a stdio server and sending back the line with the same id,
 * one server per session, and does nothing else (no validation, guard, audit, SSE). Up to this
 * floor is what any bridge built on node:http and a stdio server pays on this machine; what
 * Warden's endpoint adds beyond it is its own work, and a peer's ratio to it says how far a
 * target relative to that peer can go.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const SCRIPT = fileURLToPath(new URL('./http-relay-process.ts', import.meta.url));

/** A running relay: its MCP endpoint, its pid (for its RSS), and how to stop it. */
export interface HttpRelay {
  url: string;
  pid: number;
  stop(): Promise<void>;
}

/**
 * Starts the relay in front of `command args`; resolves once it listens.
 * @throws Error when it exits or does not print its URL within 10 s.
 */
export async function startHttpRelay(command: string, args: string[]): Promise<HttpRelay> {
  const child = spawn(process.execPath, [SCRIPT, command, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the HTTP relay did not start within 10 s')), 10_000);
    child.once('exit', (code) => reject(new Error(`the HTTP relay exited (${code})`)));
    child.stdout.once('data', (chunk: Buffer) => {
      clearTimeout(timer);
      resolve(chunk.toString('utf8').trim());
    });
  });
  return {
    url,
    pid: child.pid!,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
}
