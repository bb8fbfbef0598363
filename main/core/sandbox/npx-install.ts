import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { WardenError } from '../errors.ts';

/** An `npx [-y|--yes] [--] <package> [args…]` launcher, as client configs write it. */
export interface NpxLaunch {
  /** The package spec, e.g. "@modelcontextprotocol/server-filesystem@2026.8.31". */
  spec: string;
  /** The server's own arguments after the spec. */
  rest: string[];
}

/**
 * The npx launch of a command line, or undefined when it is not one of the plain form (other npx
 * flags such as `--package` or `-c` are left to run as they are).
 */
export function npxLaunch(command: string, args: readonly string[]): NpxLaunch | undefined {
  if (!/^npx(\.cmd)?$/i.test(path.basename(command))) return undefined;
  let i = 0;
  while (args[i] === '-y' || args[i] === '--yes') i++;
  if (args[i] === '--') i++;
  const spec = args[i];
  if (spec === undefined || spec.startsWith('-')) return undefined;
  return { spec, rest: args.slice(i + 1) };
}

/** The package name of a spec: "@scope/name@1.2" → "@scope/name", "name@^1" → "name". */
export function packageName(spec: string): string {
  const at = spec.indexOf('@', spec.startsWith('@') ? 1 : 0);
  return at === -1 ? spec : spec.slice(0, at);
}

/**
 * The executable npx would run for `name` from the bin directory it put on PATH, as npx picks it
 * (npm's libnpmexec): a string `bin` is named after the package (unscoped); of several, the one
 * named so, else the only one. Undefined when `binDir` holds no such executable of `name`.
 */
export function binOf(binDir: string, name: string): string | undefined {
  let manifest: { bin?: string | Record<string, string> };
  try {
    manifest = JSON.parse(
      fs.readFileSync(path.join(binDir, '..', name, 'package.json'), 'utf8'),
    ) as typeof manifest;
  } catch {
    return undefined;
  }
  const unscoped = name.replace(/^@[^/]+\//, '');
  const bins = typeof manifest.bin === 'string' ? [unscoped] : Object.keys(manifest.bin ?? {});
  const chosen = bins.length === 1 ? bins[0] : bins.find((b) => b === unscoped);
  if (!chosen) return undefined;
  const file = path.join(binDir, chosen);
  return fs.existsSync(file) ? file : undefined;
}

/**
 * Runs the install step of an npx launch outside the sandbox, so that the server inside it does
 * not need the registry: `npx --yes --prefer-offline --package=<spec> -- node -e <print PATH>`
 * with install scripts off (no code of the package runs outside the sandbox), then finds the
 * package's executable in the bin directory npx added to PATH.
 * @param npx the npx command as configured; env the server's environment.
 * @returns the executable and the server's arguments, to run in the sandbox instead.
 * @throws WardenError UPSTREAM_UNAVAILABLE when npx fails or the package has no executable.
 */
export async function installForSandbox(
  npx: string,
  launch: NpxLaunch,
  env: Record<string, string>,
  cwd: string | undefined,
): Promise<{ command: string; args: string[] }> {
  const printPath = 'process.stdout.write(JSON.stringify(process.env.PATH))';
  const { code, stdout, stderr } = await new Promise<{ code: number | null; stdout: string; stderr: string }>(
    (resolve) => {
      const child = spawn(
        npx,
        ['--yes', '--prefer-offline', `--package=${launch.spec}`, '--', 'node', '-e', printPath],
        { env: { ...env, npm_config_ignore_scripts: 'true' }, cwd, stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let out = '';
      let err = '';
      child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
      child.stderr.setEncoding('utf8').on('data', (d: string) => (err = (err + d).slice(-2000)));
      child.once('error', (error) => resolve({ code: -1, stdout: '', stderr: error.message }));
      child.once('close', (exit) => resolve({ code: exit, stdout: out, stderr: err }));
    },
  );
  const failed = (why: string): WardenError =>
    new WardenError(
      'UPSTREAM_UNAVAILABLE',
      `the install step of "${launch.spec}" (npx, outside the sandbox) ${why}`,
    );
  if (code !== 0) throw failed(`failed (exit ${code}): ${stderr.trim().split('\n').slice(-3).join(' ')}`);
  let printed: unknown;
  try {
    printed = JSON.parse(stdout);
  } catch {
    throw failed('printed no PATH');
  }
  // The directories npx put in front of the server's PATH first (its cache, or the project's own
  // node_modules/.bin when the package is installed there), then the rest.
  const before = new Set((env.PATH ?? '').split(path.delimiter));
  const dirs = String(printed).split(path.delimiter).filter(Boolean);
  const added = dirs.filter((dir) => !before.has(dir));
  const name = packageName(launch.spec);
  for (const dir of [...added, ...dirs.filter((dir) => before.has(dir))]) {
    const bin = binOf(dir, name);
    if (bin) return { command: bin, args: launch.rest };
  }
  throw failed(`found no executable of ${name} (npx added ${added.join(', ') || 'nothing'} to PATH)`);
}
