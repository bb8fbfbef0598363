/**
 * Audit durability against a real crash: the daemon is killed with SIGKILL in the middle of a
 * stream of calls; every call that reached the upstream server (the fixture logs each one
 * synchronously before answering) must have its audit row, written before it was forwarded.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { AuditReader } from '../../main/core/audit/audit-reader.ts';
import { verifyAuditLog } from '../../main/core/audit/verify.ts';
import { useDaemonFixture } from '../helpers/daemon-fixture.ts';
import { callTool, httpClient } from '../helpers/sdk-client.ts';
import { NODE, ROOT, waitFor } from '../helpers/warden-env.ts';

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

test('kill -9 of the daemon during a stream of calls loses no record of a forwarded call', async () => {
  const daemon = fx.daemon;
  const client = await httpClient(daemon.url, daemon.token, 'crashy');
  const lines = () =>
    fs.existsSync(calls) ? fs.readFileSync(calls, 'utf8').split('\n').filter(Boolean) : [];

  // Four concurrent streams of calls, so the kill lands while calls are in every stage.
  let stop = false;
  const answered: string[] = [];
  const stream = async (k: number): Promise<number> => {
    let sent = 0;
    while (!stop) {
      try {
        const message = `s${k}-${sent++}`;
        await callTool(client, 'echo', { message }, 5000);
        answered.push(message);
      } catch {
        return sent;
      }
    }
    return sent;
  };
  const streams = [0, 1, 2, 3].map(stream);
  await waitFor(() => lines().length >= 200, 30_000, '200 calls to reach the server');
  daemon.child.kill('SIGKILL');
  await new Promise((r) => daemon.child.once('exit', r));
  stop = true;
  await Promise.all(streams);
  await client.close().catch(() => {});

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
    assert.ok(reached.length >= 200);
    // A result the client received had its outcome recorded before it was delivered.
    const withoutOutcome = answered.filter((m) => byMessage.get(m)?.outcome !== 'ok');
    assert.deepEqual(withoutOutcome, [], 'answered calls without a recorded outcome');
    assert.ok(answered.length >= 150);
  } finally {
    reader.close();
  }
  // The hash chain after the kill: at most an unchecked tail and calls in flight, never a break
  // (this daemon has no keychain, so its checkpoints are unsigned: that is all verify may add).
  const report = verifyAuditLog(fx.w.paths.auditDb, { missing: 'no keychain in this test' });
  assert.deepEqual(
    report.problems.filter((p) => !['checkpoint-unsigned', 'no-key'].includes(p.kind)),
    [],
  );
  assert.ok(report.verifiedThrough + report.inFlight >= reached.length, JSON.stringify(report));
});
