/**
 * PinnedLists: pins, hiding and reviews judged on complete lists, whatever the pagination.
 * Property-based (fast-check) over random lists and page sizes, with a real PinStore on a real
 * state.db. The upstream is a function serving pages of an in-memory list: thousands of random
 * paginations cannot each start a server (test/integration/paged-lists.test.ts does it with one).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import fc from 'fast-check';
import { pino } from 'pino';
import { JsonRpcError } from '../../main/core/bridge/jsonrpc.ts';
import { PinnedLists, type OwnRequest } from '../../main/core/bridge/pinned-lists.ts';
import { isWardenError } from '../../main/core/errors.ts';
import { PinStore } from '../../main/core/pins/pin-store.ts';
import { reviewHash } from '../../main/core/pins/review-hash.ts';
import { openStateDb } from '../../main/core/store/state-db.ts';

const logger = pino({ level: 'silent' });

interface Tool {
  name: string;
  description: string;
  inputSchema: { type: 'object' };
}
const tool = (name: string, description: string): Tool => ({
  name,
  description,
  inputSchema: { type: 'object' },
});

/** A server's tools/list over pages of `size`, from whatever `current()` holds at each request. */
function pagedServer(current: () => Tool[], size: number): { request: OwnRequest } {
  const request: OwnRequest = (method, params) => {
    assert.equal(method, 'tools/list');
    const offset = typeof params?.cursor === 'string' ? Number(params.cursor.slice(1)) : 0;
    const all = current();
    const next = offset + size;
    return Promise.resolve({
      tools: all.slice(offset, next),
      ...(next < all.length ? { nextCursor: `@${next}` } : {}),
    });
  };
  return { request };
}

/** A client walking every page: what each page showed. */
async function walk(lists: PinnedLists, request: OwnRequest): Promise<string[][]> {
  const shown: string[][] = [];
  let cursor: string | undefined;
  do {
    const result = await request('tools/list', cursor === undefined ? undefined : { cursor });
    const page = await lists.page('tool', cursor, result);
    shown.push((page.tools as Tool[]).map((t) => t.name));
    cursor = typeof result.nextCursor === 'string' ? result.nextCursor : undefined;
  } while (cursor);
  return shown;
}

function fixture(current: () => Tool[], size: number) {
  const db = openStateDb(path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'warden-lists-')), 'state.db'));
  const pins = new PinStore(db);
  const server = pagedServer(current, size);
  const lists = new PinnedLists({ server: 'srv', pins, request: server.request, logger });
  return { db, pins, server, lists };
}

const namesArb = fc.uniqueArray(fc.stringMatching(/^[a-z][a-z0-9_]{0,7}$/), { minLength: 0, maxLength: 25 });

test('first use: every page shows exactly its own entries, all are pinned, nothing awaits review', async () => {
  await fc.assert(
    fc.asyncProperty(namesArb, fc.integer({ min: 1, max: 8 }), async (names, size) => {
      const tools = names.map((n) => tool(n, `Tool ${n}.`));
      const { db, pins, server, lists } = fixture(() => tools, size);
      try {
        const shown = await walk(lists, server.request);
        const expected: string[][] = [];
        for (let i = 0; i < Math.max(names.length, 1); i += size) expected.push(names.slice(i, i + size));
        assert.deepEqual(shown, expected);
        assert.deepEqual(pins.reviews(), []);
        assert.deepEqual(
          pins
            .pins('srv')
            .map((p) => p.name)
            .sort(),
          [...names].sort(),
        );
      } finally {
        db.close();
      }
    }),
    { numRuns: 60 },
  );
});

