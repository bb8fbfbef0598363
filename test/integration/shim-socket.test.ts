/**
 * The connect shim and the daemon's local socket (main/core/daemon/local-socket*.ts,
 * main/shim/*), with a real daemon process and a real server-everything: the hello and its
 * refusals, the runtime directory's and socket's permissions (a foreign-owned directory is
 * refused on both ends), a stale socket after kill -9 replaced (and a live one never), request
 * ids in progress, malformed and oversized lines, a client that stops reading, the daemon killed
 * in the middle of a call, pause ending socket sessions, and a property over arbitrary lines.
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import fc from 'fast-check';
import { controlApi } from '../helpers/control.ts';
import { idKey, rawShim, type RawMessage } from '../helpers/raw-jsonrpc.ts';
import { callTool, resultText, shimClient } from '../helpers/sdk-client.ts';
import {
  CLI,
  everythingServer,
  freePort,
  makeWardenEnv,
  startDaemonProcess,
  waitFor,
  type DaemonProcess,
  type WardenEnv,
} from '../helpers/warden-env.ts';

const run = promisify(execFile);
const isRoot = process.getuid?.() === 0;

/** A raw connection to the local socket: the hello, then lines both ways. */
interface RawSocket {
  socket: net.Socket;
  /** Every line the daemon sent, parsed (the greeting first). */
  lines: RawMessage[];
  closed: Promise<void>;
  send(line: RawMessage | string | Buffer): void;
  answersTo(id: unknown): RawMessage[];
}

function rawSocket(socketPath: string, hello: RawMessage | string): Promise<RawSocket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(socketPath);
    const lines: RawMessage[] = [];
    let buffer = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      for (let nl = buffer.indexOf('\n'); nl !== -1; nl = buffer.indexOf('\n')) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        if (line) lines.push(JSON.parse(line) as RawMessage);
      }
    });
    const closed = new Promise<void>((r) => socket.once('close', () => r()));
    socket.once('error', reject);
    socket.once('connect', () => {
      socket.write((typeof hello === 'string' ? hello : JSON.stringify(hello)) + '\n');
      resolve({
        socket,
        lines,
        closed,
        send: (line) =>
          socket.write(
            Buffer.concat([
              Buffer.isBuffer(line)
                ? line
                : Buffer.from(typeof line === 'string' ? line : JSON.stringify(line)),
              Buffer.from('\n'),
            ]),
          ),
        answersTo: (id) => lines.filter((m) => ('result' in m || 'error' in m) && idKey(m.id) === idKey(id)),
      });
    });
  });
}

const hello = (token: string, server = 'everything'): RawMessage => ({
  mcpWarden: 1,
  token,
  server,
  client: { pid: process.pid, ppid: process.ppid },
});

const initialize = (id: string | number): RawMessage => ({
  jsonrpc: '2.0',
  id,
  method: 'initialize',
  params: {
    protocolVersion: '2025-11-25',
    capabilities: {},
    clientInfo: { name: 'raw-socket', version: '1' },
  },
});

const echo = (id: string | number, message: string): RawMessage => ({
  jsonrpc: '2.0',
  id,
  method: 'tools/call',
  params: { name: 'echo', arguments: { message } },
});

/** A raw session past initialize. */
async function rawSession(socketPath: string, token: string): Promise<RawSocket> {
  const s = await rawSocket(socketPath, hello(token));
  s.send(initialize('init'));
  await waitFor(() => s.answersTo('init')[0], 30_000, 'initialize answered');
  s.send({ jsonrpc: '2.0', method: 'notifications/initialized' });
  return s;
}

const errorOf = (m: RawMessage | undefined) =>
  (m as { error?: { code: number; message: string; data?: { reason?: string } } })?.error;

