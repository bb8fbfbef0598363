/**
 * bin/mcp-warden (what `npm start`, the tests and the client configs written from a checkout
 * launch) runs the compiled build in dist/, and refuses a build that is missing or older than
 * the sources, saying what to run, without running anything. The wrapper is tested in a copy
 * of a checkout's layout whose dist/ entry is a stand-in script that says it ran.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { launcher } from '../../main/core/launcher.ts';
import { runProcess } from '../helpers/run.ts';
import { CLI, ROOT } from '../helpers/warden-env.ts';

const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'warden-wrapper-'));
after(() => fs.rmSync(scratch, { recursive: true, force: true }));
let checkouts = 0;

const HOUR_AGO = new Date(Date.now() - 3600_000);
const NOW = new Date();

/** A checkout's layout: the wrapper, one source file, a build (unless `built` is false). */
function checkout(options: { built?: boolean } = {}): { root: string; wrapper: string; source: string } {
  const root = path.join(scratch, String(checkouts++));
  const wrapper = path.join(root, 'bin', 'mcp-warden');
  const source = path.join(root, 'main', 'cli', 'index.ts');
  fs.mkdirSync(path.dirname(wrapper), { recursive: true });
  fs.copyFileSync(CLI, wrapper);
  fs.chmodSync(wrapper, 0o755);
  fs.mkdirSync(path.dirname(source), { recursive: true });
  fs.writeFileSync(source, "console.log('the sources ran');\n");
  fs.utimesSync(source, HOUR_AGO, HOUR_AGO);
  for (const config of ['tsconfig.json', 'tsconfig.build.json']) {
    fs.writeFileSync(path.join(root, config), '{}\n');
    fs.utimesSync(path.join(root, config), HOUR_AGO, HOUR_AGO);
  }
  if (options.built !== false) {
    const entry = path.join(root, 'dist', 'main', 'cli', 'index.js');
    fs.mkdirSync(path.dirname(entry), { recursive: true });
    fs.writeFileSync(entry, "console.log('the build ran with', JSON.stringify(process.argv.slice(2)));\n");
    fs.writeFileSync(path.join(root, 'dist', 'main', '.tsbuildinfo'), '{}\n');
    fs.utimesSync(path.join(root, 'dist', 'main', '.tsbuildinfo'), NOW, NOW);
  }
  return { root, wrapper, source };
}

/** No node_modules in the copy: the wrapper falls back to the `node` on PATH (this one). */
const env = { PATH: `${path.dirname(process.execPath)}:/usr/bin:/bin`, HOME: scratch };

test('an up-to-date build runs, with the arguments as given', async () => {
  const { wrapper } = checkout();
  const result = await runProcess(wrapper, ['connect', 'My Notes'], { env });
  assert.equal(result.code, 0, result.stderr);
  assert.equal(result.stdout, 'the build ran with ["connect","My Notes"]\n');
});

test('the build runs with one malloc arena (MALLOC_ARENA_MAX=1), unless one is set', async () => {
  const { root, wrapper } = checkout();
  const entry = path.join(root, 'dist', 'main', 'cli', 'index.js');
  fs.writeFileSync(entry, 'console.log(process.env.MALLOC_ARENA_MAX ?? "unset");\n');
  fs.utimesSync(path.join(root, 'dist', 'main', '.tsbuildinfo'), NOW, NOW);
  const given = await runProcess(wrapper, ['serve'], { env });
  assert.equal(given.code, 0, given.stderr);
  assert.equal(given.stdout, '1\n');
  const kept = await runProcess(wrapper, ['serve'], { env: { ...env, MALLOC_ARENA_MAX: '4' } });
  assert.equal(kept.stdout, '4\n');
});

test('a source newer than the build is refused, naming it and what to run', async () => {
  const { wrapper, root, source } = checkout();
  fs.utimesSync(source, new Date(NOW.getTime() + 1000), new Date(NOW.getTime() + 1000));
  const result = await runProcess(wrapper, ['--version'], { env });
  assert.equal(result.code, 1);
  assert.equal(result.stdout, '');
  assert.equal(
    result.stderr,
    `mcp-warden: the build in ${root}/dist is older than main/cli/index.ts. Run 'npm run build:main' in ${root} (or 'npm run dev' to run the sources).\n`,
  );
});

test('a changed tsconfig makes the build stale too', async () => {
  const { wrapper, root } = checkout();
  const config = path.join(root, 'tsconfig.build.json');
  fs.utimesSync(config, new Date(NOW.getTime() + 1000), new Date(NOW.getTime() + 1000));
  const result = await runProcess(wrapper, ['--version'], { env });
  assert.equal(result.code, 1);
  assert.match(result.stderr, /older than tsconfig\.build\.json\. Run 'npm run build:main'/);
});

test('no build is refused with what to run', async () => {
  const { wrapper, root } = checkout({ built: false });
  const result = await runProcess(wrapper, ['--version'], { env });
  assert.equal(result.code, 1);
  assert.equal(result.stdout, '');
  assert.equal(
    result.stderr,
    `mcp-warden: ${root} has no build in dist/. Run 'npm run build:main' (or 'npm ci') in ${root}.\n`,
  );
});

test("this checkout's build is up to date and prints the package's version", async () => {
  const result = await runProcess(CLI, ['--version'], {});
  assert.equal(result.code, 0, result.stderr);
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };
  assert.equal(result.stdout, `${pkg.version}\n`);
});

test('client configs written from a checkout launch its wrapper, from the build and from the sources', () => {
  const argv = process.argv;
  try {
    for (const entry of ['dist/main/cli/index.js', 'main/cli/index.ts']) {
      process.argv = [process.execPath, path.join(ROOT, entry), 'clients', 'protect'];
      assert.equal(launcher(), CLI);
    }
    // An installed package has no bin/ wrapper: its bin (the build itself) is on PATH.
    const { root } = checkout();
    fs.rmSync(path.join(root, 'bin'), { recursive: true });
    process.argv = [process.execPath, path.join(root, 'dist/main/cli/index.js'), 'clients', 'protect'];
    assert.equal(launcher(), 'mcp-warden');
  } finally {
    process.argv = argv;
  }
});
