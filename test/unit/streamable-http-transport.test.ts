/**
 * StreamableHttpTransport on a real node:http server, with the test in the place of the
 * session's bridge: it sees what the transport delivers and answers when it chooses, so the
 * orderings a real server makes rare are certain here (an answer collected before a related
 * message switches its batch to an event stream, a withdrawn request in a batch, a full queue
 * for the standalone stream, a session closed under an open POST).
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, beforeEach, describe, test } from 'node:test';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import {
  MAX_QUEUED_STANDALONE,
  StreamableHttpTransport,
} from '../../main/core/daemon/streamable-http-transport.ts';
import { waitFor } from '../helpers/warden-env.ts';

type Message = Record<string, unknown> & { id?: unknown };

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

function events(body: string): Message[] {
  return body
    .split('\n')
    .filter((line) => line.startsWith('data: '))
    .map((line) => JSON.parse(line.slice(6)) as Message);
}

describe('StreamableHttpTransport (real node:http, the test as the bridge)', () => {
  let transport: StreamableHttpTransport;
  let delivered: JSONRPCMessage[];
  let closed: number;
  let server: http.Server;
  let port: number;
  /** Responses the server saw closed (answered, or the client went away). */
  let responsesClosed = 0;

  before(async () => {
    server = http.createServer((req, res) => {
      res.once('close', () => responsesClosed++);
      let text = '';
      req.setEncoding('utf8');
      req.on('data', (chunk: string) => (text += chunk));
      req.on('end', () => {
        const body = text ? (JSON.parse(text) as JSONRPCMessage | JSONRPCMessage[]) : undefined;
        transport.handle(req, res, body);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });

  beforeEach(() => {
    delivered = [];
    closed = 0;
    transport = new StreamableHttpTransport({
      sessionId: 'session-1',
      deliver: (message) => delivered.push(message),
      onclose: () => closed++,
    });
  });

  after(() => {
    server.closeAllConnections();
    server.close();
  });

  function request(
    method: string,
    body?: unknown,
    onHead?: (res: http.IncomingMessage) => void,
  ): Promise<Answer> {
    return new Promise((resolve, reject) => {
      const req = http.request(
        {
          host: '127.0.0.1',
          port,
          method,
          path: '/',
          headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
        },
        (res) => {
          if (onHead) {
            onHead(res);
            resolve({ status: res.statusCode!, headers: res.headers, body: '' });
            return;
          }
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => (text += chunk));
          res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: text }));
        },
      );
      req.on('error', reject);
      req.end(body === undefined ? undefined : JSON.stringify(body));
    });
  }

  const ping = (id: string | number) => ({ jsonrpc: '2.0' as const, id, method: 'ping' });
  const result = (id: string | number, value: unknown = {}) =>
    ({ jsonrpc: '2.0', id, result: { value } }) as JSONRPCMessage;
  const progress = (n: number) =>
    ({
      jsonrpc: '2.0',
      method: 'notifications/progress',
      params: { progressToken: 't', progress: n },
    }) as JSONRPCMessage;
  const deliveredIds = () => delivered.map((m) => (m as { id?: unknown }).id);

  test('an answer collected before a related message is written first on the stream the batch switches to', async () => {
    const pending = request('POST', [ping('a'), ping('b')]);
    await waitFor(() => delivered.length === 2, 5000, 'the batch delivered');
    await transport.send(result('a', 1));
    await transport.send(progress(1), { relatedRequestId: 'b' });
    await transport.send(result('b', 2));
    const answer = await pending;
    assert.equal(answer.headers['content-type'], 'text/event-stream');
    assert.deepEqual(
      events(answer.body).map((m) => m.id ?? m.method),
      ['a', 'notifications/progress', 'b'],
    );
  });

  test('a batch answered with no related message is one JSON array in the order of its requests', async () => {
    const pending = request('POST', [ping(2), { jsonrpc: '2.0', method: 'notifications/x' }, ping(1)]);
    await waitFor(() => delivered.length === 3, 5000, 'the batch delivered');
    await transport.send(result(1, 'one'));
    await transport.send(result(2, 'two'));
    const answer = await pending;
    assert.equal(answer.headers['content-type'], 'application/json');
    assert.deepEqual(
      (JSON.parse(answer.body) as Message[]).map((m) => m.id),
      [2, 1],
    );
  });

  test('a withdrawn request (closeRequestStream) leaves its batch answered with the others; alone, an empty event stream', async () => {
    const batch = request('POST', [ping('keep'), ping('drop')]);
    await waitFor(() => delivered.length === 2, 5000, 'the batch delivered');
    transport.closeRequestStream('drop');
    await transport.send(result('keep'));
    const answered = await batch;
    assert.deepEqual(
      (JSON.parse(answered.body) as Message[]).map((m) => m.id),
      ['keep'],
    );
    const alone = request('POST', ping('alone'));
    await waitFor(() => deliveredIds().includes('alone'), 5000, 'the request delivered');
    transport.closeRequestStream('alone');
    const empty = await alone;
    assert.equal(empty.status, 200);
    assert.equal(empty.headers['content-type'], 'text/event-stream');
    assert.equal(empty.body, '');
    await assert.rejects(transport.send(result('alone')), /No open request "alone"/);
  });

  test('ids 1 and "1" are different requests', async () => {
    const pending = request('POST', [ping(1), ping('1')]);
    await waitFor(() => delivered.length === 2, 5000, 'the batch delivered');
    await transport.send(result('1', 'string'));
    await transport.send(result(1, 'number'));
    const answers = JSON.parse((await pending).body) as { id: unknown; result: { value: string } }[];
    assert.deepEqual(
      answers.map((m) => [m.id, m.result.value]),
      [
        [1, 'number'],
        ['1', 'string'],
      ],
    );
  });

  test('messages for the standalone stream wait for it (the newest MAX_QUEUED_STANDALONE), then go on it in order', async () => {
    const extra = 5;
    for (let n = 0; n < MAX_QUEUED_STANDALONE + extra; n++) await transport.send(progress(n));
    let received = '';
    let stream!: http.IncomingMessage;
    const opened = await request('GET', undefined, (res) => {
      stream = res;
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (received += chunk));
    });
    assert.equal(opened.status, 200);
    await waitFor(
      () => events(received).length === MAX_QUEUED_STANDALONE,
      5000,
      'the queued messages on the stream',
    );
    assert.deepEqual(
      events(received).map((m) => (m.params as { progress: number }).progress),
      Array.from({ length: MAX_QUEUED_STANDALONE }, (_, i) => i + extra),
    );
    await transport.send(progress(-1));
    await waitFor(() => events(received).length === MAX_QUEUED_STANDALONE + 1, 5000, 'a live message');
    stream.destroy();
  });

  test('closing the session ends its open POSTs and streams, calls onclose once, and answers later requests 404', async () => {
    let standaloneEnded = false;
    await request('GET', undefined, (res) => {
      res.resume();
      res.on('end', () => (standaloneEnded = true));
    });
    const pending = request('POST', ping('open'));
    await waitFor(() => deliveredIds().includes('open'), 5000, 'the request delivered');
    await transport.close();
    await transport.close();
    assert.equal(closed, 1);
    const ended = await pending;
    assert.equal(ended.headers['content-type'], 'text/event-stream');
    assert.equal(ended.body, '');
    await waitFor(() => standaloneEnded, 5000, 'the standalone stream to end');
    const later = await request('POST', ping('late'));
    assert.equal(later.status, 404);
    assert.ok(!deliveredIds().includes('late'));
  });

  test('a client that goes away takes its answers with it: a later answer is refused, not written', async () => {
    const req = http.request({
      host: '127.0.0.1',
      port,
      method: 'POST',
      path: '/',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
    });
    req.on('error', () => undefined);
    req.end(JSON.stringify(ping('gone')));
    await waitFor(() => deliveredIds().includes('gone'), 5000, 'the request delivered');
    const closedBefore = responsesClosed;
    req.destroy();
    await waitFor(() => responsesClosed > closedBefore, 5000, 'the server to see the client leave');
    await assert.rejects(transport.send(result('gone')), /No open request "gone"/);
  });
});
