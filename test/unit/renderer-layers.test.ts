/**
 * The renderer's folder order (.dependency-cruiser.cjs, RENDERER_TIERS: entry files, pages,
 * components, data) is enforced: a lower folder importing a higher one or an entry file (the
 * src <-> pages cycle) is reported, and so is a folder without a place in the order. Each case
 * writes temporary files into renderer/src, runs the checker on them and removes them again.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';

const root = path.resolve(import.meta.dirname, '..', '..');
const depcruise = path.join(root, 'node_modules', '.bin', 'depcruise');
// depcruise runs on the project's Node (its `env node` shebang would find the system's).
const env = { ...process.env, PATH: `${path.dirname(process.execPath)}${path.delimiter}${process.env.PATH}` };

/** Writes `files` (repo-relative path -> text), runs the checker on them, removes them. */
function check(files: Record<string, string>): { status: number | null; output: string } {
  const written = Object.keys(files).map((rel) => path.join(root, rel));
  const dirs = new Set<string>();
  try {
    for (const [rel, text] of Object.entries(files)) {
      const dir = path.dirname(path.join(root, rel));
      if (!fs.existsSync(dir)) dirs.add(dir);
      fs.mkdirSync(dir, { recursive: true });
      fs.writeFileSync(path.join(root, rel), text);
    }
    const run = spawnSync(depcruise, [...Object.keys(files), '--output-type', 'err'], {
      cwd: root,
      encoding: 'utf8',
      env,
    });
    return { status: run.status, output: run.stdout + run.stderr };
  } finally {
    for (const file of written) fs.rmSync(file, { force: true });
    for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
  }
}

test('the renderer as it is passes the layer rules', () => {
  const run = spawnSync(depcruise, ['renderer/src', '--output-type', 'err'], {
    cwd: root,
    encoding: 'utf8',
    env,
  });
  assert.equal(run.status, 0, run.stdout + run.stderr);
});

test('a page importing an entry file of renderer/src (the folder cycle) is reported', () => {
  const { status, output } = check({
    'renderer/src/pages/zz-layers-up.ts': "import { App } from '../App.tsx';\nexport const a = App;\n",
  });
  assert.notEqual(status, 0);
  assert.match(
    output,
    /renderer-layer-pages: renderer\/src\/pages\/zz-layers-up\.ts → renderer\/src\/App\.tsx/,
  );
});

test('the data folder importing a page (upward) is reported', () => {
  const { status, output } = check({
    'renderer/src/data/zz-layers-up.ts':
      "import { ServersPage } from '../pages/Servers.tsx';\nexport const p = ServersPage;\n",
  });
  assert.notEqual(status, 0);
  assert.match(
    output,
    /renderer-layer-data: renderer\/src\/data\/zz-layers-up\.ts → renderer\/src\/pages\/Servers\.tsx/,
  );
});

test('a renderer folder without a place in the order is reported', () => {
  const { status, output } = check({
    'renderer/src/zz-layers-new/x.ts':
      "import { message } from '../data/message.ts';\nexport const m = message;\n",
  });
  assert.notEqual(status, 0);
  assert.match(output, /renderer-unknown-folder: renderer\/src\/zz-layers-new\/x\.ts/);
});
