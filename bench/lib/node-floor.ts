/**
 * What Node.js itself and the daemon's packages cost in memory, for the bench's memory rows
 * (memory.node-bare, memory.node-deps): a fresh Node process, run as the daemon is (the same
 * executable, `--max-semi-space-size=2`, MALLOC_ARENA_MAX=1: see bin/mcp-warden), that imports
 * the given packages and nothing else, then reports its VmRSS 300 ms later. Side by side with the
 * daemon's idle RSS, they say how much of it is the runtime, the dependencies, and Warden.
 */
import { execFile } from 'node:child_process';
import { ROOT } from '../../test/helpers/warden-env.ts';

/** The packages a daemon has loaded when idle after one shim session (module census). */
export const DAEMON_PACKAGES = [
  'zod',
  '@modelcontextprotocol/server',
  '@modelcontextprotocol/core',
  'better-sqlite3',
  'keytar',
  'pino',
  'prom-client',
  'commander',
  'picomatch',
  '@opentelemetry/api',
] as const;

const SCRIPT = `
import fs from 'node:fs';
import { createRequire } from 'node:module';
const require = createRequire(process.argv[1]);
for (const name of JSON.parse(process.argv[2])) await import(require.resolve(name));
await new Promise((resolve) => setTimeout(resolve, 300));
const status = fs.readFileSync('/proc/self/status', 'utf8');
const mib = (field) => Number(new RegExp('^' + field + ':\\\\s+(\\\\d+)\\\\s+kB', 'm').exec(status)[1]) / 1024;
process.stdout.write(JSON.stringify({ rss: mib('VmRSS'), anon: mib('RssAnon'), file: mib('RssFile') }));
`;

/**
 * The RSS of a Node process that imported `packages` (resolved from the project root), in MiB.
 * @throws Error when a package cannot be imported (its message names it) or /proc is missing.
 */
export function nodeRss(packages: readonly string[]): Promise<{ rss: number; anon: number; file: number }> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [
        '--max-semi-space-size=2',
        '--input-type=module',
        '-e',
        SCRIPT,
        `${ROOT}/package.json`,
        JSON.stringify(packages),
      ],
      { env: { ...process.env, MALLOC_ARENA_MAX: '1' }, timeout: 30_000 },
      (error, stdout, stderr) => {
        if (error)
          reject(new Error(stderr.split('\n').find((line) => /^\w*Error\b/.test(line)) ?? error.message));
        else resolve(JSON.parse(stdout) as { rss: number; anon: number; file: number });
      },
    );
  });
}
