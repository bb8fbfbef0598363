/**
 * The layer rules (.dependency-cruiser.cjs) catch what they are for: a core folder importing a
 * higher layer, an import cycle between files and one between folders. Each case writes
 * temporary files into main/core, runs the checker on them and removes them again.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkTemporaryFiles as check, depcruiseCheck } from '../helpers/depcruise.ts';

test('the source tree as it is passes the layer rules', () => {
  const run = depcruiseCheck(['main', 'preload', 'renderer/src']);
  assert.equal(run.status, 0, run.output);
});

test('a policy module importing the bridge (upward) is reported', () => {
  const { status, output } = check({
    'main/core/policy/zz-layers-upward.ts':
      "import { errorResponse } from '../bridge/jsonrpc.ts';\nexport const f = errorResponse;\n",
  });
  assert.notEqual(status, 0);
  assert.match(
    output,
    /core-layer-policy: main\/core\/policy\/zz-layers-upward\.ts → main\/core\/bridge\/jsonrpc\.ts/,
  );
});

test('type-only imports upward are reported too', () => {
  const { status, output } = check({
    'main/core/store/zz-layers-type.ts':
      "import type { WardenCore } from '../runtime/warden-core.ts';\nexport type T = WardenCore;\n",
  });
  assert.notEqual(status, 0);
  assert.match(
    output,
    /core-layer-store: main\/core\/store\/zz-layers-type\.ts → main\/core\/runtime\/warden-core\.ts/,
  );
});

test('an import cycle between two files is reported', () => {
  const { status, output } = check({
    'main/core/zz-layers-a.ts':
      "import { b } from './zz-layers-b.ts';\nexport const a = (): number => b() + 1;\n",
    'main/core/zz-layers-b.ts':
      "import type { a } from './zz-layers-a.ts';\nexport const b = (): number => 1;\nexport type A = typeof a;\n",
  });
  assert.notEqual(status, 0);
  assert.match(output, /no-file-cycle: main\/core\/zz-layers-[ab]\.ts/);
});

test('an import cycle between two folders of one layer is reported', () => {
  const { status, output } = check({
    'main/core/pins/zz-layers-p.ts': "import { q } from '../audit/zz-layers-q.ts';\nexport const p = q;\n",
    'main/core/audit/zz-layers-q.ts':
      "import { reviewHash } from '../pins/review-hash.ts';\nexport const q = reviewHash;\n",
  });
  assert.notEqual(status, 0);
  assert.match(
    output,
    /core-layer-pins: main\/core\/pins\/zz-layers-p\.ts → main\/core\/audit\/zz-layers-q\.ts/,
  );
  assert.match(
    output,
    /core-layer-audit: main\/core\/audit\/zz-layers-q\.ts → main\/core\/pins\/review-hash\.ts/,
  );
});

test('the renderer importing a main module outside the contract is reported', () => {
  const { status, output } = check({
    'renderer/src/zz-layers-r.ts':
      "import { quoteArg } from '../../main/core/command-line.ts';\nexport const r = quoteArg;\n",
  });
  assert.notEqual(status, 0);
  assert.match(
    output,
    /renderer-contract-only: renderer\/src\/zz-layers-r\.ts → main\/core\/command-line\.ts/,
  );
});
