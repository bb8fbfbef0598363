/**
 * The upstream era probe and its cache (main/core/era/upstream-era.ts) over real stdio links
 * (createUpstreamLink) to the fixture servers: the v2 server (both eras) is modern, the
 * 2025-11-25-only v1 server, a process that never answers and a URL nobody serves are legacy; verdicts persist in a
 * real state.db per server identity, are probed once for concurrent callers, and are probed
 * again after `forget` or when the command changes.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, test } from 'node:test';
import type Database from 'better-sqlite3';
import { createUpstreamLink } from '../../main/core/bridge/upstream-link.ts';
import type { StdioServerConfig } from '../../main/core/config/schema.ts';
import { UpstreamEras } from '../../main/core/era/upstream-era.ts';
import { silentLogger } from '../../main/core/log.ts';
import { openStateDb } from '../../main/core/store/state-db.ts';
import { UpstreamEraStore } from '../../main/core/store/upstream-eras.ts';
import { tempDir } from '../helpers/bridge-harness.ts';
import { NODE, ROOT } from '../helpers/warden-env.ts';

const V2_SERVER = path.join(ROOT, 'test/fixtures/v2-server.ts');
const V1_SERVER = path.join(ROOT, 'test/fixtures/v1-server.ts');

function stdio(name: string, args: string[]): StdioServerConfig {
  return { kind: 'stdio', name, command: NODE, args, env: {}, tools: { deny: [] } };
}

let tmp: ReturnType<typeof tempDir>;
let db: Database.Database;
before(() => {
  tmp = tempDir();
  db = openStateDb(path.join(tmp.dir, 'state.db'));
});
after(() => {
  db.close();
  tmp.cleanup();
});

/** An UpstreamEras over the real state.db that counts the links it creates (one per probe). */
function eras(timeoutMs = 10_000): { eras: UpstreamEras; probes: string[] } {
  const probes: string[] = [];
  return {
    probes,
    eras: new UpstreamEras({
      store: new UpstreamEraStore(db),
      createLink: (server, logger) => {
        probes.push(server.name);
        return createUpstreamLink(server, logger);
      },
      version: 'test',
      logger: silentLogger(),
      timeoutMs,
    }),
  };
}

test('the v2 server is modern, probed once for concurrent callers, and remembered in state.db', async () => {
  const server = stdio('v2', [V2_SERVER, 'stdio']);
  const first = eras();
  assert.deepEqual(await Promise.all([first.eras.verdict(server), first.eras.verdict(server)]), [
    'modern',
    'modern',
  ]);
  assert.deepEqual(first.probes, ['v2']);

  const restarted = eras();
  assert.equal(await restarted.eras.verdict(server), 'modern', 'read from state.db');
  assert.deepEqual(restarted.probes, [], 'no probe after a restart of the same configuration');

  restarted.eras.forget('v2', 'the test says so');
  assert.equal(await restarted.eras.verdict(server), 'modern');
  assert.deepEqual(restarted.probes, ['v2'], 'probed again once the verdict was forgotten');
});

test('the 2025-11-25-only v1 server is legacy; a changed command is probed again', async () => {
  const { eras: e, probes } = eras();
  assert.equal(await e.verdict(stdio('v1', [V1_SERVER, 'stdio'])), 'legacy');
  assert.equal(await e.verdict(stdio('v1', [V1_SERVER, 'stdio'])), 'legacy');
  assert.deepEqual(probes, ['v1']);
  // Same name, another identity: the old verdict does not hold for it.
  assert.equal(await e.verdict(stdio('v1', [V2_SERVER, 'stdio'])), 'modern');
  assert.deepEqual(probes, ['v1', 'v1']);
});

test('a server that stays silent is legacy after the timeout; one that cannot start is legacy', async () => {
  const { eras: e } = eras(300);
  const silent = stdio('silent', ['-e', 'setInterval(() => {}, 1000)']);
  assert.equal(await e.verdict(silent), 'legacy');
  const missing: StdioServerConfig = { ...stdio('missing', []), command: 'no-such-command-for-warden' };
  assert.equal(await e.verdict(missing), 'legacy');
});

test('a url server that answers no HTTP is legacy (probed on the 2026-07-28 link)', async () => {
  const { eras: e, probes } = eras();
  const verdict = await e.verdict({
    kind: 'http',
    name: 'remote',
    url: 'http://127.0.0.1:9/mcp',
    headers: {},
    tools: { deny: [] },
  });
  assert.equal(verdict, 'legacy');
  assert.deepEqual(probes, ['remote']);
});
