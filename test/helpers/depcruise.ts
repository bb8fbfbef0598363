/**
 * Runs the layer checker (dependency-cruiser with .dependency-cruiser.cjs) the way
 * `npm run lint:layers` does, for the tests of the layer rules.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..', '..');
const depcruise = path.join(root, 'node_modules', '.bin', 'depcruise');
/** depcruise starts with `env node`: the Node running the tests comes first on PATH. */
const env = { ...process.env, PATH: `${path.dirname(process.execPath)}${path.delimiter}${process.env.PATH}` };

/** Checks `targets` (files or folders relative to `cwd`, the checkout by default); the exit status and everything printed. */
export function depcruiseCheck(targets: string[], cwd = root): { status: number | null; output: string } {
  const run = spawnSync(depcruise, [...targets, '--output-type', 'err'], {
    cwd,
    encoding: 'utf8',
    env,
  });
  return { status: run.status, output: run.stdout + run.stderr };
}

/** What the layer checker reads of the checkout: copied into a scratch tree for the probes. */
const CHECKED = ['main', 'preload', 'renderer', '.dependency-cruiser.cjs', 'package.json', 'tsconfig.json'];

/**
 * Writes `files` (repo-relative path -> text, creating missing folders) into a scratch copy of
 * the checked tree (node_modules linked), checks them there and removes the copy, whatever
 * happens. The checkout itself is never written: other tests run the build from it, and
 * bin/mcp-warden refuses a build older than any file under main/.
 */
export function checkTemporaryFiles(files: Record<string, string>): {
  status: number | null;
  output: string;
} {
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'warden-layers-'));
  try {
    for (const entry of CHECKED) {
      fs.cpSync(path.join(root, entry), path.join(scratch, entry), {
        recursive: true,
        filter: (source) =>
          !source.includes(`${path.sep}node_modules`) && !source.includes(`${path.sep}dist`),
      });
    }
    fs.symlinkSync(path.join(root, 'node_modules'), path.join(scratch, 'node_modules'), 'dir');
    for (const [rel, text] of Object.entries(files)) {
      fs.mkdirSync(path.dirname(path.join(scratch, rel)), { recursive: true });
      fs.writeFileSync(path.join(scratch, rel), text);
    }
    return depcruiseCheck(Object.keys(files), scratch);
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}
