/**
 * Where the local socket is and the ownership checks both ends make
 * (main/core/daemon/local-socket-path.ts): the runtime directory in use, the sun_path limit
 * with its fallback, the Windows pipe name, and refusals of directories and sockets that are
 * not private to the user (other permissions, another owner, a symbolic link, not a socket).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import {
  checkLocalSocket,
  checkRuntimeDir,
  localSocketLocation,
  MAX_SOCKET_PATH_BYTES,
  prepareRuntimeDir,
} from '../../main/core/daemon/local-socket-path.ts';
import { isWardenError } from '../../main/core/errors.ts';

const uid = process.getuid!();
const isRoot = uid === 0;

const unsafe = (pattern: RegExp) => (error: unknown) =>
  isWardenError(error, 'RUNTIME_DIR_UNSAFE') && pattern.test(error.message);

describe('local socket location', () => {
  test('$XDG_RUNTIME_DIR/mcp-warden when set; one socket per state directory', () => {
    const a = localSocketLocation(
      '/home/u/.local/state/mcp-warden',
      { XDG_RUNTIME_DIR: '/run/user/1000' },
      'linux',
    );
    assert.equal(a.dir, '/run/user/1000/mcp-warden');
    assert.match(a.path, /^\/run\/user\/1000\/mcp-warden\/daemon-[0-9a-f]{12}\.sock$/);
    const b = localSocketLocation('/other/state', { XDG_RUNTIME_DIR: '/run/user/1000' }, 'linux');
    assert.notEqual(a.path, b.path);
  });

  test('without XDG_RUNTIME_DIR (or a relative one) a directory of its own under the temp dir', () => {
    for (const env of [{}, { XDG_RUNTIME_DIR: 'relative/dir' }]) {
      const at = localSocketLocation('/s', env, 'darwin');
      assert.equal(at.dir, path.join(os.tmpdir(), `mcp-warden-${uid}`));
    }
  });

  test('a runtime dir too long for sun_path falls back to a shorter one', () => {
    const long = '/' + 'x'.repeat(90);
    const at = localSocketLocation('/s', { XDG_RUNTIME_DIR: long }, 'darwin');
    assert.ok(!at.path.startsWith(long));
    assert.ok(Buffer.byteLength(at.path) <= MAX_SOCKET_PATH_BYTES);
  });

  test('Windows: a named pipe of the user and the state directory', () => {
    const at = localSocketLocation('C:\\Users\\u\\state', {}, 'win32');
    assert.match(at.path, /^\\\\\.\\pipe\\mcp-warden-[0-9a-f]{12}$/);
    assert.equal(at.dir, undefined);
  });
});

describe('ownership and permission checks', () => {
  let base: string;
  beforeEach(() => {
    base = fs.mkdtempSync(path.join(os.tmpdir(), 'warden-sock-'));
  });
  afterEach(() => fs.rmSync(base, { recursive: true, force: true }));

  test('prepareRuntimeDir creates a 0700 directory; a missing one is reported as missing', () => {
    const dir = path.join(base, 'rt');
    assert.equal(checkRuntimeDir(dir), false);
    prepareRuntimeDir(dir);
    assert.equal(fs.statSync(dir).mode & 0o777, 0o700);
    assert.equal(checkRuntimeDir(dir), true);
  });

  test('a group- or world-accessible directory is refused, not repaired', () => {
    const dir = path.join(base, 'open');
    fs.mkdirSync(dir, { mode: 0o755 });
    fs.chmodSync(dir, 0o755);
    assert.throws(() => prepareRuntimeDir(dir), unsafe(/mode is 0755: others may use it/));
    assert.equal(fs.statSync(dir).mode & 0o777, 0o755);
  });

  test('a symbolic link in place of the directory is refused', () => {
    const real = path.join(base, 'real');
    fs.mkdirSync(real, { mode: 0o700 });
    const link = path.join(base, 'link');
    fs.symlinkSync(real, link);
    assert.throws(() => checkRuntimeDir(link), unsafe(/not a directory/));
  });

  test('a directory another user owns is refused', { skip: !isRoot && 'chown needs root' }, () => {
    const dir = path.join(base, 'theirs');
    fs.mkdirSync(dir, { mode: 0o700 });
    fs.chownSync(dir, 65534, 65534); // nobody
    assert.throws(() => prepareRuntimeDir(dir), unsafe(/owned by uid 65534, not by this user/));
  });

  test('the socket: missing is false; a 0600 socket of ours passes; others are refused', async () => {
    const dir = path.join(base, 'rt');
    prepareRuntimeDir(dir);
    const socketPath = path.join(dir, 'd.sock');
    assert.equal(checkLocalSocket(socketPath), false);
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(socketPath, resolve));
    try {
      fs.chmodSync(socketPath, 0o600);
      assert.equal(checkLocalSocket(socketPath), true);
      fs.chmodSync(socketPath, 0o666);
      assert.throws(() => checkLocalSocket(socketPath), unsafe(/mode is 0666/));
      if (isRoot) {
        fs.chmodSync(socketPath, 0o600);
        fs.chownSync(socketPath, 65534, 65534);
        assert.throws(() => checkLocalSocket(socketPath), unsafe(/owned by uid 65534/));
      }
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
    fs.writeFileSync(socketPath, 'not a socket', { mode: 0o600 });
    assert.throws(() => checkLocalSocket(socketPath), unsafe(/not a socket/));
  });
});
