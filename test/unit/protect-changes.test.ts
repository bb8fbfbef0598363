/**
 * Protect and restore as changes, on real files: a client config behind a symbolic link stays a
 * link, a file edited after the preview is not overwritten, a keychain name another server uses
 * is not taken over, backups written in plain text by earlier versions are encrypted, and a
 * journal left by a dead process is recovered while a live one's is left alone.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { openChangeContext } from '../../main/core/change/context.ts';
import type { ChangeContext } from '../../main/core/change/run-change.ts';
import { recoverChanges, runChange } from '../../main/core/change/run-change.ts';
import { clientLocations, type ClientLocation } from '../../main/core/clients/locations.ts';
import { applyProtect, planProtect } from '../../main/core/clients/protect.ts';
import { restoreClient } from '../../main/core/clients/restore.ts';
import { MemorySecretStore } from '../../main/core/secrets/secret-store.ts';
import { filesContaining } from '../helpers/secret-files.ts';

const TOKEN = 'sekret-value-5b7d9f1a3c';

describe('protect and restore as changes', () => {
  let dir: string;
  let location: ClientLocation;
  let warden: string;
  let store: MemorySecretStore;
  let ctx: ChangeContext;
  let close: () => void;
  const backupDir = () => path.join(dir, 'data', 'backups');
  const original = `{\n  "mcpServers": {\n    "a": { "command": "a-server", "env": { "A_TOKEN": "${TOKEN}" } }\n  }\n}\n`;

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'warden-changes-'));
    location = {
      ...clientLocations({ platform: 'linux', home: dir, cwd: dir, env: {} }).find((l) => l.id === 'cursor')!,
      file: path.join(dir, 'mcp.json'),
    };
    warden = path.join(dir, 'config.json');
    fs.writeFileSync(warden, '{ "mcpServers": {} }\n');
    fs.writeFileSync(location.file, original);
    store = new MemorySecretStore();
    ({ ctx, close } = openChangeContext(
      { dataDir: path.join(dir, 'data'), stateDb: path.join(dir, 'state.db') },
      store,
    ));
  });
  afterEach(() => {
    close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('a client config behind a symbolic link: the target is written, the link stays a link', async () => {
    const real = path.join(dir, 'dotfiles', 'mcp.json');
    fs.mkdirSync(path.dirname(real));
    fs.renameSync(location.file, real);
    fs.symlinkSync(real, location.file);
    await applyProtect(await planProtect(location, warden, '/opt/warden'), {
      wardenConfigFile: warden,
      ctx,
      backupDir: backupDir(),
    });
    assert.ok(fs.lstatSync(location.file).isSymbolicLink());
    assert.match(fs.readFileSync(real, 'utf8'), /"connect",\s*"a"/);
    await restoreClient(location, { ctx, backupDir: backupDir() });
    assert.ok(fs.lstatSync(location.file).isSymbolicLink());
    assert.equal(fs.readFileSync(real, 'utf8'), original);
  });

  test('a client config edited after the preview is not overwritten, and nothing is changed', async () => {
    const plan = await planProtect(location, warden, '/opt/warden');
    const edited = original.replace('"a"', '"a-renamed"');
    fs.writeFileSync(location.file, edited);
    await assert.rejects(
      applyProtect(plan, { wardenConfigFile: warden, ctx, backupDir: backupDir() }),
      /changed since it was read; run this again/,
    );
    assert.equal(fs.readFileSync(location.file, 'utf8'), edited);
    assert.equal(fs.readFileSync(warden, 'utf8'), '{ "mcpServers": {} }\n');
    assert.deepEqual(await store.list(), []);
  });

  test('a keychain name another server uses for another value is not taken over', async () => {
    fs.writeFileSync(
      warden,
      '{ "mcpServers": { "other": { "command": "o", "env": { "T": "${secret:a-a_token}" } } } }\n',
    );
    await store.set('a-a_token', 'the other server value');
    const plan = await planProtect(location, warden, '/opt/warden');
    await assert.rejects(
      applyProtect(plan, { wardenConfigFile: warden, ctx, backupDir: backupDir() }),
      /already holds another value as "a-a_token", which server "other" uses.*nothing was changed/,
    );
    assert.equal(await store.get('a-a_token'), 'the other server value');
    assert.equal(fs.readFileSync(location.file, 'utf8'), original);
  });

  test('a backup an earlier version kept in plain text is encrypted before restore, which still gives the bytes back', async () => {
    await applyProtect(await planProtect(location, warden, '/opt/warden'), {
      wardenConfigFile: warden,
      ctx,
      backupDir: backupDir(),
    });
    // What versions before this one wrote: the original in the clear.
    const [name] = fs.readdirSync(backupDir());
    const sealed = JSON.parse(fs.readFileSync(path.join(backupDir(), name!), 'utf8')) as Record<
      string,
      unknown
    >;
    const legacy: Record<string, unknown> = { ...sealed, original, originalSha256: 'x' };
    delete legacy.version;
    delete legacy.sealed;
    fs.writeFileSync(path.join(backupDir(), name!), JSON.stringify(legacy));
    fs.writeFileSync(
      path.join(backupDir(), 'cursor--2020-01-01.json.restored'),
      JSON.stringify({ ...legacy, createdAt: '2020' }),
    );
    assert.equal(filesContaining(backupDir(), TOKEN).length, 2);
    const report = await restoreClient(location, { ctx, backupDir: backupDir() });
    assert.match(report.join('\n'), /byte for byte/);
    assert.equal(fs.readFileSync(location.file, 'utf8'), original);
    assert.deepEqual(filesContaining(backupDir(), TOKEN), []);
    assert.deepEqual(filesContaining(path.join(dir, 'data'), TOKEN), []);
  });

  test('the latest backup of another file is not restored onto this one', async () => {
    await applyProtect(await planProtect(location, warden, '/opt/warden'), {
      wardenConfigFile: warden,
      ctx,
      backupDir: backupDir(),
    });
    const elsewhere = { ...location, file: path.join(dir, 'other.json') };
    fs.writeFileSync(elsewhere.file, '{}');
    await assert.rejects(
      restoreClient(elsewhere, { ctx, backupDir: backupDir() }),
      /the latest backup of Cursor \(global\) is of .*mcp\.json, not .*other\.json/,
    );
    assert.equal(fs.readFileSync(elsewhere.file, 'utf8'), '{}');
  });

  test('a journal left by a dead process is recovered; one of a live process is left alone', async () => {
    const file = path.join(dir, 'note.txt');
    fs.writeFileSync(file, 'before');
    const journal = path.join(dir, 'data', 'journal', 'current.json');
    // A change whose fourth write fails (after both files were staged) is undone at once.
    process.env.MCP_WARDEN_FAULT_AFTER_WRITES = '4:error';
    const finished = runChange(ctx, 'two files', [
      { kind: 'write-file', file, content: 'after', expect: 'before' },
      { kind: 'write-file', file: path.join(dir, 'new.txt'), content: 'new', expect: null },
    ]);
    await assert.rejects(finished, /injected failure after write 4.*Nothing was changed/s);
    delete process.env.MCP_WARDEN_FAULT_AFTER_WRITES;
    assert.equal(fs.readFileSync(file, 'utf8'), 'before');
    assert.ok(!fs.existsSync(path.join(dir, 'new.txt')));
    // A journal as a killed process leaves it, of a process that is gone.
    const stale = {
      version: 1,
      id: 'ab',
      what: 'a test change',
      pid: 2 ** 22 + 12345, // no such process
      startedAt: new Date().toISOString(),
      state: 'pending',
      steps: [{ kind: 'secret-set', name: 'left-over', stash: 'txn.ab.0', previous: 'none' }],
    };
    await store.set('left-over', 'v');
    fs.writeFileSync(journal, JSON.stringify(stale));
    assert.deepEqual((await recoverChanges(ctx))?.outcome, 'undone');
    assert.equal(await store.get('left-over'), undefined);
    fs.writeFileSync(journal, JSON.stringify({ ...stale, pid: process.ppid }));
    assert.equal(await recoverChanges(ctx), undefined, 'a live process is still making it');
    assert.ok(fs.existsSync(journal));
  });
});
