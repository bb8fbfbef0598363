import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { DestinationStream } from 'pino';
import { LOG_MAX_SIZE_ENV_VAR } from './env-settings.ts';
import { WardenError } from './errors.ts';

/** The SonicBoom stream pino-roll builds: a pino destination that names its current file. */
interface RollingStream extends DestinationStream, NodeJS.EventEmitter {
  file: string | null;
}

/** pino-roll 4 (a CommonJS module without type declarations): the options Warden passes. */
type PinoRoll = (options: {
  file: string;
  extension: string;
  /** A string with b, k, m or g. */
  size: string;
  limit: { count: number; removeOtherLogFiles: boolean };
  sync: boolean;
  mode: number;
}) => Promise<RollingStream>;

/**
 * pino-roll, loaded by the first rotating log: the connect shim reads only where the log is
 * (currentLogFile) and must not pay for loading it.
 */
const pinoRoll: PinoRoll = (options) => (createRequire(import.meta.url)('pino-roll') as PinoRoll)(options);

/** Size at which the daemon log rotates, bytes (10 MiB). */
export const DAEMON_LOG_MAX_BYTES = 10 * 1024 * 1024;

/** How many daemon log files are kept, the active one included. */
export const DAEMON_LOG_FILES = 5;

export { LOG_MAX_SIZE_ENV_VAR } from './env-settings.ts';

/** Smallest rotation size accepted, bytes (a smaller one would rotate on every line). */
const MIN_LOG_BYTES = 16 * 1024;

/**
 * Parses a log size: a whole number of bytes, or a number with `k`, `m` or `g` (KiB, MiB, GiB),
 * e.g. `10m`, `512k`.
 * @throws WardenError USAGE naming `source` when the text is not such a size or is under 16 KiB.
 */
export function parseLogSize(text: string, source: string = LOG_MAX_SIZE_ENV_VAR): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([kmg]?)i?b?\s*$/i.exec(text);
  const unit = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[match?.[2]?.toLowerCase() ?? ''];
  const bytes = match && unit ? Math.floor(Number(match[1]) * unit) : NaN;
  if (!Number.isSafeInteger(bytes) || bytes < MIN_LOG_BYTES) {
    throw new WardenError(
      'USAGE',
      `${source} must be a size of at least 16k (bytes, or a number with k, m or g, e.g. 10m), got "${text}"`,
    );
  }
  return bytes;
}

/** The rotation size in force: $MCP_WARDEN_LOG_MAX_SIZE, else DAEMON_LOG_MAX_BYTES. */
export function logMaxBytes(env: NodeJS.ProcessEnv = process.env): number {
  const text = env[LOG_MAX_SIZE_ENV_VAR];
  return text === undefined || text === '' ? DAEMON_LOG_MAX_BYTES : parseLogSize(text);
}

/** The numbered files of a rotating log `<dir>/<name>.log`: `<name>.<n>.log`, oldest first. */
export function rotatedLogFiles(file: string): string[] {
  const dir = path.dirname(file);
  const base = path.basename(file, '.log');
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return [];
  }
  const numbered = new RegExp(`^${base.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\.(\\d+)\\.log$`);
  return names
    .map((name) => ({ name, n: Number(numbered.exec(name)?.[1]) }))
    .filter((entry) => Number.isInteger(entry.n))
    .sort((a, b) => a.n - b.n)
    .map((entry) => path.join(dir, entry.name));
}

/**
 * The file a rotating log is written to now: what `file` links to (POSIX), else its
 * highest-numbered file, else `file` itself.
 */
export function currentLogFile(file: string): string {
  try {
    if (fs.lstatSync(file).isSymbolicLink()) return path.resolve(path.dirname(file), fs.readlinkSync(file));
  } catch {
    // no link: look at the numbered files
  }
  return rotatedLogFiles(file).at(-1) ?? file;
}

/**
 * Opens a log file that rotates by size (pino-roll, in this thread and synchronous, so the last
 * lines before a crash are on disk): lines go to `<name>.<n>.log` next to `file`, a new number
 * when the active one reaches `maxBytes`, and only the newest `files` files are kept, those of
 * earlier runs included. `file` itself (`daemon.log`) is kept as a symlink to the active file
 * where the OS allows (not on Windows without the privilege); a regular file there, from a
 * version that did not rotate, is moved to `<name>.0.log` and rotates out with the rest. Files
 * are readable by the user alone (0600, in a 0700 directory).
 * @throws WardenError USAGE for a file name that does not end in `.log`; the file system's
 *   error when the directory cannot be created or the file opened.
 */
export async function openRotatingLog(
  file: string,
  options: { maxBytes?: number; files?: number } = {},
): Promise<DestinationStream> {
  if (path.extname(file) !== '.log')
    throw new WardenError('USAGE', `a rotating log file must end in .log, got ${file}`);
  const dir = path.dirname(file);
  const base = path.join(dir, path.basename(file, '.log'));
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  adoptUnrotatedFile(file, `${base}.0.log`);
  const stream = await pinoRoll({
    file: base,
    extension: '.log',
    size: `${options.maxBytes ?? DAEMON_LOG_MAX_BYTES}b`,
    limit: { count: options.files ?? DAEMON_LOG_FILES, removeOtherLogFiles: true },
    sync: true,
    mode: 0o600,
  });
  const link = (): void => linkCurrent(file, stream.file);
  link();
  // SonicBoom says 'ready' again each time pino-roll reopens it on the next file.
  stream.on('ready', link);
  // A write that fails (disk full) must not crash the daemon: the line is lost, Warden goes on.
  stream.on('error', () => undefined);
  return stream;
}

function adoptUnrotatedFile(file: string, target: string): void {
  try {
    if (!fs.lstatSync(file).isFile()) return;
  } catch {
    return;
  }
  if (fs.existsSync(target)) {
    fs.appendFileSync(target, fs.readFileSync(file));
    fs.unlinkSync(file);
  } else fs.renameSync(file, target);
}

/** Points `file` at the active log file (a relative symlink, replaced atomically); best effort. */
function linkCurrent(file: string, active: string | null | undefined): void {
  if (!active) return;
  const temp = `${file}.${process.pid}.tmp`;
  try {
    fs.rmSync(temp, { force: true });
    fs.symlinkSync(path.basename(active), temp);
    fs.renameSync(temp, file);
  } catch {
    // No symlinks here (Windows without the privilege, some file systems): currentLogFile()
    // finds the active file by its number instead.
    fs.rmSync(temp, { force: true });
  }
}
