import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AuditLog } from '../../main/core/audit/audit-log.ts';
import type { OutboxItem } from '../../main/core/audit/outbox.ts';
import { silentLogger } from '../../main/core/log.ts';
import { backoffMs, DestinationSender } from '../../main/core/forward/sender.ts';
import type { ForwardTransport } from '../../main/core/forward/transport.ts';
import { waitFor } from '../helpers/warden-env.ts';

test('property: backoff doubles up to the cap, with jitter over the upper half', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 60 }),
      fc.integer({ min: 1, max: 10_000 }),
      fc.integer({ min: 1, max: 600_000 }),
      fc.double({ min: 0, max: 0.999_999, noNaN: true }),
      (failures, initial, max, random) => {
        const cap = Math.min(max, initial * 2 ** (failures - 1));
        const wait = backoffMs(failures, initial, max, () => random);
        assert.ok(wait >= Math.floor(cap / 2) && wait <= Math.ceil(cap), `${wait} in [${cap / 2}, ${cap}]`);
      },
    ),
  );
});

/** A transport that fails while `down` and keeps what it was sent. */
function flakyTransport(): ForwardTransport & { down: boolean; sent: string[]; attempts: number } {
  const transport = {
    down: true,
    sent: [] as string[],
    attempts: 0,
    send(items: readonly OutboxItem[]) {
      transport.attempts++;
      if (transport.down) return Promise.reject(new Error('connection refused'));
      transport.sent.push(...items.map((i) => i.recordId));
      return Promise.resolve();
    },
    close() {},
  };
  return transport;
}

test('a sender retries a failed batch with backoff, then delivers everything in order and empties the outbox', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'warden-sender-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const log = AuditLog.open(path.join(dir, 'audit.db'));
  t.after(() => log.close());
  log.outbox.setDestinations(['siem']);
  const transport = flakyTransport();
  const sender = new DestinationSender('siem', log.outbox, transport, silentLogger(), {
    batchSize: 2,
    initialBackoffMs: 5,
    maxBackoffMs: 20,
  });
  t.after(() => sender.stop());
  log.outbox.onEnqueued = () => sender.wake();
  const ids = Array.from({ length: 5 }, (_, i) =>
    log.recordRefusal(
      {
        startedAt: Date.now(),
        sessionId: 's',
        server: 'everything',
        tool: 'echo',
        requestId: i,
        decision: 'deny',
      },
      'no',
    ),
  );
  await waitFor(() => transport.attempts >= 3, 5000, 'three failed attempts');
  assert.equal(log.outbox.status()[0]?.lastError, 'connection refused');
  assert.ok((log.outbox.status()[0]?.failures ?? 0) >= 3);
  assert.equal(log.outbox.status()[0]?.depth, 5, 'nothing is lost while the receiver is down');
  transport.down = false;
  await waitFor(() => log.outbox.status()[0]?.depth === 0, 5000, 'the outbox to drain');
  assert.deepEqual(
    transport.sent,
    ids.map((id) => `${log.outbox.logId}-${id}`),
  );
  assert.equal(log.outbox.status()[0]?.delivered, 5);
  assert.equal(log.outbox.status()[0]?.failures, 0);
});

test('a send that hangs counts as failed after the timeout and the batch is tried again', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'warden-sender-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const log = AuditLog.open(path.join(dir, 'audit.db'));
  t.after(() => log.close());
  log.outbox.setDestinations(['slow']);
  let hang = true;
  let delivered = 0;
  const transport: ForwardTransport = {
    send: (items, signal) =>
      hang
        ? new Promise((_, reject) => signal.addEventListener('abort', () => reject(new Error('timed out'))))
        : Promise.resolve(void (delivered += items.length)),
    close() {},
  };
  const sender = new DestinationSender('slow', log.outbox, transport, silentLogger(), {
    timeoutMs: 50,
    initialBackoffMs: 5,
    maxBackoffMs: 10,
  });
  t.after(() => sender.stop());
  log.recordRefusal(
    { startedAt: Date.now(), sessionId: 's', server: 'x', tool: 'y', decision: 'deny' },
    'no',
  );
  sender.wake();
  await waitFor(() => log.outbox.status()[0]?.lastError === 'timed out', 5000, 'the timeout');
  hang = false;
  await waitFor(() => delivered === 1, 5000, 'the retry');
  await sender.idle();
  assert.equal(log.outbox.status()[0]?.depth, 0);
});
