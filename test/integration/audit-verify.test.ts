/**
 * `mcp-warden audit verify` on a real audit log of 10 000 calls written by AuditLog with
 * checkpoints signed by the device key in a real Secret Service (gnome-keyring), tampered with
 * the sqlite3 shell on the file as an attacker would: each tampering is found and named, and the
 * command exits 1. Also: a writer killed with SIGKILL leaves at most an unchecked tail.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { CHAINED_COLUMNS, leafContent, leafHash, type ChainedRow } from '../../main/core/audit/chain-hash.ts';
import { parseCheckpoint, signerFromSeed, signNote, parseNote } from '../../main/core/audit/signed-note.ts';
import type { VerifyReport } from '../../main/core/audit/verify.ts';
import { startKeyring, type TestKeyring } from '../helpers/keyring.ts';
import { runUntilKilled } from '../helpers/killed-writer.ts';
import { firstMissing, keyringMissing, sqlite3Missing } from '../helpers/requirements.ts';
import { runProcess } from '../helpers/run.ts';
import { CLI, makeWardenEnv, NODE, ROOT, type WardenEnv } from '../helpers/warden-env.ts';

const WRITER = path.join(ROOT, 'test/fixtures/audit-chain-writer.ts');
const CALLS = 10_000;

describe('audit verify', { skip: firstMissing(sqlite3Missing(), keyringMissing()) }, () => {
  let w: WardenEnv;
  let keyring: TestKeyring;
  let pristine: string;
  let copies = 0;

  before(() => {
    w = makeWardenEnv();
    keyring = startKeyring(w.home, w.env);
    Object.assign(w.env, keyring.env);
    pristine = path.join(w.home, 'pristine.db');
    execFileSync(NODE, [WRITER, pristine, String(CALLS)], {
      env: w.env,
      stdio: ['ignore', 'ignore', 'inherit'],
    });
  });

  after(() => {
    keyring?.stop();
    w?.cleanup();
  });

  /** A copy of the untouched log (the key is the same: the device id is in the file). */
  const copy = (): string => {
    const file = path.join(w.home, `copy-${++copies}.db`);
    fs.copyFileSync(pristine, file);
    return file;
  };
  const sql = (file: string, statements: string): string =>
    execFileSync('sqlite3', [file, statements], { encoding: 'utf8' }).trim();
  const verify = async (file: string): Promise<{ code: number; text: string; report: VerifyReport }> => {
    const json = await runProcess(CLI, ['audit', '--db', file, 'verify', '--json'], { env: w.env });
    const text = await runProcess(CLI, ['audit', '--db', file, 'verify'], { env: w.env });
    assert.equal(json.code, text.code, json.stderr + text.stderr);
    return { code: text.code, text: text.stdout, report: JSON.parse(json.stdout) as VerifyReport };
  };
  const positionOf = (file: string, id: number): number =>
    Number(sql(file, `SELECT chain_seq FROM tool_calls WHERE id = ${id}`));

  test('passes on the untouched log of 10 000 calls', async () => {
    const { code, text, report } = await verify(copy());
    assert.equal(code, 0, text);
    assert.match(text, /^10\/10 checkpoints valid, rows 1\.\.10000 verified\n/);
    assert.equal(report.ok, true);
    assert.deepEqual(report.problems, []);
    assert.equal(report.uncheckedTail, null, 'the close wrote a checkpoint of the whole chain');
    assert.equal(report.signatures, 'checked');
  });

  test('names the row whose field was edited', async () => {
    const file = copy();
    sql(file, `UPDATE tool_calls SET tool = 'write_file' WHERE id = 4242`);
    const { code, text, report } = await verify(file);
    assert.equal(code, 1);
    assert.equal(report.problems[0]?.kind, 'edited');
    assert.equal(report.problems[0]?.rowId, 4242);
    assert.match(text, /^FAILED: .*\n- row #4242 \(chain position \d+\) was edited/);
    assert.equal(report.verifiedThrough, positionOf(file, 4242) - 1);
  });

  test('names the gap of a deleted row', async () => {
    const file = copy();
    const position = positionOf(file, 5555);
    sql(file, 'DELETE FROM tool_calls WHERE id = 5555');
    const { code, text, report } = await verify(file);
    assert.equal(code, 1);
    assert.equal(report.problems[0]?.kind, 'deleted');
    assert.equal(report.problems[0]?.position, position);
    assert.match(
      text,
      new RegExp(`rows at chain positions ${position}\\.\\.${position} are missing \\(deleted\\)`),
    );
  });

  test('names rows that were swapped', async () => {
    const file = copy();
    const [a, b] = [positionOf(file, 3000), positionOf(file, 3001)];
    // Swap their places in the chain (positions), through a free position as SQL needs.
    sql(
      file,
      `UPDATE tool_calls SET chain_seq = -1 WHERE id = 3000;
       UPDATE tool_calls SET chain_seq = ${a} WHERE id = 3001;
       UPDATE tool_calls SET chain_seq = ${b} WHERE id = 3000;`,
    );
    const { code, text, report } = await verify(file);
    assert.equal(code, 1);
    assert.equal(report.problems[0]?.kind, 'swapped');
    assert.equal(report.problems[0]?.rowId, 3001);
    assert.match(text, new RegExp(`row #3001 is at chain position ${a} but was recorded at position ${b}`));
  });

  test('names rows whose contents were swapped in place', async () => {
    const file = copy();
    const columns =
      'ts, ts_ms, session_id, tool, request_id, arguments, decision, reason, outcome, error, duration_ms';
    sql(
      file,
      `CREATE TEMP TABLE keep AS SELECT id, ${columns} FROM tool_calls WHERE id IN (6000, 6001);
       UPDATE tool_calls SET (${columns}) = (SELECT ${columns} FROM keep WHERE keep.id = 6001) WHERE id = 6000;
       UPDATE tool_calls SET (${columns}) = (SELECT ${columns} FROM keep WHERE keep.id = 6000) WHERE id = 6001;`,
    );
    const { code, report } = await verify(file);
    assert.equal(code, 1);
    // The ids stayed, so each row is now a mix: edited, named by its id.
    assert.ok(['edited', 'swapped'].includes(report.problems[0]!.kind));
    assert.equal(report.problems[0]?.rowId, 6000);
  });

  test('names the truncated tail when the last 50 rows are deleted', async () => {
    const file = copy();
    sql(file, `DELETE FROM tool_calls WHERE chain_seq > ${CALLS - 50}`);
    const { code, text, report } = await verify(file);
    assert.equal(code, 1);
    assert.equal(report.problems.length, 1, text);
    assert.equal(report.problems[0]?.kind, 'truncated');
    assert.equal(report.problems[0]?.treeSize, CALLS);
    assert.match(text, /rows at positions 9951\.\.10000 were deleted \(truncated tail\)/);
    assert.equal(report.verifiedThrough, CALLS - 50);
  });

  test('names a forged checkpoint: its text changed under the signature', async () => {
    const file = copy();
    const note = sql(file, 'SELECT note FROM audit_checkpoints WHERE tree_size = 5000') + '\n';
    const { rootHash } = parseCheckpoint(parseNote(note).text);
    const forged = randomBytes(32).toString('base64');
    sql(
      file,
      `UPDATE audit_checkpoints SET note = replace(note, '${rootHash.toString('base64')}', '${forged}') WHERE tree_size = 5000`,
    );
    const { code, text, report } = await verify(file);
    assert.equal(code, 1);
    const id = Number(sql(file, 'SELECT id FROM audit_checkpoints WHERE tree_size = 5000'));
    const forgedProblems = report.problems.filter((p) => p.kind === 'checkpoint-forged');
    assert.deepEqual(
      forgedProblems.map((p) => p.checkpointId),
      [id],
    );
    assert.match(
      text,
      new RegExp(
        `checkpoint #${id} \\(tree size 5000\\): its signature by this device's key does not verify`,
      ),
    );
    assert.match(text, /^FAILED: 9\/10 checkpoints valid/);
  });

  test('names a checkpoint signed by another key, even with the right root', async () => {
    const file = copy();
    const note = sql(file, 'SELECT note FROM audit_checkpoints WHERE tree_size = 8000') + '\n';
    const text = parseNote(note).text;
    const other = signerFromSeed(parseCheckpoint(text).origin, randomBytes(32));
    sql(file, `UPDATE audit_checkpoints SET note = '${signNote(text, [other])}' WHERE tree_size = 8000`);
    const { code, text: output, report } = await verify(file);
    assert.equal(code, 1);
    const id = Number(sql(file, 'SELECT id FROM audit_checkpoints WHERE tree_size = 8000'));
    assert.deepEqual(
      report.problems.map((p) => [p.kind, p.checkpointId]),
      [['checkpoint-other-key', id]],
    );
    const hex = other.keyHash.toString(16).padStart(8, '0');
    assert.match(
      output,
      new RegExp(`checkpoint #${id} \\(tree size 8000\\) is signed by another key \\(${hex}\\)`),
    );
  });

  test('a forged checkpoint row with a made-up root and signature is named', async () => {
    const file = copy();
    const origin = parseCheckpoint(
      parseNote(sql(file, 'SELECT note FROM audit_checkpoints LIMIT 1') + '\n').text,
    ).origin;
    const fake = `${origin}\n10001\n${randomBytes(32).toString('base64')}\n\n— ${origin} ${randomBytes(68).toString('base64')}\n`;
    sql(
      file,
      `INSERT INTO audit_checkpoints (tree_size, root_hash, frontier, note, created_ms) VALUES (10001, zeroblob(32), zeroblob(64), '${fake}', 0)`,
    );
    const { code, report } = await verify(file);
    assert.equal(code, 1);
    const kinds = report.problems.map((p) => p.kind);
    assert.ok(kinds.includes('checkpoint-other-key') || kinds.includes('checkpoint-forged'), kinds.join());
    assert.ok(kinds.includes('truncated'), 'a checkpoint beyond the last row says rows are missing');
  });

  test('an edit whose leaf hashes were all recomputed is caught by the signed tree heads', async () => {
    const file = copy();
    // An attacker who knows the leaf format edits a row and rehashes the chain from there on.
    const db = new Database(file);
    const position = Number(db.prepare('SELECT chain_seq FROM tool_calls WHERE id = 2500').pluck().get());
    db.prepare(`UPDATE tool_calls SET decision = 'allow', reason = 'config' WHERE id = 2500`).run();
    let prev = db
      .prepare('SELECT chain_hash FROM tool_calls WHERE chain_seq = ?')
      .pluck()
      .get(position - 1) as Buffer;
    const rows = db
      .prepare(
        `SELECT ${CHAINED_COLUMNS.join(', ')}, chain_seq FROM tool_calls WHERE chain_seq >= ? ORDER BY chain_seq`,
      )
      .all(position) as (ChainedRow & { chain_seq: number })[];
    const set = db.prepare('UPDATE tool_calls SET chain_hash = ? WHERE id = ?');
    for (const row of rows) {
      prev = leafHash(leafContent(row, row.chain_seq, prev));
      set.run(prev, row.id);
    }
    db.close();
    const { code, report } = await verify(file);
    assert.equal(code, 1);
    const first = Math.ceil(position / 1000) * 1000;
    assert.equal(report.problems[0]?.kind, 'checkpoint-root');
    assert.equal(report.problems[0]?.treeSize, first, 'the first checkpoint after the edit');
  });

  test('after a writer is killed with SIGKILL, verify reports at most an unchecked tail', async () => {
    const file = path.join(w.home, 'killed.db');
    const output = await runUntilKilled(WRITER, (o) => o.done.size >= 2500, {
      args: [file, '0', '--forever', '--every-rows', '1000'],
      env: w.env,
    });
    assert.ok(output.done.size >= 2500);
    const { code, text, report } = await verify(file);
    assert.equal(code, 0, text);
    assert.deepEqual(report.problems, []);
    assert.ok(report.verifiedThrough >= 2500, text);
    assert.ok(report.checkpoints.valid >= 2 && report.checkpoints.valid === report.checkpoints.total, text);
  });
});
