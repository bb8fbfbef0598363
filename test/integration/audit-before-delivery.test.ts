/**
 * Outcomes are committed before the result is delivered: the moment an SDK client receives the
 * answer of a tools/call from the daemon, the call's row in the real audit file, read from a
 * second connection, already has its outcome (ok, tool error, refused, upstream error), also
 * when many calls are answered in the same turn of the daemon's event loop.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { useDaemonFixture } from '../helpers/daemon-fixture.ts';
import { callTool, httpClient } from '../helpers/sdk-client.ts';
import { NODE, ROOT } from '../helpers/warden-env.ts';

let client: Client;
let db: Database.Database;
let byMessage: Database.Statement<[string, string]>;
let latestOf: Database.Statement<[string]>;
useDaemonFixture({
  config: () => ({
    policy: {
      rules: [
        { tool: 'echo', action: 'allow' },
        { tool: 'crash', action: 'allow' },
      ],
    },
    mcpServers: {
      crashy: {
        command: NODE,
        args: [path.join(ROOT, 'test/fixtures/crashy-server.ts')],
        tools: { deny: ['slow'] },
      },
    },
  }),
  afterStart: async (daemon, defer) => {
    client = await httpClient(daemon.url, daemon.token, 'crashy');
    defer(() => client.close());
    db = new Database(daemon.w.paths.auditDb, { readonly: true, fileMustExist: true });
    defer(() => db.close());
    byMessage = db.prepare(
      "SELECT outcome FROM tool_calls WHERE tool = ? AND json_extract(arguments, '$.message') = ?",
    );
    latestOf = db.prepare('SELECT outcome, error FROM tool_calls WHERE tool = ? ORDER BY id DESC LIMIT 1');
  },
});

/** The row of an echo call, read at once, in the same tick as the client got its answer. */
function echoRow(message: string): { outcome: string | null } | undefined {
  return byMessage.get('echo', message) as { outcome: string | null } | undefined;
}

test('50 calls answered together: each row has outcome ok when its result arrives', async () => {
  const seen = await Promise.all(
    Array.from({ length: 50 }, async (_, i) => {
      const message = `together-${i}`;
      await callTool(client, 'echo', { message });
      return echoRow(message)?.outcome;
    }),
  );
  assert.deepEqual(
    seen,
    seen.map(() => 'ok'),
  );
});

test('a tool error, a refusal and a lost upstream are recorded before the client hears of them', async () => {
  const toolError = await callTool(client, 'echo', { message: 42 });
  assert.equal(toolError.isError, true);
  assert.equal((latestOf.get('echo') as { outcome: string }).outcome, 'tool_error');

  const refused = await callTool(client, 'slow', { ms: 1 });
  assert.equal(refused.isError, true);
  assert.deepEqual(
    { ...(latestOf.get('slow') as object) },
    { outcome: 'refused', error: resultError(refused) },
  );

  await assert.rejects(callTool(client, 'crash', {}, 10_000));
  const lost = latestOf.get('crash') as { outcome: string; error: string };
  assert.equal(lost.outcome, 'error');
});

function resultError(result: { content: unknown }): string {
  const [item] = result.content as { text: string }[];
  return item?.text ?? '';
}
