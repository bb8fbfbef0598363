/**
 * A machine without the optional system packages (libsecret/gnome-keyring/D-Bus, nginx,
 * Chromium): the suites that need them skip, each printing what is missing and the command
 * that enables it, and nothing fails. The packages are hidden by running those suites with a
 * PATH that holds only Node (keytar's native build cannot be hidden this way; a machine
 * without libsecret has none, and test/integration/secrets.test.ts checks the message for it).
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { runProcess } from '../helpers/run.ts';
import { ROOT } from '../helpers/warden-env.ts';

const SUITES = [
  'test/integration/clients-protect.test.ts',
  'test/integration/oauth.test.ts',
  'test/integration/org-policy.test.ts',
  'test/e2e/dashboard.test.ts',
];

test('without the optional packages the suites that need them skip with the command that enables them', async () => {
  const { code, stdout } = await runProcess(process.execPath, ['--test', '--test-reporter=tap', ...SUITES], {
    cwd: ROOT,
    env: { PATH: path.dirname(process.execPath), HOME: process.env.HOME ?? '/tmp' },
    timeoutMs: 60_000,
  });
  assert.equal(code, 0, stdout);
  assert.match(stdout, /# fail 0/);
  assert.equal(stdout.match(/^ok \d+ - .* # SKIP needs /gm)?.length, SUITES.length, stdout);
  assert.match(
    stdout,
    /# SKIP needs dbus-daemon, gnome-keyring-daemon.*enable with: sudo apt-get install -y libsecret-1-dev gnome-keyring/,
  );
  assert.match(stdout, /# SKIP needs nginx on PATH.*enable with: sudo apt-get install -y nginx/);
  assert.match(stdout, /# SKIP needs Chromium at .*enable with: sudo apt-get install -y chromium/);
});
