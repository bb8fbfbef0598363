/**
 * SyslogTransport against real sockets on loopback: a TCP receiver that closes the connection,
 * and a TLS receiver (RFC 5425) with a certificate made by the openssl CLI for the test; the
 * client verifies it against the CA file given in `tls.ca`, and refuses a receiver it cannot
 * verify.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import type { OutboxItem } from '../../main/core/audit/outbox.ts';
import type { ForwardedCall } from '../../main/core/audit/outbox-records.ts';
import { SyslogTransport } from '../../main/core/forward/syslog-transport.ts';

function items(n: number, from = 0): OutboxItem[] {
  return Array.from({ length: n }, (_, k) => {
    const i = from + k;
    const record = {
      recordId: `log-${i}`,
      rowId: i,
      tsMs: 0,
      server: 's',
      tool: 't',
      decision: 'allow',
      outcome: 'ok',
    };
    return {
      seq: i,
      kind: 'call',
      recordId: `log-${i}`,
      record: record as unknown as ForwardedCall,
      createdMs: 0,
    };
  });
}

/** Parses octet-counted frames out of `data`; returns the messages. */
function frames(data: Buffer): string[] {
  const out: string[] = [];
  let at = 0;
  while (at < data.length) {
    const space = data.indexOf(0x20, at);
    const length = Number(data.subarray(at, space).toString('ascii'));
    out.push(data.subarray(space + 1, space + 1 + length).toString('utf8'));
    at = space + 1 + length;
  }
  return out;
}

const signal = () => AbortSignal.timeout(5000);

test('a batch over TCP arrives as octet-counted RFC 5424 frames; a closed connection fails the send and the next one reconnects', async (t) => {
  const received: Buffer[] = [];
  const sockets: net.Socket[] = [];
  const server = net.createServer((socket) => {
    sockets.push(socket);
    socket.on('data', (d: Buffer) => received.push(d));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => server.close());
  const port = (server.address() as net.AddressInfo).port;
  const transport = new SyslogTransport({ type: 'syslog', host: '127.0.0.1', port }, { settleMs: 50 });
  t.after(() => transport.close());

  await transport.send(items(3), signal());
  const messages = frames(Buffer.concat(received));
  assert.equal(messages.length, 3);
  assert.match(messages[0]!, /^<110>1 \S+ \S+ mcp-warden \d+ call \[mcpwarden@32473 recordId="log-0"/);

  // The receiver closes the connection while a batch settles: that batch fails (sent again later).
  const sending = transport.send(items(2, 3), signal());
  sockets[0]!.destroy();
  await assert.rejects(sending, /syslog receiver 127\.0\.0\.1:\d+ closed the connection|could not write/);
  await transport.send(items(1, 5), signal());
  assert.equal(sockets.length, 2, 'a new connection');
  assert.ok(frames(Buffer.concat(received)).some((m) => m.includes('recordId="log-5"')));
});

test('TLS: the receiver is verified against the configured CA; an unverifiable one is refused', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'warden-syslog-tls-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const key = path.join(dir, 'key.pem');
  const cert = path.join(dir, 'cert.pem');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      key,
      '-out',
      cert,
      '-days',
      '1',
      '-subj',
      '/CN=siem.test',
      '-addext',
      'subjectAltName=DNS:siem.test',
    ],
    { stdio: 'ignore' },
  );
  const received: Buffer[] = [];
  const server = tls.createServer({ key: fs.readFileSync(key), cert: fs.readFileSync(cert) }, (socket) => {
    socket.on('data', (d: Buffer) => received.push(d));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => server.close());
  const port = (server.address() as net.AddressInfo).port;

  const trusted = new SyslogTransport(
    { type: 'syslog', host: '127.0.0.1', port, tls: { ca: cert, servername: 'siem.test' } },
    { settleMs: 50 },
  );
  t.after(() => trusted.close());
  await trusted.send(items(2), signal());
  assert.deepEqual(
    frames(Buffer.concat(received)).map((m) => /recordId="([^"]+)"/.exec(m)?.[1]),
    ['log-0', 'log-1'],
  );

  const untrusted = new SyslogTransport(
    { type: 'syslog', host: '127.0.0.1', port, tls: true },
    { settleMs: 50 },
  );
  t.after(() => untrusted.close());
  await assert.rejects(
    untrusted.send(items(1), signal()),
    /cannot connect to syslog receiver 127\.0\.0\.1:\d+: .*(self.signed|certificate)/i,
  );
});
