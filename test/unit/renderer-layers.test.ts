/**
 * The renderer's folder order (.dependency-cruiser.cjs, RENDERER_TIERS: entry files, pages,
 * components, data) is enforced: a lower folder importing a higher one or an entry file (the
 * src <-> pages cycle) is reported, and so is a folder without a place in the order. Each case
 * writes temporary files into renderer/src, runs the checker on them and removes them again.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkTemporaryFiles as check, depcruiseCheck } from '../helpers/depcruise.ts';

test('the renderer as it is passes the layer rules', () => {
  const run = depcruiseCheck(['renderer/src']);
  assert.equal(run.status, 0, run.output);
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
