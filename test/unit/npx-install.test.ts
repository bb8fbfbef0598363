/** The npx launch of a command line and the executable npx would run (sandbox/npx-install.ts). */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { binOf, npxLaunch, packageName } from '../../main/core/sandbox/npx-install.ts';

test('npxLaunch reads the plain forms and leaves the others alone', () => {
  assert.deepEqual(npxLaunch('npx', ['-y', '@a/b@1.2.3', '/root']), { spec: '@a/b@1.2.3', rest: ['/root'] });
  assert.deepEqual(npxLaunch('/usr/bin/npx', ['--yes', '--', 'pkg', '-x']), { spec: 'pkg', rest: ['-x'] });
  assert.deepEqual(npxLaunch('npx', ['pkg']), { spec: 'pkg', rest: [] });
  assert.equal(npxLaunch('npx', ['--package', 'x', 'cmd']), undefined);
  assert.equal(npxLaunch('npx', ['-y']), undefined);
  assert.equal(npxLaunch('node', ['-y', 'pkg']), undefined);
});

test('packageName drops the version of scoped and unscoped specs', () => {
  assert.equal(
    packageName('@modelcontextprotocol/server-filesystem@2026.8.31'),
    '@modelcontextprotocol/server-filesystem',
  );
  assert.equal(packageName('@scope/name'), '@scope/name');
  assert.equal(packageName('name@^1'), 'name');
  assert.equal(packageName('name'), 'name');
});

test('binOf picks the executable as npx does', () => {
  const nm = fs.mkdtempSync(path.join(os.tmpdir(), 'npx-bin-'));
  try {
    const bin = path.join(nm, '.bin');
    fs.mkdirSync(bin);
    const pkg = (name: string, manifest: object, bins: string[]): void => {
      fs.mkdirSync(path.join(nm, name), { recursive: true });
      fs.writeFileSync(path.join(nm, name, 'package.json'), JSON.stringify({ name, ...manifest }));
      for (const b of bins) fs.writeFileSync(path.join(bin, b), '');
    };
    pkg('@s/one', { bin: 'cli.js' }, ['one']);
    pkg('two', { bin: { 'two-a': 'a.js', two: 'b.js' } }, ['two-a', 'two']);
    pkg('three', { bin: { 'only-one': 'a.js' } }, ['only-one']);
    pkg('four', { bin: { x: 'a.js', y: 'b.js' } }, ['x', 'y']);
    assert.equal(binOf(bin, '@s/one'), path.join(bin, 'one'));
    assert.equal(binOf(bin, 'two'), path.join(bin, 'two'));
    assert.equal(binOf(bin, 'three'), path.join(bin, 'only-one'));
    assert.equal(binOf(bin, 'four'), undefined, 'several, none named after the package');
    assert.equal(binOf(bin, 'absent'), undefined);
  } finally {
    fs.rmSync(nm, { recursive: true });
  }
});
