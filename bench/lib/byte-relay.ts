/**
 * The floor of a two-process bridge, for `npm run bench` (row stdio.byte-relays): two Node.js
 * processes that forward bytes and do nothing else (byte-relay-process.ts), shaped like Warden's
 * Claude Desktop path (a process the client spawns, a local socket, a process that runs the
 * server) but with no parsing, guard or audit. Up to this floor is what any design with a shim
 * process and a daemon process pays on this machine; what Warden adds beyond it is its own work.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import type { EventLoopFigures } from '../../main/core/control/contract.ts';

const SCRIPT = fileURLToPath(new URL('./byte-relay-process.ts', import.meta.url));

/** A running back relay in front of a stdio server. */
export interface ByteRelays {
  /** A stdio transport that spawns a front relay connected to the back relay. */
  transport(): StdioClientTransport;
  /** Opens a window of the back relay's event-loop delay (1 ms samples, as the daemon's). */
  measureEventLoop(): Promise<void>;
  /** Closes the window and answers its figures (ms). */
  eventLoop(): Promise<EventLoopFigures>;
  stop(): Promise<void>;
}

/**
 * Starts the back relay for `command args` on a socket in a new temp directory; resolves once it
 * listens.
 * @throws Error when the relay exits or does not print "ready" within 10 s.
 */
export async function startByteRelays(command: string, args: string[]): Promise<ByteRelays> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'warden-bench-relay-'));
  const socket = path.join(dir, 'relay.sock');
  const back = spawn(process.execPath, [SCRIPT, 'back', socket, command, ...args], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const lines = readline.createInterface({ input: back.stdout });
  const waiting: ((line: string) => void)[] = [];
  lines.on('line', (line) => waiting.shift()?.(line));
  const nextLine = (what: string) =>
    new Promise<string>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`the back relay did not answer ${what} within 10 s`)),
        10_000,
      );
      const exited = (code: number | null) =>
        reject(new Error(`the back relay exited (${code}) before ${what}`));
      back.once('exit', exited);
      waiting.push((line) => {
        clearTimeout(timer);
        back.off('exit', exited);
        resolve(line);
      });
    });
  await nextLine('ready');
  const ask = async (name: 'start' | 'read'): Promise<EventLoopFigures> => {
    const answer = nextLine(name);
    back.stdin.write(`${name}\n`);
    return JSON.parse(await answer) as EventLoopFigures;
  };
  return {
    transport: () =>
      new StdioClientTransport({
        command: process.execPath,
        args: [SCRIPT, 'front', socket],
        stderr: 'ignore',
      }),
    async measureEventLoop() {
      await ask('start');
    },
    eventLoop: () => ask('read'),
    async stop() {
      await stopChild(back);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}
