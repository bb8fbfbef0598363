/**
 * LocalSocketEndpoint (main/core/daemon/local-socket.ts) over a real Unix socket, with a stand-in
 * session (the bridge is what the integration tests run; here the session must flood the client
 * on cue): a client that reads nothing of a flood is dropped with the reason logged; a hello over
 * its limit is refused without waiting for its end; ending a server's sessions closes their
 * connections and sessions.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, beforeEach, test } from 'node:test';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import type { ServerConfig, WardenConfig } from '../../main/core/config/schema.ts';
import { LocalSocketEndpoint, MAX_UNREAD_BYTES } from '../../main/core/daemon/local-socket.ts';
import type { EndpointSession, SessionInit } from '../../main/core/daemon/session-opening.ts';
import { createLogger } from '../../main/core/log.ts';
import type { ServerAdmission } from '../../main/core/runtime/admission.ts';
import { waitFor } from '../helpers/warden-env.ts';

const TOKEN = 't'.repeat(43);

let dir: string;
let server: net.Server;
let endpoint: LocalSocketEndpoint;
let logLines: string[];
let sessions: { init: SessionInit; closed: boolean }[];

beforeEach(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'warden-ep-'));
  logLines = [];
  sessions = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      logLines.push(chunk.toString());
      done();
    },
  });
  endpoint = new LocalSocketEndpoint({
    token: TOKEN,
    version: '0.0.0-test',
    config: () =>
      ({ file: '/x/config.json', servers: new Map([['s', { name: 's' } as ServerConfig]]) }) as WardenConfig,
    paused: () => false,
    admit: () => ({ allowed: true, trusted: false }) as unknown as ServerAdmission,
    openSession: (init) => {
      const record = { init, closed: false };
      sessions.push(record);
      const session: EndpointSession = {
        server: init.server,
        reserve: () => ({ clashes: [], release: () => undefined }),
        // Any request makes the session flood the client with 1 MiB messages.
        fromDownstream: (message: JSONRPCMessage) => {
          if ('method' in message && 'id' in message) {
            for (let i = 0; i < 64; i++)
              void init.downstream.send({
                jsonrpc: '2.0',
                method: 'notifications/message',
                params: { level: 'info', data: 'x'.repeat(1024 * 1024) },
              });
          }
          return Promise.resolve();
        },
        close: () => {
          record.closed = true;
          return Promise.resolve();
        },
        restartUpstream: () => Promise.resolve(),
      };
      return session;
    },
    logger: createLogger({ level: 'debug', destination }),
  });
  server = net.createServer(endpoint.accept);
  await new Promise<void>((resolve) => server.listen(path.join(dir, 's.sock'), resolve));
});

afterEach(async () => {
  await endpoint.close();
  await new Promise((resolve) => server.close(resolve));
  fs.rmSync(dir, { recursive: true, force: true });
});

function connect(): Promise<{ socket: net.Socket; received: () => number; closed: Promise<void> }> {
  return new Promise((resolve) => {
    const socket = net.connect(path.join(dir, 's.sock'), () => {
      let received = 0;
      socket.on('data', (d: Buffer) => (received += d.length));
      const closed = new Promise<void>((r) => socket.once('close', () => r()));
      socket.on('error', () => undefined);
      resolve({ socket, received: () => received, closed });
    });
  });
}

const helloLine = (server = 's') =>
  JSON.stringify({ mcpWarden: 1, token: TOKEN, server, client: { pid: 1, ppid: 1 } }) + '\n';

test('a client that reads nothing of a flood is dropped, the reason logged, the session closed', async () => {
  const c = await connect();
  c.socket.write(helloLine());
  await waitFor(() => c.received() > 0, 5000, 'the welcome');
  c.socket.pause();
  c.socket.write('{"jsonrpc":"2.0","id":1,"method":"flood"}\n');
  await waitFor(
    () => logLines.some((l) => l.includes('stopped reading its answers: connection dropped')),
    10_000,
    'the drop to be logged',
  );
  // Reading again, the client gets what was sent before the drop, then the end.
  c.socket.resume();
  await c.closed;
  assert.ok(c.received() < 64 * 1024 * 1024, `received ${c.received()} bytes: not the whole flood`);
  await waitFor(() => sessions[0]?.closed, 5000, 'the session to close');
  assert.ok(64 * 1024 * 1024 > MAX_UNREAD_BYTES, 'the flood is larger than the backlog allowed');
  assert.equal(endpoint.sessionCount, 0);
});

test('a hello over its limit is refused as soon as the limit is passed', async () => {
  const c = await connect();
  let text = '';
  c.socket.setEncoding('utf8');
  c.socket.on('data', (d: string) => (text += d));
  c.socket.write('{"mcpWarden":1,"token":"' + 'a'.repeat(70 * 1024)); // no newline, ever
  await c.closed;
  assert.match(text, /"code":"TOO_LARGE"/);
  assert.equal(sessions.length, 0);
});

test('ending the sessions of a server closes their connections and their sessions', async () => {
  const a = await connect();
  a.socket.write(helloLine());
  await waitFor(() => endpoint.sessionsOf('s') === 1, 5000, 'the session to open');
  await endpoint.endSessionsOf(new Set(['s']));
  await a.closed;
  assert.equal(sessions[0]!.closed, true);
  assert.equal(endpoint.sessionCount, 0);
});
