/**
 * The daemon's event-loop delay at the CLI edge, against a real `mcp-warden serve` process:
 * `mcp-warden status --json` shows it (no window until one is opened), `mcp-warden
 * measure-event-loop` opens a window, and the next status reads the daemon's loop sampled
 * every millisecond since, with the figures the contract describes.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { statusSchema } from '../../main/core/control/contract.ts';
import { runProcess } from '../helpers/run.ts';
import {
  CLI,
  everythingServer,
  makeWardenEnv,
  startDaemonProcess,
  waitFor,
  type DaemonProcess,
  type WardenEnv,
} from '../helpers/warden-env.ts';

let w: WardenEnv;
let daemon: DaemonProcess;

before(async () => {
  w = makeWardenEnv();
  w.writeConfig({ mcpServers: { everything: everythingServer() } });
  daemon = await startDaemonProcess(w);
});

after(async () => {
  await daemon.stop();
  w.cleanup();
});

async function status() {
  const run = await runProcess(CLI, ['status', '--json'], { env: w.env });
  assert.equal(run.code, 0, run.stderr);
  return statusSchema.parse(JSON.parse(run.stdout));
}

test('`status --json` shows the event loop; `measure-event-loop` opens a window it then reads', async () => {
  const idle = await status();
  assert.equal(idle.pid, daemon.child.pid);
  assert.deepEqual(
    idle.servers.map((s) => s.name),
    ['everything'],
  );
  assert.equal(idle.eventLoop.measuring, false, 'no window before one is opened');
  assert.equal(idle.eventLoop.samples, 0);
  assert.equal(idle.eventLoop.p999Ms, null);

  const opened = await runProcess(CLI, ['measure-event-loop', '--json'], { env: w.env });
  assert.equal(opened.code, 0, opened.stderr);
  assert.equal(JSON.parse(opened.stdout).samples, 0, 'it answers the window it ended: none');

  const measured = await waitFor(
    async () => {
      const s = await status();
      return s.eventLoop.samples >= 50 && s;
    },
    20_000,
    '50 samples of the daemon’s loop',
  );
  const loop = measured.eventLoop;
  assert.equal(loop.measuring, true);
  assert.equal(loop.resolutionMs, 1);
  assert.ok(loop.windowMs >= 50, `${loop.windowMs} ms sampled`);
  for (const figure of [loop.p50Ms, loop.p99Ms, loop.p999Ms, loop.maxMs])
    assert.ok(figure !== null && figure >= 0, `figure ${figure}`);
  assert.ok(loop.p50Ms! <= loop.p99Ms! && loop.p99Ms! <= loop.p999Ms! && loop.p999Ms! <= loop.maxMs!);
  assert.ok(loop.utilization !== null && loop.utilization > 0 && loop.utilization <= 1);
});
