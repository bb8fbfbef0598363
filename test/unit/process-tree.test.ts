/**
 * Process trees with real processes (sh, sleep, node): ending a whole group, SIGKILL for what
 * ignores SIGTERM, a group whose leader is gone, the exit and crash hooks, and what a daemon
 * killed with SIGKILL leaves (ended only when the leader is provably the process recorded).
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { test } from 'node:test';
import fc from 'fast-check';
import { silentLogger } from '../../main/core/log.ts';
import { groupMembers, parseProcStat, processIdentity } from '../../main/core/process/process-table.ts';
import { groupAlive, ownGroupSpawnOptions, ProcessTree } from '../../main/core/process/process-tree.ts';
import {
  UpstreamProcesses,
  type ProcessGroupLedger,
  type ProcessGroupRecord,
} from '../../main/core/process/upstream-processes.ts';
import { ROOT, waitFor } from '../helpers/warden-env.ts';

const log = silentLogger();

function spawnGroup(script: string): ChildProcess {
  const child = spawn('sh', ['-c', script], { stdio: ['pipe', 'pipe', 'ignore'], ...ownGroupSpawnOptions() });
  child.stdout.resume();
  return child;
}

/** Waits until the group has `count` live processes. */
function membersReach(pgid: number, count: number): Promise<unknown> {
  return waitFor(
    () => (groupMembers(pgid)?.length ?? 0) >= count,
    10_000,
    `${count} processes in group ${pgid}`,
  );
}

function memoryLedger(
  records: ProcessGroupRecord[] = [],
): ProcessGroupLedger & { rows: ProcessGroupRecord[] } {
  const rows = [...records];
  return {
    rows,
    add: (record) => void rows.push(record),
    remove: (pgid) => {
      const i = rows.findIndex((r) => r.pgid === pgid);
      if (i >= 0) rows.splice(i, 1);
    },
    list: () => [...rows],
  };
}

test('parseProcStat reads the fields after the last ")", whatever the command name holds', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 4_194_304 }),
      fc.string({ maxLength: 40 }),
      fc.constantFrom('R', 'S', 'D', 'Z', 'T', 'I'),
      fc.array(fc.integer({ min: 0, max: 4_194_304 }), { minLength: 3, maxLength: 3 }),
      fc.nat(),
      (pid, comm, state, [ppid, pgid, sid], start) => {
        // Fields 7..21 between the session id and the start time, then more after it.
        const middle = Array.from({ length: 15 }, (_, i) => String(i)).join(' ');
        const text = `${pid} (${comm}) ${state} ${ppid} ${pgid} ${sid} ${middle} ${start} 99 100\n`;
        assert.deepEqual(parseProcStat(text), { pid, state, ppid, pgid, sid, startTicks: start });
      },
    ),
  );
  assert.equal(parseProcStat(''), undefined);
  assert.equal(parseProcStat('12 (x) S 1 2'), undefined);
  assert.equal(parseProcStat('garbage'), undefined);
});

test('this process: /proc parses, its identity is stable and names this incarnation', () => {
  const members = groupMembers(process.pid) ?? [];
  assert.ok(Array.isArray(members));
  const identity = processIdentity(process.pid);
  assert.ok(identity);
  assert.equal(processIdentity(process.pid), identity);
  assert.equal(processIdentity(2 ** 30), undefined, 'no such process');
});

test('end(): stdin closed, then SIGTERM to the whole group, a background child included', async () => {
  const child = spawnGroup('sleep 600 & sleep 600; echo never');
  await once(child, 'spawn');
  const tree = new ProcessTree(child, log);
  await membersReach(tree.pid, 3);
  assert.equal(groupAlive(tree.pid), true);
  const t0 = Date.now();
  await tree.end({ graceMs: 300 });
  assert.equal(groupAlive(tree.pid), false, 'no process of the group is left');
  assert.ok(Date.now() - t0 < 3000);
  await tree.ended;
  assert.equal(tree.end(), tree.end(), 'end() again is the same promise');
});

test('end(): what ignores SIGTERM gets SIGKILL after the grace period', async () => {
  const child = spawnGroup(`trap '' TERM; sleep 600 & sleep 600`);
  await once(child, 'spawn');
  const tree = new ProcessTree(child, log);
  await membersReach(tree.pid, 3);
  const t0 = Date.now();
  await tree.end({ graceMs: 300 });
  const took = Date.now() - t0;
  assert.equal(groupAlive(tree.pid), false);
  assert.ok(took >= 600, `stdin and SIGTERM each got their grace period (${took} ms)`);
});

test('a leader that exits leaves its group behind; end() still ends it', async () => {
  const child = spawnGroup('sleep 600 & exit 0');
  await once(child, 'spawn');
  const tree = new ProcessTree(child, log);
  await once(child, 'exit');
  assert.equal(tree.leaderRunning, false);
  await membersReach(tree.pid, 1);
  await tree.end({ graceMs: 300 });
  assert.equal(groupAlive(tree.pid), false);
});

