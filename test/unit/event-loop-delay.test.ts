/**
 * The daemon's event-loop delay (main/core/control/event-loop-delay.ts): no window until one is
 * opened; an open window sees a stall of the loop as its max and p99.9, less the sampling
 * interval; opening a new window answers the old one's figures and starts from nothing; a window
 * closes by itself after its longest span and its figures stay; and the status operation carries
 * the figures (the handler behind the table's validation).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { eventLoopSchema } from '../../main/core/control/contract.ts';
import { EVENT_LOOP_RESOLUTION_MS, EventLoopDelay } from '../../main/core/control/event-loop-delay.ts';
import { statusHandlers } from '../../main/core/control/handlers/status.ts';
import { invokeOperation } from '../../main/core/control/invoke.ts';
import { waitFor } from '../helpers/warden-env.ts';

/** Keeps the event loop busy for `ms`: the stall the monitor must see. */
function stall(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    // busy: no timer can run
  }
}

const samplesAtLeast = (monitor: EventLoopDelay, n: number) => () => monitor.figures().samples >= n;

test('no window is open until one is started: empty figures, nothing sampled', () => {
  const monitor = new EventLoopDelay();
  assert.deepEqual(monitor.figures(), {
    measuring: false,
    resolutionMs: EVENT_LOOP_RESOLUTION_MS,
    windowMs: 0,
    samples: 0,
    p50Ms: null,
    p99Ms: null,
    p999Ms: null,
    maxMs: null,
    utilization: null,
  });
  assert.equal(EVENT_LOOP_RESOLUTION_MS, 1, 'fine enough for a p99.9 target of 2 ms');
});

test('an open window sees a stall as its max and p99.9, less the sampling interval', async () => {
  const monitor = new EventLoopDelay();
  monitor.start();
  try {
    await waitFor(samplesAtLeast(monitor, 20), 10_000, '20 samples');
    const before = monitor.figures();
    assert.equal(before.measuring, true);
    // Longer than anything the (shared) machine did to the loop so far, so the max can only be it.
    const stallMs = Math.max(40, Math.ceil(2 * before.maxMs!) + 10);
    stall(stallMs);
    await waitFor(samplesAtLeast(monitor, before.samples + 5), 10_000, 'samples after the stall');
    const after = monitor.figures();
    assert.ok(
      after.maxMs! >= stallMs - EVENT_LOOP_RESOLUTION_MS,
      `max ${after.maxMs} ms, stall ${stallMs} ms`,
    );
    assert.ok(after.maxMs! < stallMs + 1_000, `max ${after.maxMs} ms is the stall, not more`);
    assert.ok(after.p50Ms! < after.maxMs!, 'the median is an ordinary turn of the loop');
    // One stall in a few dozen samples: the top permille is the stall.
    assert.equal(after.p999Ms, after.maxMs);
    assert.ok(after.p99Ms! <= after.p999Ms!);
    assert.ok(after.windowMs >= stallMs, `window ${after.windowMs} ms covers the stall`);
    assert.ok(after.utilization! > 0 && after.utilization! <= 1, `utilization ${after.utilization}`);
    assert.ok(eventLoopSchema.safeParse(after).success, 'the figures are what the contract says');
  } finally {
    monitor.stop();
  }
});

test('starting a new window answers the one it ends and starts from nothing', async () => {
  const monitor = new EventLoopDelay();
  monitor.start();
  try {
    await waitFor(samplesAtLeast(monitor, 5), 10_000, 'samples');
    const beforeStall = monitor.figures().samples;
    // Long enough that nothing else on a shared machine delays the new window's loop as much.
    const stallMs = 200;
    stall(stallMs);
    await waitFor(samplesAtLeast(monitor, beforeStall + 5), 10_000, 'samples after the stall');
    const ended = monitor.start();
    assert.equal(ended.measuring, false, 'the window it ended');
    assert.ok(ended.maxMs! >= stallMs - EVENT_LOOP_RESOLUTION_MS, `ended window's max ${ended.maxMs} ms`);
    const fresh = monitor.figures();
    assert.equal(fresh.measuring, true);
    assert.ok(fresh.samples < ended.samples, `new window: ${fresh.samples} samples`);
    await waitFor(samplesAtLeast(monitor, 20), 10_000, 'samples in the new window');
    const max = monitor.figures().maxMs!;
    assert.ok(
      max < stallMs - EVENT_LOOP_RESOLUTION_MS,
      `the stall stays in the old window (new max ${max} ms)`,
    );
  } finally {
    monitor.stop();
  }
});

test('a window closes by itself after its longest span; its figures stay as they were', async () => {
  const monitor = new EventLoopDelay({ windowMaxMs: 150 });
  monitor.start();
  await waitFor(() => !monitor.measuring, 10_000, 'the window to close');
  const closed = monitor.figures();
  assert.equal(closed.measuring, false);
  assert.ok(closed.samples > 0, `${closed.samples} samples`);
  // Node's timers keep whole milliseconds of loop time: one may fire up to 1 ms early.
  assert.ok(closed.windowMs >= 149 && closed.windowMs < 150 + 5_000, `window ${closed.windowMs} ms`);
  stall(5);
  assert.deepEqual(monitor.figures(), closed, 'a closed window no longer changes');
  assert.deepEqual(monitor.stop(), closed, 'stopping a closed window changes nothing');
});

test('the status operation carries the figures; measureEventLoop opens a window and answers the last', async () => {
  const monitor = new EventLoopDelay();
  const core = {
    config: { file: '/c.json', servers: new Map() },
    broker: { list: () => [] },
    paused: false,
    policyVersion: () => undefined,
    audit: { chainState: () => ({ size: 0, deviceId: '', signing: { state: 'pending' } }) },
  };
  const handlers = statusHandlers({ core: core as never, runtime: undefined as never }, monitor);
  try {
    const idle = (await invokeOperation(handlers, 'status', {})) as { eventLoop: unknown };
    assert.deepEqual(idle.eventLoop, monitor.figures());
    const none = await invokeOperation(handlers, 'measureEventLoop', {});
    assert.equal((none as { samples: number }).samples, 0, 'there was no window before');
    assert.equal(monitor.measuring, true);
    await waitFor(samplesAtLeast(monitor, 5), 10_000, 'samples');
    const status = (await invokeOperation(handlers, 'status', {})) as {
      eventLoop: { measuring: boolean; samples: number };
    };
    assert.equal(status.eventLoop.measuring, true);
    assert.ok(status.eventLoop.samples >= 5);
  } finally {
    monitor.stop();
  }
});
