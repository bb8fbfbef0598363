import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { WardenError } from '../errors.ts';

/**
 * Where the daemon's local socket is, and the checks both ends make before using it.
 *
 * Unix: a socket `daemon-<id>.sock` in a per-user runtime directory: `$XDG_RUNTIME_DIR/mcp-warden`
 * when XDG_RUNTIME_DIR is set, else `mcp-warden-<uid>` under the OS temp directory, else under
 * /tmp (the first whose socket path fits in sun_path: 104 bytes on macOS, 108 on Linux, with its
 * NUL). The directory is 0700 and the socket 0600, both owned by the user; a directory or socket
 * someone else owns, or that others may enter, is refused (RUNTIME_DIR_UNSAFE), never repaired.
 *
 * Windows: a named pipe `\\.\pipe\mcp-warden-<id>`. Node cannot set a pipe's ACL: libuv creates
 * it with the default security descriptor (CreateNamedPipeW with no security attributes), whose
 * DACL gives full control to LocalSystem, Administrators and the creator, and read access to
 * Everyone and Anonymous. So on Windows the pipe is not private to the user: another local
 * account may open it for reading (the daemon sends nothing before a hello), and the token in
 * the hello, compared in constant time, is the gate, as the bearer token is for the HTTP
 * endpoint. A pipe of that name another account created first makes the daemon's listen fail
 * (libuv asks for the first instance), but a shim cannot learn who serves a pipe (Node has no
 * GetNamedPipeServerProcessId), so on Windows a shim trusts the name in the state file. Not
 * run on Windows here: these machines cannot.
 *
 * `<id>` is a hash of the state directory (and, on Windows, the user name): one daemon per state
 * directory, so a second install or a test's own directories get a socket of their own.
 */

/** Largest socket path taken, bytes: macOS's sun_path is 104 bytes with its terminating NUL. */
export const MAX_SOCKET_PATH_BYTES = 103;

/** Where the local socket of the daemon that uses `stateDir` is. */
export interface LocalSocketLocation {
  /** The socket path (Unix) or pipe name (Windows). */
  path: string;
  /** The private directory that holds the socket (Unix); undefined for a Windows pipe. */
  dir?: string;
}

function idOf(...parts: string[]): string {
  return createHash('sha256').update(parts.join('\0')).digest('hex').slice(0, 12);
}

/**
 * The local socket's location for the daemon whose state directory is `stateDir`.
 * @throws WardenError RUNTIME_DIR_UNSAFE when no candidate directory gives a path short enough.
 */
export function localSocketLocation(
  stateDir: string,
  env: NodeJS.ProcessEnv = process.env,
  platform: NodeJS.Platform = process.platform,
): LocalSocketLocation {
  if (platform === 'win32') {
    return { path: `\\\\.\\pipe\\mcp-warden-${idOf(os.userInfo().username, path.resolve(stateDir))}` };
  }
  const name = `daemon-${idOf(path.resolve(stateDir))}.sock`;
  const uid = process.getuid?.() ?? 0;
  const candidates = [
    ...(env.XDG_RUNTIME_DIR && path.isAbsolute(env.XDG_RUNTIME_DIR)
      ? [path.join(env.XDG_RUNTIME_DIR, 'mcp-warden')]
      : []),
    path.join(os.tmpdir(), `mcp-warden-${uid}`),
    `/tmp/mcp-warden-${uid}`,
  ];
  for (const dir of candidates) {
    const socket = path.join(dir, name);
    if (Buffer.byteLength(socket) <= MAX_SOCKET_PATH_BYTES) return { path: socket, dir };
  }
  throw new WardenError(
    'RUNTIME_DIR_UNSAFE',
    `no runtime directory gives a local socket path of at most ${MAX_SOCKET_PATH_BYTES} bytes (tried ${candidates.join(', ')}); set XDG_RUNTIME_DIR to a short private directory`,
  );
}

const own = (): number | undefined => process.getuid?.();

function unsafe(what: string, file: string, why: string): WardenError {
  return new WardenError(
    'RUNTIME_DIR_UNSAFE',
    `refusing to use the ${what} ${file}: ${why}. Remove it (or set XDG_RUNTIME_DIR to a directory of your own, mode 0700) and start MCP Warden again`,
  );
}

/** Checks an lstat result: owned by this user, nobody else may use it. */
function checkPrivate(what: string, file: string, stat: fs.Stats, maxMode: number): void {
  const uid = own();
  if (uid !== undefined && stat.uid !== uid)
    throw unsafe(what, file, `it is owned by uid ${stat.uid}, not by this user (uid ${uid})`);
  if ((stat.mode & 0o777 & ~maxMode) !== 0)
    throw unsafe(
      what,
      file,
      `its mode is ${(stat.mode & 0o777).toString(8).padStart(4, '0')}: others may use it (wanted ${maxMode.toString(8).padStart(4, '0')})`,
    );
}

/**
 * Checks the socket's directory: a real directory (not a symbolic link), owned by this user,
 * mode 0700 at most.
 * @returns false when it does not exist.
 * @throws WardenError RUNTIME_DIR_UNSAFE otherwise.
 */
export function checkRuntimeDir(dir: string): boolean {
  let stat: fs.Stats;
  try {
    stat = fs.lstatSync(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw unsafe('runtime directory', dir, (error as Error).message);
  }
  if (!stat.isDirectory()) throw unsafe('runtime directory', dir, 'it is not a directory');
  checkPrivate('runtime directory', dir, stat, 0o700);
  return true;
}

/**
 * Creates the socket's directory (mode 0700) when it is missing, then checks it (checkRuntimeDir).
 * @throws WardenError RUNTIME_DIR_UNSAFE when it cannot be created or is not private.
 */
export function prepareRuntimeDir(dir: string): void {
  if (checkRuntimeDir(dir)) return;
  try {
    fs.mkdirSync(dir, { mode: 0o700 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST')
      throw unsafe('runtime directory', dir, `it cannot be created (${(error as Error).message})`);
  }
  checkRuntimeDir(dir);
}

/**
 * Checks a local socket before connecting to it or replacing it: its directory (checkRuntimeDir),
 * then the socket itself, a socket owned by this user, mode 0600 at most. A Windows pipe has
 * nothing to check (see the module's note).
 * @returns false when the directory or the socket does not exist.
 * @throws WardenError RUNTIME_DIR_UNSAFE when either is not private to this user.
 */
export function checkLocalSocket(socketPath: string): boolean {
  if (socketPath.startsWith('\\\\.\\pipe\\')) return true;
  if (!checkRuntimeDir(path.dirname(socketPath))) return false;
  let stat: fs.Stats;
  try {
    stat = fs.lstatSync(socketPath);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw unsafe('local socket', socketPath, (error as Error).message);
  }
  if (!stat.isSocket()) throw unsafe('local socket', socketPath, 'it is not a socket');
  checkPrivate('local socket', socketPath, stat, 0o600);
  return true;
}
