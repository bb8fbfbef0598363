import assert from 'node:assert/strict';
import { test } from 'node:test';
import type * as Diff from 'diff';
import { isWardenError } from '../../main/core/errors.ts';
import { lazyImport, lazyModule } from '../../main/core/lazy-module.ts';

test('lazyModule loads the package on the first call, once', () => {
  const diff = lazyModule<typeof Diff>('diff', 'the text differ');
  const first = diff();
  assert.equal(typeof first.createTwoFilesPatch, 'function');
  assert.equal(diff(), first);
  assert.match(first.createTwoFilesPatch('a', 'b', 'x\n', 'y\n'), /^-x\n\+y$/m);
});

test('a package that cannot be loaded is WardenError INTERNAL naming it, tried again on the next call', () => {
  const missing = lazyModule('warden-no-such-package', 'the missing part');
  for (let i = 0; i < 2; i++) {
    assert.throws(missing, (error: unknown) => {
      assert.ok(isWardenError(error, 'INTERNAL'));
      assert.match(
        error.message,
        /^cannot load the missing part \(warden-no-such-package\): .*warden-no-such-package/,
      );
      return true;
    });
  }
});

/** A package that is not installed (a variable, so the type checker does not look for it). */
const MISSING: string = 'warden-no-such-package';

test('lazyImport loads on the first call, keeps the promise, and rejects a failed load as INTERNAL, retrying', async () => {
  let loads = 0;
  const jose = lazyImport('jose', 'the JWS library', () => {
    loads++;
    return import('jose');
  });
  const [a, b] = await Promise.all([jose(), jose()]);
  assert.equal(a, b);
  assert.equal(typeof a.compactVerify, 'function');
  assert.equal(loads, 1);

  let attempts = 0;
  const missing = lazyImport('warden-no-such-package', 'the missing part', () => {
    attempts++;
    return import(MISSING);
  });
  for (let i = 0; i < 2; i++) {
    await assert.rejects(missing(), (error: unknown) => {
      assert.ok(isWardenError(error, 'INTERNAL'));
      assert.match(error.message, /^cannot load the missing part \(warden-no-such-package\): /);
      return true;
    });
  }
  assert.equal(attempts, 2);
});