function kill(pid: number | undefined): void {
  try {
    if (pid) process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

/**
 * Writes runs of arbitrary lines (requests with fresh ids, notifications, garbage, any JSON) in
 * one chunk each, and checks that every request with an id is answered exactly once.
 */
async function linesProperty(
  peer: { write(chunk: string): void; answersTo(id: unknown): RawMessage[] },
  label: string,
  numRuns: number,
): Promise<void> {
  let run = 0;
  const lineArb = fc.oneof(
    fc.constantFrom('ping', 'tools/list', 'tools/call', 'prompts/list', 'no/such').map((method) => ({
      request: true as const,
      message: (id: string) => ({
        jsonrpc: '2.0',
        id,
        method,
        ...(method === 'tools/call' ? { params: { name: 'echo', arguments: { message: id } } } : {}),
      }),
    })),
    fc.constant({
      request: false as const,
      text: '{"jsonrpc":"2.0","method":"notifications/progress","params":{}}',
    }),
    fc.string({ maxLength: 20 }).map((t) => ({ request: false as const, text: t.replace(/[\n\r]/g, ' ') })),
    fc.jsonValue({ maxDepth: 2 }).map((v) => ({ request: false as const, text: JSON.stringify(v) })),
  );
  await fc.assert(
    fc.asyncProperty(fc.array(lineArb, { minLength: 1, maxLength: 25 }), async (items) => {
      run++;
      const ids: string[] = [];
      const chunk = items
        .map((item, i) => {
          if (!item.request) return item.text;
          const id = `${label}${run}-${i}`;
          ids.push(id);
          return JSON.stringify(item.message(id));
        })
        .join('\n');
      peer.write(chunk);
      await waitFor(() => ids.every((id) => peer.answersTo(id).length >= 1), 30_000, `answers of run ${run}`);
      // One more round trip: a second answer to any of them would be here by now.
      const fence = `${label}-fence-${run}`;
      peer.write(JSON.stringify({ jsonrpc: '2.0', id: fence, method: 'ping' }));
      await waitFor(() => peer.answersTo(fence)[0], 10_000, 'the fence');
      for (const id of ids) assert.equal(peer.answersTo(id).length, 1, `answers to ${id}`);
    }),
    { numRuns },
  );
}

describe('the local socket of a running daemon', () => {
  let w: WardenEnv;
  let daemon: DaemonProcess;
  let socketPath: string;

  before(async () => {
    w = makeWardenEnv();
    w.writeConfig({ daemon: { port: await freePort() }, mcpServers: { everything: everythingServer() } });
    daemon = await startDaemonProcess(w);
    socketPath = w.state()!.socket!;
  });
  after(async () => {
    await daemon.stop();
    w.cleanup();
  });

  test('the state file names the socket; the socket is 0600 in a 0700 directory, both ours', () => {
    assert.ok(path.isAbsolute(socketPath));
    const dir = fs.statSync(path.dirname(socketPath));
    const sock = fs.statSync(socketPath);
    assert.ok(sock.isSocket());
    assert.equal(dir.mode & 0o777, 0o700);
    assert.equal(sock.mode & 0o777, 0o600);
    assert.equal(dir.uid, process.getuid!());
    assert.equal(sock.uid, process.getuid!());
  });

  test('a welcome names the daemon and the session; the SDK client works through the shim', async () => {
    const s = await rawSocket(socketPath, hello(daemon.token));
    await waitFor(() => s.lines[0], 10_000, 'the greeting');
    const welcome = (s.lines[0] as { welcome: Record<string, unknown> }).welcome;
    assert.equal(welcome.pid, daemon.child.pid);
    assert.equal(welcome.config, w.paths.configFile);
    assert.match(String(welcome.session), /^[0-9a-f-]{36}$/);
    s.socket.destroy();
    const { client } = await shimClient(w.env, 'everything');
    try {
      assert.equal(
        resultText(await callTool(client, 'echo', { message: 'over the socket' })),
        'Echo: over the socket',
      );
    } finally {
      await client.close();
    }
  });

  test('hello refusals: a wrong token, an unknown server naming the configured ones, not a hello', async () => {
    const cases: [RawMessage | string, string, RegExp][] = [
      [hello('x'.repeat(43)), 'UNAUTHORIZED', /token in the hello is not this daemon's/],
      [hello(daemon.token, 'nosuch'), 'SERVER_UNKNOWN', /Unknown server "nosuch".*configured: "everything"/],
      [JSON.stringify(initialize(1)), 'INVALID_REQUEST', /takes a hello line first/],
      [{ ...hello(daemon.token), mcpWarden: 2 }, 'INVALID_REQUEST', /hello version 2 is not supported/],
    ];
    for (const [line, code, message] of cases) {
      const s = await rawSocket(socketPath, line);
      await s.closed;
      assert.equal(s.lines.length, 1, JSON.stringify(s.lines));
      const refused = (s.lines[0] as { refused: { code: string; message: string } }).refused;
      assert.equal(refused.code, code);
      assert.match(refused.message, message);
    }
  });

  test('a request id in progress is refused with the duplicate-id error; the first is answered once', async () => {
    const s = await rawSession(socketPath, daemon.token);
    // Both lines in one write: the second arrives while the first is in progress.
    s.socket.write(JSON.stringify(echo(7, 'first')) + '\n' + JSON.stringify(echo(7, 'second')) + '\n');
    await waitFor(() => s.answersTo(7).length === 2 && s.answersTo(7), 20_000, 'two answers to id 7');
    const [a, b] = s.answersTo(7);
    const dup = [a, b].find((m) => errorOf(m));
    const ok = [a, b].find((m) => 'result' in m!);
    assert.match(errorOf(dup)!.message, /the id 7 is in use by a request still in progress/);
    assert.match(JSON.stringify(ok), /Echo: first/);
    s.send(echo(7, 'again'));
    await waitFor(() => s.answersTo(7).length === 3, 20_000, 'id 7 reused once free');
    assert.match(JSON.stringify(s.answersTo(7)[2]), /Echo: again/);
    s.socket.destroy();
  });

  test('malformed and oversized lines get their JSON-RPC errors and the session goes on', async () => {
    const s = await rawSession(socketPath, daemon.token);
    s.send('this is not json');
    s.send(Buffer.from([0x7b, 0xc3, 0x28, 0x7d]));
    s.send({ jsonrpc: '2.0', id: 'bad', method: 5 });
    s.send(JSON.stringify([{ jsonrpc: '2.0', id: 'b1', method: 'ping' }]));
    s.send('x'.repeat(4 * 1024 * 1024 + 1));
    s.send({ jsonrpc: '2.0', id: 'after', method: 'ping' });
    await waitFor(() => s.answersTo('after')[0], 20_000, 'the ping after the bad lines');
    const errors = s.lines.filter((m) => errorOf(m));
    assert.deepEqual(
      errors.map((m) => [m.id, errorOf(m)!.code, errorOf(m)!.data?.reason]),
      [
        [null, -32700, 'PARSE_ERROR'],
        [null, -32700, 'PARSE_ERROR'],
        ['bad', -32600, 'INVALID_REQUEST'],
        ['b1', -32600, 'INVALID_REQUEST'],
        [null, -32600, 'TOO_LARGE'],
      ],
    );
    assert.ok('result' in s.answersTo('after')[0]!);
    s.socket.destroy();
  });

  test('a client that stops reading stops being read; when it reads again every request is answered once', async () => {
    const s = await rawSession(socketPath, daemon.token);
    const big = 'm'.repeat(256 * 1024);
    const total = 120; // ~30 MiB of requests, as much again of answers
    s.socket.pause();
    for (let i = 0; i < total; i++) s.send(echo(`r${i}`, big));
    // The daemon stops reading while its answers are not read: the requests back up here.
    await waitFor(() => s.socket.writableLength > 8 * 1024 * 1024, 30_000, 'the requests to back up');
    // Meanwhile the daemon serves others.
    const other = await rawShim(w.env, 'everything');
    other.send(echo('o', 'still serving'));
    assert.match(JSON.stringify(await other.answer('o')), /Echo: still serving/);
    await other.close();
    s.socket.resume();
    await waitFor(
      () => Array.from({ length: total }, (_, i) => s.answersTo(`r${i}`).length).every((n) => n === 1),
      120_000,
      'every request answered',
    );
    for (let i = 0; i < total; i++) assert.equal(s.answersTo(`r${i}`).length, 1);
    s.socket.destroy();
  });

  test('property: over arbitrary lines, every request with an id is answered exactly once (socket and shim)', async () => {
    const s = await rawSession(socketPath, daemon.token);
    await linesProperty(
      { write: (chunk) => s.socket.write(chunk + '\n'), answersTo: (id) => s.answersTo(id) },
      'socket',
      30,
    );
    s.socket.destroy();
    const shim = await rawShim(w.env, 'everything');
    await linesProperty(
      { write: (chunk) => shim.send(chunk), answersTo: (id) => shim.answersTo(id) },
      'shim',
      30,
    );
    assert.equal(await shim.close(), 0);
  });

  test('pause ends socket sessions (the shim says so and exits 1); new hellos are refused PAUSED', async () => {
    const shim = await rawShim(w.env, 'everything');
    await controlApi(daemon, 'POST', 'pause');
    try {
      await waitFor(
        () => /closed the connection/.test(shim.stderr()),
        20_000,
        'the shim to see its session end',
      );
      assert.equal(await shim.close(), 1);
      const s = await rawSocket(socketPath, hello(daemon.token));
      await s.closed;
      assert.equal((s.lines[0] as { refused: { code: string } }).refused.code, 'PAUSED');
    } finally {
      await controlApi(daemon, 'POST', 'resume');
    }
  });
});

describe('daemon gone, stale sockets, foreign directories', () => {
  test('the daemon killed in the middle of a call: the call is answered, the shim exits 1 saying why', async () => {
    const w = makeWardenEnv();
    w.writeConfig({ daemon: { port: await freePort() }, mcpServers: { everything: everythingServer() } });
    const daemon = await startDaemonProcess(w);
    try {
      const shim = await rawShim(w.env, 'everything');
      shim.send({
        jsonrpc: '2.0',
        id: 'long',
        method: 'tools/call',
        params: {
          name: 'trigger-long-running-operation',
          arguments: { duration: 60, steps: 60 },
          _meta: { progressToken: 'pt' },
        },
      });
      await waitFor(
        () => shim.messages.some((m) => m.method === 'notifications/progress'),
        30_000,
        'the call to be running upstream',
      );
      daemon.child.kill('SIGKILL');
      const answer = await shim.answer('long');
      assert.equal(errorOf(answer)!.data?.reason, 'DAEMON_UNREACHABLE');
      assert.equal(await shim.close(), 1);
      assert.match(shim.stderr(), /the Warden daemon closed the connection/);
      assert.equal(shim.answersTo('long').length, 1);
    } finally {
      kill(daemon.child.pid);
      w.cleanup();
    }
  });

  test('a stale socket left by kill -9 is replaced by the next daemon; a socket that answers never is', async () => {
    const w = makeWardenEnv();
    w.writeConfig({ daemon: { port: await freePort() }, mcpServers: { everything: everythingServer() } });
    const first = await startDaemonProcess(w);
    const socketPath = w.state()!.socket!;
    first.child.kill('SIGKILL');
    await first.stop();
    assert.ok(fs.existsSync(socketPath), 'kill -9 leaves the socket behind');
    try {
      // A shim finds it dead, starts a daemon, and that daemon replaces the socket.
      const { client, stderr } = await shimClient(w.env, 'everything');
      try {
        assert.equal(
          resultText(await callTool(client, 'echo', { message: 'after kill' })),
          'Echo: after kill',
        );
        assert.match(stderr(), /started the Warden daemon \(pid \d+\)/);
        assert.equal(w.state()!.socket, socketPath);
      } finally {
        await client.close();
      }
      const second = w.state()!.pid!;
      process.kill(second, 'SIGKILL');
      await waitFor(
        () => {
          try {
            process.kill(second, 0);
            return false;
          } catch {
            return true;
          }
        },
        10_000,
        'the daemon to die',
      );
      // Something that answers on the socket (not a daemon over HTTP) is left alone.
      fs.rmSync(socketPath);
      const squatter = net.createServer((c) => c.destroy());
      await new Promise<void>((resolve) => squatter.listen(socketPath, resolve));
      fs.chmodSync(socketPath, 0o600);
      try {
        const serve = await run(CLI, ['serve', '--port', String(await freePort())], { env: w.env }).then(
          () => assert.fail('serve started over a live socket'),
          (error: { code: number; stderr: string }) => error,
        );
        assert.equal(serve.code, 1);
        assert.match(serve.stderr, /a daemon answers on its local socket/);
        assert.ok(fs.statSync(socketPath).isSocket());
      } finally {
        await new Promise((resolve) => squatter.close(resolve));
      }
    } finally {
      kill(w.state()?.pid);
      w.cleanup();
    }
  });

  test(
    'a runtime directory another user owns is refused by the daemon and by the shim',
    { skip: !isRoot && 'chown needs root' },
    async () => {
      const w = makeWardenEnv();
      const runtime = path.join(w.home, 'run');
      fs.mkdirSync(runtime, { mode: 0o700 });
      const env = { ...w.env, XDG_RUNTIME_DIR: runtime };
      w.writeConfig({ daemon: { port: await freePort() }, mcpServers: { everything: everythingServer() } });
      try {
        fs.mkdirSync(path.join(runtime, 'mcp-warden'), { mode: 0o700 });
        fs.chownSync(path.join(runtime, 'mcp-warden'), 65534, 65534);
        const serve = await run(CLI, ['serve', '--port', String(await freePort())], { env }).then(
          () => assert.fail('serve used a foreign directory'),
          (error: { code: number; stderr: string }) => error,
        );
        assert.equal(serve.code, 1);
        assert.match(serve.stderr, /refusing to use the runtime directory .*owned by uid 65534/);

        // The shim checks too: a daemon's directory that changed owner under it is not used.
        fs.chownSync(path.join(runtime, 'mcp-warden'), 0, 0);
        const daemon = await startDaemonProcess({ ...w, env });
        try {
          assert.ok(w.state()!.socket!.startsWith(runtime));
          fs.chownSync(path.join(runtime, 'mcp-warden'), 65534, 65534);
          const shim = spawn(CLI, ['connect', 'everything'], { env, stdio: ['pipe', 'pipe', 'pipe'] });
          let stderr = '';
          shim.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
          const code = await new Promise((resolve) => shim.once('exit', resolve));
          assert.notEqual(code, 0);
          assert.match(stderr, /refusing to use the runtime directory .*owned by uid 65534/);
        } finally {
          fs.chownSync(path.join(runtime, 'mcp-warden'), 0, 0);
          await daemon.stop();
        }
      } finally {
        w.cleanup();
      }
    },
  );
});
