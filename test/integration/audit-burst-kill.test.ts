/**
 * Audit durability with outcomes committed in batches: the daemon is killed with SIGKILL while
 * 32 clients keep calls in flight, so outcomes of many calls share each transaction when the
 * kill lands. Every call that reached the upstream server has its row, and every result a
 * client received has its outcome: a batch is committed before any of its results is sent.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { AuditReader } from '../../main/core/audit/audit-reader.ts';
import { useDaemonFixture } from '../helpers/daemon-fixture.ts';
import { callTool, httpClient } from '../helpers/sdk-client.ts';
import { NODE, ROOT, waitFor } from '../helpers/warden-env.ts';

const CLIENTS = 32;

let calls: string;
const fx = useDaemonFixture({
  prepare: (w) => {
    // The server writes this file from inside the OS sandbox: its directory is allowed.
    fs.mkdirSync(path.join(w.home, 'out'));
    calls = path.join(w.home, 'out', 'calls.txt');
  },
  config: () => ({
    policy: { rules: [{ tool: 'echo', action: 'allow' }] },
    mcpServers: {
      crashy: {
        command: NODE,
        args: [path.join(ROOT, 'test/fixtures/crashy-server.ts')],
        env: { CRASHY_CALLS_FILE: calls },
        sandbox: { filesystem: { allowWrite: [path.dirname(calls)] } },
      },
    },
  }),
});

test('kill -9 during a burst of 32 clients: every delivered result has its completed row', async () => {
  const daemon = fx.daemon;
  const clients: Client[] = await Promise.all(
    Array.from({ length: CLIENTS }, (_, k) => httpClient(daemon.url, daemon.token, 'crashy', `burst-${k}`)),
  );
  const lines = () =>
    fs.existsSync(calls) ? fs.readFileSync(calls, 'utf8').split('\n').filter(Boolean) : [];

  let stop = false;
  const answered: string[] = [];
  const stream = async (client: Client, k: number): Promise<void> => {
    for (let sent = 0; !stop; sent++) {
      const message = `c${k}-${sent}`;
      try {
        await callTool(client, 'echo', { message }, 5000);
      } catch {
        return;
      }
      answered.push(message);
    }
  };
  const streams = clients.map(stream);
  await waitFor(() => lines().length >= 600, 60_000, '600 calls to reach the server');
  daemon.child.kill('SIGKILL');
  await new Promise((r) => daemon.child.once('exit', r));
  stop = true;
  await Promise.all(streams);
  await Promise.all(clients.map((c) => c.close().catch(() => {})));

  const reached = lines();
  const reader = AuditReader.open(fx.w.paths.auditDb);
  try {
    const rows = reader.latest(1_000_000).filter((r) => r.tool === 'echo');
    const byMessage = new Map(rows.map((r) => [(r.arguments as { message: string }).message, r]));
    const missing = reached.filter((m) => !byMessage.has(m));
    assert.deepEqual(
      missing,
      [],
      `${missing.length} of ${reached.length} forwarded calls have no audit record`,
    );
    const withoutOutcome = answered.filter((m) => byMessage.get(m)?.outcome !== 'ok');
    assert.deepEqual(withoutOutcome, [], 'delivered results without a recorded outcome');
    assert.ok(answered.length >= 500, `${answered.length} results delivered before the kill`);
  } finally {
    reader.close();
  }
});