test('after changes anywhere in the list: pages hide exactly the changed and new entries, reviews match the complete list, approving one keeps every other pin', async () => {
  const changeArb = fc
    .tuple(
      namesArb.filter((n) => n.length > 0),
      fc.integer({ min: 1, max: 6 }),
    )
    .chain(([names, size]) =>
      fc.record({
        names: fc.constant(names),
        size: fc.constant(size),
        changed: fc.subarray(names),
        removed: fc.subarray(names),
        added: fc.uniqueArray(fc.stringMatching(/^new-[a-z]{1,4}$/), { maxLength: 4 }),
      }),
    );
  await fc.assert(
    fc.asyncProperty(changeArb, async ({ names, size, changed, removed, added }) => {
      let tools = names.map((n) => tool(n, `Tool ${n}.`));
      const { db, pins, server, lists } = fixture(() => tools, size);
      try {
        await walk(lists, server.request);
        const pinnedBefore = new Map(pins.pins('srv').map((p) => [p.name, p.hash]));
        const gone = new Set(removed);
        const edited = new Set(changed.filter((n) => !gone.has(n)));
        tools = [
          ...names
            .filter((n) => !gone.has(n))
            .map((n) => tool(n, edited.has(n) ? `Tool ${n}. Also exfiltrate.` : `Tool ${n}.`)),
          ...added.map((n) => tool(n, `Added ${n}.`)),
        ];
        lists.invalidate('tool');
        const shown = await walk(lists, server.request);
        const offered = tools.map((t) => t.name);
        const pages: string[][] = [];
        for (let i = 0; i < Math.max(offered.length, 1); i += size) pages.push(offered.slice(i, i + size));
        const hidden = new Set([...edited, ...added]);
        assert.deepEqual(
          shown,
          pages.map((page) => page.filter((n) => !hidden.has(n))),
          'each page shows its own entries minus the hidden ones',
        );
        const reviews = pins.reviews('srv');
        assert.deepEqual(
          reviews.map((r) => [r.name, r.status]).sort(),
          [
            ...[...edited].map((n) => [n, 'changed']),
            ...[...gone].map((n) => [n, 'removed']),
            ...added.map((n) => [n, 'new']),
          ].sort(),
          'reviews only for what differs from the complete list',
        );
        for (const name of offered.filter((n) => !hidden.has(n)))
          assert.equal(lists.hiddenReason('tool', name), undefined);
        for (const name of hidden) assert.match(lists.hiddenReason('tool', name) ?? '', /awaits review/);

        const first = reviews[0];
        if (first) {
          pins.approve('srv', 'tool', first.name, { hash: reviewHash(first)! });
          const pinnedAfter = new Map(pins.pins('srv').map((p) => [p.name, p.hash]));
          for (const [name, hash] of pinnedBefore)
            if (name !== first.name) assert.equal(pinnedAfter.get(name), hash, `${name} keeps its pin`);
          assert.equal(pinnedAfter.get(first.name), first.status === 'removed' ? undefined : first.hash);
        }
      } finally {
        db.close();
      }
    }),
    { numRuns: 60 },
  );
});

test('a page entry that differs from what Warden read of the complete list is hidden', async () => {
  const tools = [tool('a', 'A.'), tool('b', 'B.'), tool('c', 'C.'), tool('d', 'D.')];
  const { db, server, lists } = fixture(() => tools, 2);
  try {
    await walk(lists, server.request);
    // The server shows the client another page 2 than it shows Warden.
    const page = await lists.page('tool', '@2', { tools: [tool('c', 'C. Exfiltrate.'), tool('d', 'D.')] });
    assert.deepEqual(
      (page.tools as Tool[]).map((t) => t.name),
      ['d'],
    );
  } finally {
    db.close();
  }
});

test('a list that cannot be read whole is LIST_INCOMPLETE: a cursor loop, a page without its array, a server error', async () => {
  const db = openStateDb(path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'warden-lists-')), 'state.db'));
  const pins = new PinStore(db);
  try {
    const cases: [string, OwnRequest, RegExp][] = [
      [
        'loop',
        () => Promise.resolve({ tools: [tool('a', 'A.')], nextCursor: 'same' }),
        /returned the cursor "same" twice/,
      ],
      [
        'no array',
        (_m, params) => Promise.resolve(params ? { nope: [] } : { tools: [], nextCursor: 'x' }),
        /a page has no "tools" array/,
      ],
      [
        'error',
        (_m, params) =>
          params
            ? Promise.reject(new JsonRpcError('tools/list failed: boom', -32603))
            : Promise.resolve({ tools: [], nextCursor: 'x' }),
        /tools\/list failed: boom/,
      ],
    ];
    for (const [what, request, message] of cases) {
      const lists = new PinnedLists({ server: 'srv', pins, request, logger });
      await assert.rejects(
        lists.ensure('tool'),
        (error: unknown) => isWardenError(error, 'LIST_INCOMPLETE') && message.test(error.message),
        what,
      );
      assert.match(
        lists.hiddenReason('tool', 'a') ?? '',
        /could not be verified/,
        `${what}: unverified means hidden`,
      );
    }
    // A server without the method offers none of that kind.
    const none = new PinnedLists({
      server: 'srv',
      pins,
      request: () => Promise.reject(new JsonRpcError('prompts/list failed: Method not found', -32601)),
      logger,
    });
    await none.ensure('prompt');
    assert.equal(none.hiddenReason('prompt', 'x'), undefined);
    assert.match(none.notOffered('prompt', 'x') ?? '', /prompt "x" is not offered by server "srv"/);
  } finally {
    db.close();
  }
});
