/**
 * The two processes of bench/lib/byte-relay.ts. `node byte-relay-process.ts front <socket>` pipes
 * stdin to the Unix socket and the socket to stdout. `node byte-relay-process.ts back <socket>
 * <command> [args...]` listens on the socket and, per connection, spawns the command and pipes
 * the connection to its stdin and its stdout back (stderr ignored); it prints "ready" once
 * listening, and on SIGTERM ends its children and exits. The back relay also measures its own
 * event-loop delay, as the daemon does (the same EventLoopDelay, 1 ms samples): a line `start` on
 * its stdin opens a window, a line `read` closes it; each is answered with one line of JSON on its
 * stdout, the EventLoopFigures of the window it closed. That is the floor of the daemon's loop
 * rows: the stalls this machine gives a process that does almost nothing per call.
 * Nothing but node: builtins (and that class, which loads only node:perf_hooks) is loaded, so the
 * relays do no more than forward bytes.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { EventLoopDelay } from '../../main/core/control/event-loop-delay.ts';

const SCRIPT = fileURLToPath(import.meta.url);

function front(socketPath: string): void {
  const socket = net.connect(socketPath);
  process.stdin.pipe(socket);
  socket.pipe(process.stdout);
  process.stdin.once('end', () => socket.end());
  socket.once('close', () => process.exit(0));
}

function back(socketPath: string, command: string, args: string[]): void {
  const children = new Set<ChildProcess>();
  const server = net.createServer((connection) => {
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'ignore'] });
    children.add(child);
    connection.pipe(child.stdin);
    child.stdout.pipe(connection);
    const end = () => {
      children.delete(child);
      child.kill();
      connection.destroy();
    };
    connection.once('close', end);
    child.once('exit', end);
  });
  server.listen(socketPath, () => process.stdout.write('ready\n'));
  const loop = new EventLoopDelay();
  readline.createInterface({ input: process.stdin }).on('line', (line) => {
    const figures = line === 'start' ? loop.start() : line === 'read' ? loop.stop() : undefined;
    process.stdout.write(
      `${JSON.stringify(figures ?? { error: `unknown command ${JSON.stringify(line)}` })}\n`,
    );
  });
  process.once('SIGTERM', () => {
    for (const child of children) child.kill();
    server.close(() => process.exit(0));
  });
}

if (process.argv[1] === SCRIPT) {
  const [mode, socketPath, command, ...args] = process.argv.slice(2);
  if (mode === 'front' && socketPath) front(socketPath);
  else if (mode === 'back' && socketPath && command) back(socketPath, command, args);
  else {
    process.stderr.write('usage: byte-relay-process.ts front <socket> | back <socket> <command> [args...]\n');
    process.exit(2);
  }
}
