/**
 * Upstream servers launched through wrappers (npx, sh -c) end with their sessions and with the
 * daemon: real shims and SDK clients, a real daemon process, server-everything resolved by npx
 * from node_modules. In each session the server is told to send simulated log messages, which keeps
 * it running after its stdin closes (as many servers do), so only ending its whole process
 * group stops it. Processes are found by a mark in their environment, which every descendant
 * inherits. Warm upstreams are off here (`daemon.warmUpstreams`): this file counts the process
 * groups of sessions; warm-upstream.test.ts covers the warm ones.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import fs from 'node:fs';
import { after, afterEach, beforeEach, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { DEFAULT_SERVER_VERSIONS } from '../../main/core/config/load.ts';
import type { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { callTool, httpClient, resultText, shimClient } from '../helpers/sdk-client.ts';
import {
  describeProcesses,
  groupsOf,
  killMarked,
  MARK_VAR,
  markedProcesses,
  newMark,
} from '../helpers/processes.ts';
import {
  EVERYTHING_JS,
  NODE,
  startDaemonProcess,
  makeWardenEnv,
  waitFor,
  type DaemonProcess,
  type WardenEnv,
} from '../helpers/warden-env.ts';

const EVERYTHING_PACKAGE = `@modelcontextprotocol/server-everything@${DEFAULT_SERVER_VERSIONS.everything}`;
const SESSIONS = 30;

/** Sessions spawn their own upstream (no warm one next to it): see the module doc. */
const NO_WARM = { warmUpstreams: false };

/**
 * These servers run outside the OS sandbox: this file follows the process groups of a plain
 * spawn. A sandboxed server's processes are in a pid namespace of their own that ends with its
 * sandbox host (bubblewrap starts it in a new session): sandbox.test.ts follows those.
 */
const UNSANDBOXED = { mode: 'off' } as const;

/** Calls that keep server-everything running after its stdin closes are allowed here. */
const POLICY = { rules: [{ tool: 'toggle-simulated-logging', action: 'allow' }] };

function npxServer(mark: string): Record<string, unknown> {
  return {
    command: 'npx',
    args: ['-y', EVERYTHING_PACKAGE, 'stdio'],
    env: { [MARK_VAR]: mark },
    sandbox: UNSANDBOXED,
  };
}

/** A shell wrapper that stays the parent of the server (it has more to do after it). */
function shServer(mark: string): Record<string, unknown> {
  return {
    command: 'sh',
    args: ['-c', '"$0" "$1" stdio; echo "the server exited" >&2', NODE, EVERYTHING_JS],
    env: { [MARK_VAR]: mark },
    sandbox: UNSANDBOXED,
  };
}

/** A daemon's process group (its own children must never share it). */
function pgidOf(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
}

/**
 * One client session that leaves the server running past stdin EOF: through the shim (which
 * closes its local socket, ending the session, when its stdin closes) or straight over HTTP
 * (DELETE).
 * @returns the process groups of the marked processes seen while the session was open.
 */
async function lingeringSession(
  w: WardenEnv,
  daemon: DaemonProcess,
  server: string,
  mark: string,
  via: 'shim' | 'http',
): Promise<number[]> {
  let shimStderr = (): string => '';
  const client =
    via === 'shim'
      ? await shimClient(w.env, server).then((shim) => ((shimStderr = shim.stderr), shim.client))
      : await httpClient(daemon.url, daemon.token, server);
  try {
    assert.equal(resultText(await callTool(client, 'echo', { message: 'hi' }, 60_000)), 'Echo: hi');
    assert.match(
      resultText(await callTool(client, 'toggle-simulated-logging', {}, 60_000)),
      /Started simulated/,
    );
    return markedProcesses(mark).map((p) => p.pgid);
  } catch (error) {
    // What the shim said is the first thing to read when a session through it fails.
    throw new Error(`session through the ${via} failed; shim stderr: ${shimStderr() || '(none)'}`, {
      cause: error,
    });
  } finally {
    if (via === 'http') await (client.transport as StreamableHTTPClientTransport).terminateSession();
    await client.close();
  }
}

