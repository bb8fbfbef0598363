/**
 * The hash chain's parts: the RFC 6962 frontier against the tree hash computed as the RFC
 * defines it, C2SP signed notes against the spec's own example, and the chain written by
 * AuditLog for arbitrary call contents verifying (what the writer hashes is what SQLite returns).
 */
import assert from 'node:assert/strict';
import canonicalize from 'canonicalize';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import fc from 'fast-check';
import { AuditLog } from '../../main/core/audit/audit-log.ts';
import {
  CHAINED_COLUMNS,
  EMPTY_ROOT,
  leafContent,
  leafHash,
  LEAF_VERSION,
  MerkleFrontier,
  nodeHash,
  type ChainedRow,
} from '../../main/core/audit/chain-hash.ts';
import {
  checkNote,
  formatCheckpoint,
  parseCheckpoint,
  parseNote,
  parseVerifierKey,
  signerFromSeed,
  signNote,
  verifierOf,
} from '../../main/core/audit/signed-note.ts';
import { verifyAuditLog } from '../../main/core/audit/verify.ts';
import { isWardenError } from '../../main/core/errors.ts';

/** MTH(D[n]) of RFC 6962 section 2.1, by its definition. */
function mth(leaves: Buffer[]): Buffer {
  if (leaves.length === 0) return EMPTY_ROOT;
  if (leaves.length === 1) return leaves[0]!;
  let k = 1;
  while (k * 2 < leaves.length) k *= 2;
  return nodeHash(mth(leaves.slice(0, k)), mth(leaves.slice(k)));
}

test('the frontier gives RFC 6962 tree hashes of every size, and survives serialization', () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 70 }), fc.integer({ min: 0, max: 70 }), (n, cut) => {
      const leaves = Array.from({ length: n }, (_, i) => leafHash(`leaf ${i}`));
      const frontier = new MerkleFrontier();
      const at = Math.min(cut, n);
      for (const leaf of leaves.slice(0, at)) frontier.append(leaf);
      assert.deepEqual(frontier.root(), mth(leaves.slice(0, at)));
      // The tree continues from the serialized frontier alone, as after a restart or a pruning.
      const resumed = MerkleFrontier.parse(at, frontier.serialize());
      for (const leaf of leaves.slice(at)) resumed.append(leaf);
      assert.deepEqual(resumed.root(), mth(leaves));
    }),
  );
});

test("signed notes: the C2SP spec's example verifies, and ours round-trip", () => {
  // https://c2sp.org/signed-note, "Example".
  const verifier = parseVerifierKey('example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k');
  const note =
    'This is an example message.\n\n— example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n';
  assert.equal(checkNote(parseNote(note), verifier).status, 'valid');
  assert.equal(
    checkNote(parseNote(note.replace('example message', 'example massage')), verifier).status,
    'bad-signature',
  );

  const signer = signerFromSeed('mcp-warden/local/device-1', randomBytes(32));
  const text = formatCheckpoint({ origin: signer.name, treeSize: 42, rootHash: leafHash('x') });
  const signed = signNote(text, [signer]);
  assert.deepEqual(parseCheckpoint(parseNote(signed).text), {
    origin: signer.name,
    treeSize: 42,
    rootHash: leafHash('x'),
  });
  assert.equal(checkNote(parseNote(signed), verifierOf(signer, signer.name)).status, 'valid');
  const other = signerFromSeed(signer.name, randomBytes(32));
  assert.equal(checkNote(parseNote(signed), verifierOf(other, signer.name)).status, 'other-key');
  assert.throws(() => parseNote(text), /no blank line/);
});

