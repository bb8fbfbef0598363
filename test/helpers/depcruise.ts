/**
 * Runs the layer checker (dependency-cruiser with .dependency-cruiser.cjs) the way
 * `npm run lint:layers` does, for the tests of the layer rules.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..', '..');
const depcruise = path.join(root, 'node_modules', '.bin', 'depcruise');
/** depcruise starts with `env node`: the Node running the tests comes first on PATH. */
const env = { ...process.env, PATH: `${path.dirname(process.execPath)}${path.delimiter}${process.env.PATH}` };

/** Checks `targets` (repo-relative files or folders); the exit status and everything printed. */
export function depcruiseCheck(targets: string[]): { status: number | null; output: string } {
  const run = spawnSync(depcruise, [...targets, '--output-type', 'err'], {
    cwd: root,
    encoding: 'utf8',
    env,
  });
  return { status: run.status, output: run.stdout + run.stderr };
}

/**
 * Writes `files` (repo-relative path -> text, creating missing folders), checks them, and removes
 * them and the folders it created again, whatever happens.
 */
export function checkTemporaryFiles(files: Record<string, string>): {
  status: number | null;
  output: string;
} {
  const written = Object.keys(files).map((rel) => path.join(root, rel));
  const dirs = new Set<string>();
  try {
    for (const [rel, text] of Object.entries(files)) {
      const dir = path.dirname(path.join(root, rel));
      if (!fs.existsSync(dir)) dirs.add(dir);
      fs.mkdirSync(dir, { recursive: true });
      fs.writeFileSync(path.join(root, rel), text);
    }
    return depcruiseCheck(Object.keys(files));
  } finally {
    for (const file of written) fs.rmSync(file, { force: true });
    for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
  }
}