for (const how of ['exits', 'crashes'] as const) {
  test(`a process that ${how} takes its process trees with it`, async () => {
    const script = path.join(ROOT, 'test/fixtures/tree-owner.ts');
    const owner = spawn(process.execPath, [script, how], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    owner.stdout.on('data', (d: Buffer) => (out += d.toString()));
    owner.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const pgid = Number(
      await waitFor(() => /^group (\d+)$/m.exec(out)?.[1], 10_000, 'the fixture to start its tree'),
    );
    await membersReach(pgid, 3);
    owner.stdin.write('go\n');
    const [code] = (await once(owner, 'exit')) as [number | null];
    assert.equal(code, how === 'exits' ? 0 : 1, out);
    if (how === 'crashes') assert.match(out, /Error: boom/, 'the crash is still reported as Node does');
    await waitFor(() => !groupAlive(pgid), 5000, 'the tree to be gone');
  });
}

test('endLeftovers: a group whose leader is still the recorded process is ended', async () => {
  const child = spawnGroup('sleep 600 & sleep 600');
  await once(child, 'spawn');
  const pgid = child.pid!;
  await membersReach(pgid, 3);
  const ledger = memoryLedger([
    {
      pgid,
      leaderIdentity: processIdentity(pgid)!,
      server: 'everything',
      command: "sh -c 'sleep 600 & sleep 600'",
      daemonPid: 2 ** 30,
      daemonIdentity: 'a daemon that is gone',
      startedAt: new Date().toISOString(),
    },
  ]);
  const report = await new UpstreamProcesses(ledger, log).endLeftovers(300);
  assert.deepEqual(
    report.ended.map((r) => r.pgid),
    [pgid],
  );
  assert.equal(groupAlive(pgid), false);
  assert.deepEqual(ledger.rows, [], 'the record is gone');
});

test('endLeftovers: an id that may have been reused is never signalled; a live daemon’s groups are left alone', async () => {
  const child = spawnGroup('sleep 600 & sleep 600');
  await once(child, 'spawn');
  const pgid = child.pid!;
  await membersReach(pgid, 3);
  const base = {
    server: 'everything',
    command: 'npx -y x',
    startedAt: new Date().toISOString(),
  };
  const reused: ProcessGroupRecord = {
    ...base,
    pgid,
    // The recorded leader started at another time: this pid is another process now.
    leaderIdentity: 'linux:some-boot:12345',
    daemonPid: 2 ** 30,
    daemonIdentity: 'gone',
  };
  const ledger = memoryLedger([reused]);
  const report = await new UpstreamProcesses(ledger, log).endLeftovers(300);
  assert.deepEqual(report.ended, []);
  assert.deepEqual(
    report.notEnded.map((n) => n.record.pgid),
    [pgid],
  );
  assert.equal(report.notEnded[0]!.pids.length, 3);
  assert.equal(groupAlive(pgid), true, 'the processes were not touched');
  assert.deepEqual(ledger.rows, []);

  // Recorded by a daemon that still runs (here: this very process, with another pid's identity
  // check standing for "another daemon"): not ours to end.
  const other = spawn('sleep', ['600']);
  await once(other, 'spawn');
  const live = memoryLedger([
    {
      ...base,
      pgid,
      leaderIdentity: processIdentity(pgid)!,
      daemonPid: other.pid!,
      daemonIdentity: processIdentity(other.pid!)!,
    },
  ]);
  const untouched = await new UpstreamProcesses(live, log).endLeftovers(300);
  assert.deepEqual(untouched, { ended: [], notEnded: [] });
  assert.equal(groupAlive(pgid), true);
  assert.equal(live.rows.length, 1, 'the record of a live daemon stays');
  other.kill('SIGKILL');
  await new ProcessTree(child, log).end({ graceMs: 300 });
});

test('track() records a tree until it is over; endAll() ends every tree', async () => {
  const ledger = memoryLedger();
  const processes = new UpstreamProcesses(ledger, log);
  const trees = await Promise.all(
    [1, 2].map(async () => {
      const child = spawnGroup('sleep 600 & sleep 600');
      await once(child, 'spawn');
      const tree = new ProcessTree(child, log);
      processes.track(tree, 'everything', 'sh -c …');
      return tree;
    }),
  );
  assert.equal(processes.size, 2);
  assert.deepEqual(ledger.rows.map((r) => r.pgid).sort(), trees.map((t) => t.pid).sort());
  assert.equal(ledger.rows[0]!.daemonPid, process.pid);
  await processes.endAll();
  for (const tree of trees) assert.equal(groupAlive(tree.pid), false);
  await waitFor(() => processes.size === 0 && ledger.rows.length === 0, 2000, 'the records to go');
});
