/**
 * Launching the Electron app (main/app): `connect <server>` runs the shim alone, a second instance
 * quits, startOrAttach attaches to a running daemon, and where the app's files are. Everything
 * runs against a fake of the Electron main-process modules (test/helpers/fake-electron.ts) handed
 * to the same code main.ts wires with the real ones.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { appPaths } from '../../main/app/app-paths.ts';
import { daemonEntryArg, HIDDEN_SWITCH, parseLaunch, portFromEnv } from '../../main/app/launch-args.ts';
import { main, startOrAttach } from '../../main/app/start.ts';
import { WardenError } from '../../main/core/errors.ts';
import { silentLogger } from '../../main/core/log.ts';
import type { WardenPaths } from '../../main/core/paths.ts';
import { FakeBrowserWindow, FakeTray, fakeElectron } from '../helpers/fake-electron.ts';
import { FakeApi } from '../helpers/fake-warden-api.ts';
import { fakeDeps } from '../helpers/fake-app.ts';

test('launch: `connect <server>` is the shim, anything else the tray app', () => {
  const exe = '/Applications/MCP Warden.app/Contents/MacOS/MCP Warden';
  assert.deepEqual(parseLaunch([exe, 'connect', 'github'], false), { mode: 'connect', server: 'github' });
  assert.deepEqual(parseLaunch([exe, '--config', '/c.json', 'connect', 'github'], false), {
    mode: 'connect',
    server: 'github',
    config: '/c.json',
  });
  assert.deepEqual(parseLaunch(['electron', '/repo', 'connect', 'fs', '--config=/d.json'], true), {
    mode: 'connect',
    server: 'fs',
    config: '/d.json',
  });
  assert.deepEqual(parseLaunch([exe, 'connect'], false).mode, 'usage');
  assert.deepEqual(parseLaunch([exe], false), { mode: 'app', hidden: false });
  assert.deepEqual(parseLaunch([exe, '-psn_0_12345'], false), { mode: 'app', hidden: false });
  assert.deepEqual(parseLaunch([exe, HIDDEN_SWITCH], false), { mode: 'app', hidden: true });
  // What the shim's daemon launcher runs: `<exe> <entry> [--config F] serve --headless`.
  assert.deepEqual(parseLaunch([exe, HIDDEN_SWITCH, '-c', '/c.json', 'serve', '--headless'], false), {
    mode: 'app',
    hidden: true,
    config: '/c.json',
  });
  assert.deepEqual(parseLaunch(['electron', '/repo/dist/main/app/main.js', 'serve', '--headless'], true), {
    mode: 'app',
    hidden: true,
  });
  // In development the app path is argv[1]; packaged, the executable is the app.
  assert.equal(
    daemonEntryArg(['electron', 'dist/main/app/main.js', 'connect', 'x'], true),
    path.resolve('dist/main/app/main.js'),
  );
  assert.equal(daemonEntryArg([exe, 'connect', 'x'], false), HIDDEN_SWITCH);

  assert.equal(portFromEnv({}), undefined);
  assert.equal(portFromEnv({ MCP_WARDEN_PORT: '0' }), 0);
  assert.throws(() => portFromEnv({ MCP_WARDEN_PORT: 'http' }), /MCP_WARDEN_PORT must be a port number/);
});

test('main: `connect <server>` runs the shim alone: no lock, no window, no tray, exit with its code', async () => {
  const fake = fakeElectron();
  const deps = fakeDeps({
    argv: ['/opt/MCP Warden/mcp-warden', 'connect', 'github'],
    runConnect: (options) => {
      deps.log.push(`connect:${options.server}:${options.cliEntry}`);
      return Promise.resolve(3);
    },
  });
  const started = main(fake.electron, deps);
  assert.equal(started.launch.mode, 'connect');
  await started.done;
  assert.deepEqual(deps.log, ['paths:', `connect:github:${HIDDEN_SWITCH}`]);
  assert.equal(fake.app.exitCode, 3);
  assert.equal(fake.app.lockRequests, 0);
  assert.equal(fake.app.hardwareAcceleration, false);
  assert.equal(fake.app.dock.visible, false);
  assert.equal(FakeBrowserWindow.instances.length, 0);
  assert.equal(FakeTray.instances.length, 0);
  assert.equal(fake.handlers.size, 0);
  assert.deepEqual(fake.schemes, []);

  // A shim that cannot reach or start the daemon says why and exits 1.
  const failing = fakeElectron();
  const failDeps = fakeDeps({
    argv: ['electron', '/repo', '--config', '/c.json', 'connect', 'fs'],
    defaultApp: true,
    runConnect: () => Promise.reject(new WardenError('DAEMON_START_FAILED', 'could not start the daemon')),
  });
  await main(failing.electron, failDeps).done;
  assert.deepEqual(failDeps.log, [
    'paths:/c.json',
    'stderr:mcp-warden connect fs: could not start the daemon\n',
  ]);
  assert.equal(failing.app.exitCode, 1);

  const usage = fakeElectron();
  const usageDeps = fakeDeps({ argv: ['/opt/MCP Warden/mcp-warden', 'connect'] });
  await main(usage.electron, usageDeps).done;
  assert.equal(usage.app.exitCode, 2);
  assert.match(usageDeps.log[0]!, /usage: connect <server>/);
});

test('main: a second instance quits without starting anything (the first one shows its dashboard)', async () => {
  const fake = fakeElectron();
  fake.app.gotLock = false;
  const deps = fakeDeps();
  const started = main(fake.electron, deps);
  assert.equal(await started.done, null);
  assert.equal(fake.app.quits, 1);
  assert.ok(!deps.log.includes('startDaemon'));
  assert.equal(FakeBrowserWindow.instances.length, 0);
});

test('startOrAttach: attaches to a daemon already running, rethrows anything else', async () => {
  const attached = new FakeApi();
  const options = {
    config: {} as never,
    paths: { daemonStateFile: '/s' } as WardenPaths,
    logger: silentLogger(),
  };
  const result = await startOrAttach(
    {
      startDaemon: () => Promise.reject(new WardenError('DAEMON_ALREADY_RUNNING', 'already running (pid 9)')),
      connectControlClient: () => Promise.resolve(attached),
      createClient: () => assert.fail('no client of our own'),
    },
    options,
  );
  assert.equal(result.api, attached);
  assert.equal(result.daemon, null);
  await assert.rejects(
    startOrAttach(
      {
        startDaemon: () => Promise.reject(new WardenError('DAEMON_PORT_IN_USE', 'port 47113 is used')),
        connectControlClient: () => assert.fail('not attached'),
        createClient: () => assert.fail('no client'),
      },
      options,
    ),
    /port 47113 is used/,
  );
});

test('app paths: renderer, preload and tray icon under the app root, dev and packaged alike', () => {
  const packaged = appPaths(
    '/Applications/MCP Warden.app/Contents/Resources/app.asar/dist/main/app',
    'darwin',
  );
  assert.equal(packaged.root, '/Applications/MCP Warden.app/Contents/Resources/app.asar');
  assert.equal(packaged.rendererDir, `${packaged.root}/dist/renderer`);
  assert.equal(packaged.preload, `${packaged.root}/dist/preload/preload.cjs`);
  assert.equal(packaged.trayIcon, `${packaged.root}/resources/tray/trayTemplate.png`);
  const dev = appPaths(path.resolve('dist/main/app'), 'linux');
  assert.equal(dev.root, path.resolve('.'));
  assert.equal(dev.trayIcon, path.resolve('resources/tray/tray.png'));
  assert.ok(fs.existsSync(dev.trayIcon), 'the tray icon is in the repo');
  assert.ok(fs.existsSync(path.resolve('resources/tray/trayTemplate.png')));
  assert.ok(fs.existsSync(path.resolve('resources/tray/trayTemplate@2x.png')));
});
