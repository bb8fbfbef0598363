import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { readJsonRpcBody, type BodyResult } from '../../main/core/daemon/request-body.ts';

/** A real HTTP server whose every request body goes through readJsonRpcBody (limit 64 bytes). */
async function withServer(
  run: (port: number, results: Promise<BodyResult>[]) => Promise<void>,
): Promise<void> {
  const results: Promise<BodyResult>[] = [];
  const server = http.createServer((req, res) => {
    const read = readJsonRpcBody(req, 64);
    results.push(read);
    void read.then((r) => {
      res.writeHead(r.ok ? 200 : 400, { connection: 'close' });
      res.end(r.ok ? 'ok' : r.error.code);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    await run((server.address() as AddressInfo).port, results);
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
}

/** Sends raw bytes and resolves with what the server answered (or '' when it closed). */
function rawRequest(port: number, bytes: string, endEarly = false): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1', () => {
      socket.write(bytes);
      if (endEarly) socket.destroy();
    });
    let answer = '';
    socket.on('data', (chunk) => (answer += chunk.toString()));
    socket.on('close', () => resolve(answer));
    socket.on('error', () => resolve(answer));
  });
}

/** The WardenError a read answered with (fails when the read succeeded). */
async function errorOf(read: Promise<BodyResult> | undefined) {
  const result = await read;
  assert.ok(result && !result.ok, 'the read failed');
  return result.error;
}

const ping = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' });

test('a JSON-RPC body within the limit is read whole', async () => {
  await withServer(async (port, results) => {
    const answer = await rawRequest(
      port,
      `POST / HTTP/1.1\r\nhost: x\r\ncontent-length: ${ping.length}\r\n\r\n${ping}`,
    );
    assert.match(answer, /^HTTP\/1.1 200/);
    assert.deepEqual(await results[0], { ok: true, body: JSON.parse(ping) });
  });
});

test('a declared Content-Length over the limit is TOO_LARGE, answered without reading the body', async () => {
  await withServer(async (port, results) => {
    const answer = await rawRequest(
      port,
      `POST / HTTP/1.1\r\nhost: x\r\ncontent-length: 65\r\n\r\n${'x'.repeat(65)}`,
    );
    assert.match(answer, /^HTTP\/1.1 400[^]*\r\nTOO_LARGE\r\n/);
    const error = await errorOf(results[0]);
    assert.equal(error.code, 'TOO_LARGE');
    assert.equal(error.message, 'Request too large: the limit is 64 bytes per message');
  });
});

test('a chunked body that grows over the limit is TOO_LARGE and still answered', async () => {
  await withServer(async (port, results) => {
    const chunk = 'x'.repeat(40);
    const body = `28\r\n${chunk}\r\n28\r\n${chunk}\r\n0\r\n\r\n`;
    const answer = await rawRequest(
      port,
      `POST / HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\n${body}`,
    );
    assert.match(answer, /^HTTP\/1.1 400[^]*\r\nTOO_LARGE\r\n/);
    assert.equal((await errorOf(results[0])).code, 'TOO_LARGE');
  });
});

test('a client that closes before its body ends yields INVALID_REQUEST, never a rejection', async () => {
  await withServer(async (port, results) => {
    await rawRequest(port, `POST / HTTP/1.1\r\nhost: x\r\ncontent-length: 50\r\n\r\n{"jsonrpc"`, true);
    while (results.length === 0) await new Promise((resolve) => setImmediate(resolve));
    const error = await errorOf(results[0]);
    assert.equal(error.code, 'INVALID_REQUEST');
    assert.match(error.message, /closed the request before its body ended/);
  });
});
