/**
 * The daemon fixture other integration tests stand on (test/helpers/daemon-fixture.ts): it runs
 * a real daemon for its user, restarts it, and leaves nothing behind, also when a step fails.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { test } from 'node:test';
import { startDaemonFixture } from '../helpers/daemon-fixture.ts';
import { isProcessAlive } from '../../main/core/state-file.ts';
import { everythingServer } from '../helpers/warden-env.ts';

test('a daemon for the config given, restarted for the same user; close undoes every step, last first', async () => {
  const steps: string[] = [];
  const fx = await startDaemonFixture({
    prepare: (_w, defer) => defer(() => steps.push('prepare cleanup')),
    config: { mcpServers: { everything: everythingServer() } },
    afterStart: (started, defer) => {
      steps.push(
        `started, token ${started.token === started.w.state()?.token ? 'from' : 'not from'} its state file`,
      );
      defer(() =>
        steps.push(`afterStart cleanup, daemon running: ${isProcessAlive(started.daemon.child.pid)}`),
      );
    },
  });
  const { home } = fx.w;
  try {
    assert.equal(fx.w.state()?.pid, fx.daemon.child.pid);
    assert.equal(fx.url, `http://127.0.0.1:${fx.daemon.port}`);
    assert.deepEqual(
      (await fx.control.servers()).map((s) => s.name),
      ['everything'],
    );
    const first = fx.daemon;
    await assert.rejects(fx.start(), /the daemon still runs; stop it first/);
    assert.equal(await fx.restart(), 0);
    assert.notEqual(fx.daemon.child.pid, first.child.pid);
    assert.equal(fx.w.state()?.pid, fx.daemon.child.pid);
    assert.deepEqual(
      (await fx.control.servers()).map((s) => s.name),
      ['everything'],
      'the control client follows the new daemon',
    );
  } finally {
    await fx.close();
  }
  const daemon = fx.daemon;
  assert.notEqual(daemon.child.exitCode ?? daemon.child.signalCode, null, 'the daemon stopped');
  assert.deepEqual(steps, [
    'started, token from its state file',
    'afterStart cleanup, daemon running: true',
    'prepare cleanup',
  ]);
  assert.equal(fs.existsSync(home), false, 'HOME is removed');
  await fx.close(); // a second close does nothing
});

test('a step that fails undoes what was made before it and rethrows', async () => {
  let home = '';
  const cleaned: string[] = [];
  await assert.rejects(
    startDaemonFixture({
      prepare: (w, defer) => {
        home = w.home;
        defer(() => cleaned.push('prepare cleanup'));
      },
      config: () => {
        throw new Error('no config for you');
      },
    }),
    /no config for you/,
  );
  assert.deepEqual(cleaned, ['prepare cleanup']);
  assert.ok(home !== '' && !fs.existsSync(home), 'HOME is removed');
});
