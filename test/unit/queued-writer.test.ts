/**
 * QueuedWriter: bursts of writes wait behind one `drain` listener, arrive whole and in order,
 * and fail (instead of hanging) when the stream goes away. Real pipes to real processes.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import fc from 'fast-check';
import { QueuedWriter } from '../../main/core/bridge/queued-writer.ts';

/** A writable that takes its time (like a slow reader on the other side of a pipe). */
function slowSink(highWaterMark: number): Writable & { received: Buffer[]; maxDrainListeners: number } {
  const received: Buffer[] = [];
  const sink = new Writable({
    highWaterMark,
    write(chunk: Buffer, _encoding, callback) {
      received.push(chunk);
      setImmediate(callback);
    },
  }) as Writable & { received: Buffer[]; maxDrainListeners: number };
  sink.received = received;
  sink.maxDrainListeners = 0;
  sink.on('newListener', (event) => {
    if (event === 'drain')
      queueMicrotask(
        () => (sink.maxDrainListeners = Math.max(sink.maxDrainListeners, sink.listenerCount('drain'))),
      );
  });
  return sink;
}

test('any burst of writes: one drain listener at most, every write resolves, bytes arrive in order', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.integer({ min: 1, max: 5000 }), { minLength: 1, maxLength: 60 }),
      fc.integer({ min: 16, max: 4096 }),
      async (sizes, highWaterMark) => {
        const sink = slowSink(highWaterMark);
        const writer = new QueuedWriter(sink, 'the sink');
        const chunks = sizes.map((size, i) => Buffer.alloc(size, i % 256));
        await Promise.all(chunks.map((chunk) => writer.write(chunk)));
        assert.ok(sink.listenerCount('drain') <= 1);
        assert.ok(sink.maxDrainListeners <= 1, `saw ${sink.maxDrainListeners} drain listeners`);
        assert.equal(writer.waiting, 0);
        sink.end();
        await once(sink, 'finish');
        assert.deepEqual(Buffer.concat(sink.received), Buffer.concat(chunks));
      },
    ),
    { numRuns: 60 },
  );
});

test('50 writes of 1 MiB to a real child’s stdin: no MaxListenersExceededWarning, all bytes arrive', async () => {
  const warnings: Error[] = [];
  const onWarning = (warning: Error): void => void warnings.push(warning);
  process.on('warning', onWarning);
  try {
    const child = spawn('wc', ['-c'], { stdio: ['pipe', 'pipe', 'ignore'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const writer = new QueuedWriter(child.stdin, "wc's stdin");
    const chunk = Buffer.alloc(1024 * 1024, 0x61);
    await Promise.all(Array.from({ length: 50 }, () => writer.write(chunk)));
    assert.ok(child.stdin.listenerCount('drain') <= 1);
    child.stdin.end();
    await once(child, 'close');
    assert.equal(Number(out.trim()), 50 * 1024 * 1024);
    // Warnings are emitted on the next tick.
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(
      warnings.filter((w) => w.name === 'MaxListenersExceededWarning').map((w) => w.message),
      [],
    );
  } finally {
    process.off('warning', onWarning);
  }
});

test('a stream that closes while writes wait rejects them, and every later write', async () => {
  const child = spawn('sleep', ['600'], { stdio: ['pipe', 'ignore', 'ignore'] });
  await once(child, 'spawn');
  const writer = new QueuedWriter(child.stdin, "the server process's stdin");
  const chunk = Buffer.alloc(1024 * 1024);
  // sleep never reads: the pipe fills and these wait for a drain that will not come.
  const waiting = Array.from({ length: 5 }, () => writer.write(chunk));
  await new Promise((resolve) => setImmediate(resolve));
  assert.ok(writer.waiting > 0);
  child.kill('SIGKILL');
  const results = await Promise.allSettled(waiting);
  for (const r of results) {
    assert.equal(r.status, 'rejected', 'a waiting write is rejected, not left hanging');
    assert.match(String(r.reason), /the server process's stdin (was closed|failed)/);
  }
  await assert.rejects(writer.write(chunk), /the server process's stdin/);
  assert.equal(writer.waiting, 0);
});
