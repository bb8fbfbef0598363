/**
 * The process of bench/lib/http-relay.ts: `node http-relay-process.ts <command> [args...]` serves
 * Streamable HTTP on a loopback port in the least a node:http server can do, and prints its URL
 * once listening. A POST without `Mcp-Session-Id` (initialize) spawns the command (a stdio MCP
 * server) for a new session and answers with its id; a POST of a request is written to that
 * session's server as one line, and the line whose `id` matches comes back as the JSON body; a
 * notification or response is written and answered 202; DELETE ends the session's server. No
 * validation, guard, audit or SSE: it measures what node:http and a stdio hop cost, not a bridge.
 * Nothing but node: builtins is loaded. On SIGTERM it ends its children and exits.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';

const SCRIPT = fileURLToPath(import.meta.url);

interface RelaySession {
  child: ChildProcess;
  /** The HTTP response waiting for the server's line with each JSON-RPC id (as JSON text). */
  waiting: Map<string, http.ServerResponse>;
}

function serve(command: string, args: string[]): void {
  const sessions = new Map<string, RelaySession>();

  const open = (): [string, RelaySession] => {
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'ignore'] });
    const session: RelaySession = { child, waiting: new Map() };
    const id = randomUUID();
    sessions.set(id, session);
    readline.createInterface({ input: child.stdout }).on('line', (line) => {
      const message = JSON.parse(line) as { id?: unknown };
      const key = JSON.stringify(message.id);
      const res = session.waiting.get(key);
      if (!res) return; // server-to-client requests and notifications: not measured here
      session.waiting.delete(key);
      res.writeHead(200, { 'content-type': 'application/json', 'mcp-session-id': id }).end(line);
    });
    child.once('exit', () => {
      sessions.delete(id);
      for (const res of session.waiting.values()) res.writeHead(502).end();
    });
    return [id, session];
  };

  const server = http.createServer((req, res) => {
    const header = req.headers['mcp-session-id'];
    if (req.method === 'DELETE') {
      if (typeof header === 'string') sessions.get(header)?.child.kill();
      res.writeHead(200).end();
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const message = JSON.parse(body) as { id?: unknown; method?: unknown };
      const [, session] =
        typeof header === 'string' && sessions.has(header) ? [header, sessions.get(header)!] : open();
      if (message.id !== undefined && message.method !== undefined) {
        session.waiting.set(JSON.stringify(message.id), res);
      } else {
        res.writeHead(202).end();
      }
      session.child.stdin!.write(`${body}\n`);
    });
  });
  server.keepAliveTimeout = 60_000;
  server.listen(0, '127.0.0.1', () => {
    const address = server.address() as { port: number };
    process.stdout.write(`http://127.0.0.1:${address.port}/mcp\n`);
  });
  process.once('SIGTERM', () => {
    for (const session of sessions.values()) session.child.kill();
    server.closeAllConnections();
    server.close(() => process.exit(0));
  });
}

if (process.argv[1] === SCRIPT) {
  const [command, ...args] = process.argv.slice(2);
  if (command) serve(command, args);
  else {
    process.stderr.write('usage: http-relay-process.ts <command> [args...]\n');
    process.exit(2);
  }
}
