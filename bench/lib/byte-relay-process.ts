/**
 * The two processes of bench/lib/byte-relay.ts. `node byte-relay-process.ts front <socket>` pipes
 * stdin to the Unix socket and the socket to stdout. `node byte-relay-process.ts back <socket>
 * <command> [args...]` listens on the socket and, per connection, spawns the command and pipes
 * the connection to its stdin and its stdout back (stderr ignored); it prints "ready" once
 * listening, and on SIGTERM ends its children and exits.
 * Nothing but node: builtins is loaded, so the relays do no more than forward bytes.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { fileURLToPath } from 'node:url';

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