describe('upstream process trees end with their sessions and with the daemon', () => {
  let w: WardenEnv;
  let daemon: DaemonProcess | undefined;
  const marks: string[] = [];

  beforeEach(() => {
    w = makeWardenEnv();
  });

  afterEach(async () => {
    await daemon?.stop();
    daemon = undefined;
    for (const mark of marks.splice(0)) killMarked(mark);
    w.cleanup();
  });

  after(() => {
    for (const mark of marks) killMarked(mark);
  });

  for (const [kind, make] of [
    ['`npx -y`', npxServer],
    ['`sh -c`', shServer],
  ] as const) {
    // Starting 60 processes takes its time on a busy machine.
    test(
      `${SESSIONS} sequential client sessions to a server launched by ${kind} leave no upstream process`,
      { timeout: 300_000 },
      async () => {
        const mark = newMark();
        marks.push(mark);
        w.writeConfig({ daemon: NO_WARM, policy: POLICY, mcpServers: { everything: make(mark) } });
        daemon = await startDaemonProcess(w);
        const daemonGroup = pgidOf(daemon.child.pid!);
        const seen = new Set<number>();
        let peak = 0;
        for (let i = 0; i < SESSIONS; i++) {
          const groups = await lingeringSession(w, daemon, 'everything', mark, i % 2 ? 'http' : 'shim');
          assert.ok(groups.length >= 2, `the wrapper and the server run (session ${i})`);
          assert.ok(!groups.includes(daemonGroup), 'upstream processes run in their own process group');
          for (const group of groups) seen.add(group);
          peak = Math.max(peak, new Set(groups).size);
        }
        assert.equal(seen.size, SESSIONS, 'each session had its own process group');
        const left = await waitFor(
          () => markedProcesses(mark).length === 0 || undefined,
          15_000,
          'every upstream process to end',
        ).catch(() => false);
        assert.ok(left, `processes left:\n${describeProcesses(markedProcesses(mark))}`);
        // While sessions come and go, only the few still ending run next to the current one.
        assert.ok(peak <= 5, `at most a few process groups at once, saw ${peak}`);
        // Nothing is left recorded as running: the daemon forgets a group once it saw it end,
        // which can be a moment after the last process went away.
        const recorded = (): number => {
          const db = new Database(w.paths.stateDb, { readonly: true });
          try {
            return (db.prepare('SELECT count(*) AS n FROM upstream_process_groups').get() as { n: number }).n;
          } finally {
            db.close();
          }
        };
        await waitFor(() => recorded() === 0 || undefined, 15_000, 'no process group recorded').catch(
          () => undefined,
        );
        assert.equal(recorded(), 0);
      },
    );
  }

  for (const signal of ['SIGTERM', 'SIGHUP'] as const) {
    test(`${signal} of the daemon ends every upstream process tree (npx and sh -c) before it exits`, async () => {
      const mark = newMark();
      marks.push(mark);
      w.writeConfig({
        daemon: NO_WARM,
        policy: POLICY,
        mcpServers: { viaNpx: npxServer(mark), viaSh: shServer(mark) },
      });
      const running = (daemon = await startDaemonProcess(w));
      const clients = await Promise.all([shimClient(w.env, 'viaNpx'), shimClient(w.env, 'viaSh')]);
      try {
        for (const { client } of clients) await callTool(client, 'toggle-simulated-logging', {}, 60_000);
        const processes = markedProcesses(mark);
        assert.equal(groupsOf(processes).size, 2, describeProcesses(processes));
        const exited = once(running.child, 'exit');
        running.child.kill(signal);
        assert.deepEqual(await exited, [0, null], 'the daemon stopped cleanly');
        daemon = undefined;
        // No waiting here: the daemon ended them before it exited.
        assert.deepEqual(markedProcesses(mark), [], 'no upstream process outlives the daemon');
      } finally {
        for (const { client } of clients) await client.close().catch(() => undefined);
      }
    });
  }

  test('a daemon killed with SIGKILL cannot end its servers; the next start ends what is left', async () => {
    const mark = newMark();
    marks.push(mark);
    // A wrapper with more to do after its server: it outlives the server, holding the group.
    w.writeConfig({
      daemon: NO_WARM,
      mcpServers: {
        wrapped: {
          command: 'sh',
          args: ['-c', '"$0" "$1" stdio; exec sleep 600', NODE, EVERYTHING_JS],
          env: { [MARK_VAR]: mark },
          sandbox: UNSANDBOXED,
        },
      },
    });
    daemon = await startDaemonProcess(w);
    const { client } = await shimClient(w.env, 'wrapped');
    const [group] = groupsOf(markedProcesses(mark));
    assert.ok(group, 'the wrapped server runs');
    daemon.child.kill('SIGKILL');
    await daemon.stop();
    daemon = undefined;
    await client.close().catch(() => undefined);
    // The server saw its stdin close and exited; the wrapper goes on (sleep 600).
    const leftover = await waitFor(
      () => {
        const now = markedProcesses(mark);
        return now.length === 1 && now[0]!.args.startsWith('sleep 600') ? now : undefined;
      },
      15_000,
      'only the wrapper to be left',
    );
    assert.equal(leftover[0]!.pgid, group);

    daemon = await startDaemonProcess(w);
    await waitFor(() => markedProcesses(mark).length === 0, 15_000, 'the next daemon to end the leftover');
    await waitFor(
      () => /ended an upstream process group a previous Warden left running/.test(daemon!.output()),
      5_000,
      'the log line',
    );
    assert.match(daemon.output(), new RegExp(`"pgid":${group}\\b`));
  });
});