test('any call content, however odd its text, is chained so that verify passes', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'warden-chain-'));
  try {
    let n = 0;
    const text = fc.string({ unit: 'binary', maxLength: 40 });
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            tool: text,
            sessionId: text,
            client: fc.option(text, { nil: undefined }),
            args: fc.jsonValue(),
            error: fc.option(text, { nil: undefined }),
            duration: fc.double({ min: 0, max: 1e9, noNaN: true }),
            refused: fc.boolean(),
          }),
          { minLength: 1, maxLength: 8 },
        ),
        (calls) => {
          const file = path.join(dir, `${++n}.db`);
          const seed = randomBytes(32);
          const log = AuditLog.open(file, { chain: { everyRows: 3 } });
          log.useCheckpointKey({ seed });
          for (const c of calls) {
            const start = {
              startedAt: 1767225600000 + n,
              sessionId: c.sessionId,
              ...(c.client === undefined ? {} : { clientName: c.client }),
              server: 'srv',
              tool: c.tool,
              requestId: n,
              arguments: c.args,
              decision: 'allow' as const,
            };
            if (c.refused) log.recordRefusal(start, c.error ?? 'refused', c.duration);
            else {
              const id = log.recordCall(start);
              log.recordOutcome(id, {
                outcome: 'tool_error',
                ...(c.error === undefined ? {} : { error: c.error }),
                durationMs: c.duration,
              });
            }
          }
          log.close();
          const report = verifyAuditLog(file, { publicKey: signerFromSeed('k', seed).publicKey });
          assert.deepEqual(report.problems, []);
          assert.equal(report.verifiedThrough, calls.length);
        },
      ),
      { numRuns: 60 },
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('an outcome is recorded once: the row is then final, in the chain', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'warden-chain-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const log = AuditLog.open(path.join(dir, 'audit.db'));
  t.after(() => log.close());
  const id = log.recordCall({
    startedAt: Date.now(),
    sessionId: 's',
    server: 'srv',
    tool: 't',
    decision: 'allow',
  });
  await log.queueOutcome(id, { outcome: 'ok', durationMs: 1 });
  await assert.rejects(
    log.queueOutcome(id, { outcome: 'error', durationMs: 2 }),
    (error) => isWardenError(error, 'AUDIT_FAILED') && /outcome is recorded: final/.test(error.message),
  );
  assert.throws(() => log.recordOutcome(id, { outcome: 'error', durationMs: 2 }), /in flight/);
  assert.equal(log.chainState().size, 1);
});

test('a leaf content is the JCS text canonicalize writes, for any row', () => {
  const cell = fc.oneof(
    fc.constant(null),
    fc.string({ unit: 'grapheme' }),
    fc.string({ unit: 'binary' }).filter((s) => (s as string & { isWellFormed(): boolean }).isWellFormed()),
    fc.double({ noNaN: true, noDefaultInfinity: true }),
    fc.integer(),
  );
  const row = fc.record(
    Object.fromEntries(CHAINED_COLUMNS.map((column) => [column, cell])) as {
      [K in (typeof CHAINED_COLUMNS)[number]]: typeof cell;
    },
  );
  const prev = fc.option(fc.uint8Array({ minLength: 32, maxLength: 32 }), { nil: null });
  fc.assert(
    fc.property(row, fc.integer({ min: 1, max: 2 ** 40 }), prev, (values, seq, bytes) => {
      const before = bytes === null ? null : Buffer.from(bytes);
      const expected = canonicalize({
        v: LEAF_VERSION,
        seq,
        prev: before === null ? null : before.toString('base64'),
        row: values,
      });
      assert.equal(leafContent(values, seq, before), expected);
      const reference = createHash('sha256').update(Buffer.of(0)).update(expected!).digest();
      assert.deepEqual(leafHash(expected!), reference);
    }),
    { numRuns: 500 },
  );
  const rowWith = (value: number | string) =>
    ({ ...Object.fromEntries(CHAINED_COLUMNS.map((c) => [c, null])), error: value }) as ChainedRow;
  assert.throws(() => leafContent(rowWith(Number.NaN), 1, null), /JCS/);
  assert.throws(() => leafContent(rowWith('\ud800'), 1, null), /lone surrogate/);
});
