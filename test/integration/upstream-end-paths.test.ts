/**
 * Every way a session's upstream ends takes its whole process tree with it: HTTP DELETE, the
 * idle sweep, a crash (and the restart after it), a restart from the dashboard, a config reload
 * that ends the session, and pause. The servers run under `sh -c` wrappers that also start a
 * background `sleep`, which ignores stdin and is no child Warden knows of: only ending the
 * process group ends it. A real daemon in this process, real servers, the SDK client.
 * Warm upstreams are off here (`daemon.warmUpstreams`): this file follows each session's own
 * process group; warm-upstream.test.ts follows the warm ones through reload, pause, stop, crash
 * and restart.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { loadConfig } from '../../main/core/config/load.ts';
import { startDaemon, type RunningDaemon } from '../../main/core/daemon/daemon.ts';
import { silentLogger } from '../../main/core/log.ts';
import { controlApi } from '../helpers/control.ts';
import { callTool, httpClient, resultText } from '../helpers/sdk-client.ts';
import {
  describeProcesses,
  groupsOf,
  killMarked,
  MARK_VAR,
  markedProcesses,
  newMark,
} from '../helpers/processes.ts';
import { EVERYTHING_JS, NODE, ROOT, makeWardenEnv, waitFor, type WardenEnv } from '../helpers/warden-env.ts';

const CRASHY = path.join(ROOT, 'test/fixtures/crashy-server.ts');

/** Sessions spawn their own upstream (no warm one next to it): see the module doc. */
const NO_WARM = { warmUpstreams: false };

/**
 * These servers run outside the OS sandbox: this file follows the process groups of a plain
 * spawn. A sandboxed server's processes are in a pid namespace of their own that ends with its
 * sandbox host (bubblewrap starts it in a new session): sandbox.test.ts follows those.
 */
const UNSANDBOXED = { mode: 'off' } as const;

/** `sh -c` that starts a background sleep, then becomes the server. */
function wrapped(
  mark: string,
  script: string,
  extraEnv: Record<string, string> = {},
): Record<string, unknown> {
  return {
    command: 'sh',
    args: ['-c', 'sleep 600 & exec "$0" "$1" stdio', NODE, script],
    env: { [MARK_VAR]: mark, ...extraEnv },
    sandbox: UNSANDBOXED,
  };
}

async function startInProcess(w: WardenEnv, idleMs?: number): Promise<RunningDaemon> {
  return startDaemon({
    config: loadConfig(w.paths, { createDefault: false }),
    paths: w.paths,
    logger: silentLogger(),
    port: 0,
    managedPolicyFile: path.join(w.home, 'no-managed-policy.json'),
    ...(idleMs ? { gateway: { idleMs } } : {}),
  });
}

/** The process groups of `mark` right now; fails unless there is exactly one. */
function oneGroup(mark: string): number {
  const groups = groupsOf(markedProcesses(mark));
  assert.equal(groups.size, 1, describeProcesses(markedProcesses(mark)));
  const [group] = groups;
  const members = markedProcesses(mark).filter((p) => p.pgid === group);
  assert.ok(
    members.some((p) => p.args.startsWith('sleep 600')),
    `the background sleep runs in the server's group:\n${describeProcesses(members)}`,
  );
  return group!;
}

function groupGone(mark: string, group: number): () => boolean {
  return () => !markedProcesses(mark).some((p) => p.pgid === group);
}

describe('every way a session ends ends its upstream process group', () => {
  let w: WardenEnv;
  let daemon: RunningDaemon;
  const marks = { everything: newMark(), crashy: newMark(), idle: newMark() };
  const clients: Client[] = [];

  const writeConfig = (extraEnv: Record<string, string> = {}): void =>
    w.writeConfig({
      daemon: NO_WARM,
      // The crashy fixture's tools carry no annotations: allow them, this is about processes.
      policy: { rules: [{ server: 'crashy', tool: '*', action: 'allow' }] },
      mcpServers: {
        everything: wrapped(marks.everything, EVERYTHING_JS, extraEnv),
        crashy: wrapped(marks.crashy, CRASHY),
      },
    });

  before(async () => {
    w = makeWardenEnv();
    writeConfig();
    daemon = await startInProcess(w);
  });

  after(async () => {
    for (const client of clients) await client.close().catch(() => undefined);
    await daemon?.close();
    for (const mark of Object.values(marks)) killMarked(mark);
    w?.cleanup();
  });

  const connect = async (server: string): Promise<Client> => {
    const client = await httpClient(daemon.url, daemon.token, server);
    clients.push(client);
    return client;
  };

  test('HTTP DELETE', async () => {
    const client = await connect('everything');
    assert.equal(resultText(await callTool(client, 'echo', { message: 'x' })), 'Echo: x');
    const group = oneGroup(marks.everything);
    await (client.transport as StreamableHTTPClientTransport).terminateSession();
    await waitFor(groupGone(marks.everything, group), 10_000, 'the group to end');
  });

  test('a crash: what the server started ends with it, and the restarted server gets a new group', async () => {
    const client = await connect('crashy');
    assert.equal(resultText(await callTool(client, 'echo', { message: 'a' })), 'echo: a');
    const group = oneGroup(marks.crashy);
    await assert.rejects(callTool(client, 'crash', {}), /the server process exited with code 3/);
    await waitFor(groupGone(marks.crashy, group), 10_000, 'the crashed group to end');
    assert.equal(resultText(await callTool(client, 'echo', { message: 'b' }, 20_000)), 'echo: b');
    assert.notEqual(oneGroup(marks.crashy), group);
  });

  test('a restart from the dashboard', async () => {
    const client = await connect('everything');
    await callTool(client, 'echo', { message: 'x' });
    const group = oneGroup(marks.everything);
    await controlApi(daemon, 'POST', 'servers/everything/restart');
    // The restart waited for the old group to end.
    assert.ok(groupGone(marks.everything, group)(), describeProcesses(markedProcesses(marks.everything)));
    assert.equal(resultText(await callTool(client, 'echo', { message: 'y' }, 20_000)), 'Echo: y');
    assert.notEqual(oneGroup(marks.everything), group);
  });

  test('a config reload that ends the session', async () => {
    const group = oneGroup(marks.everything);
    writeConfig({ SOMETHING: 'changed' });
    await waitFor(groupGone(marks.everything, group), 15_000, 'the reload to end the session');
    const client = await connect('everything');
    assert.equal(resultText(await callTool(client, 'echo', { message: 'z' })), 'Echo: z');
  });

  test('pause: when it answers, no upstream process runs', async () => {
    await callTool(await connect('crashy'), 'echo', { message: 'c' });
    assert.ok(markedProcesses(marks.everything).length && markedProcesses(marks.crashy).length);
    await controlApi(daemon, 'POST', 'pause');
    assert.deepEqual(
      [...markedProcesses(marks.everything), ...markedProcesses(marks.crashy)],
      [],
      'nothing runs once pause answered',
    );
    await controlApi(daemon, 'POST', 'resume');
  });

  test('the idle sweep', async () => {
    const idleEnv = makeWardenEnv();
    idleEnv.writeConfig({ daemon: NO_WARM, mcpServers: { everything: wrapped(marks.idle, EVERYTHING_JS) } });
    const idle = await startInProcess(idleEnv, 300);
    try {
      const client = await httpClient(idle.url, idle.token, 'everything');
      await callTool(client, 'echo', { message: 'x' });
      const group = oneGroup(marks.idle);
      // Gone without a word (no DELETE): only the sweep ends the session.
      await client.close();
      await waitFor(groupGone(marks.idle, group), 10_000, 'the idle sweep to end the session');
      assert.equal(idle.gateway.sessionCount, 0);
    } finally {
      await idle.close();
      idleEnv.cleanup();
    }
  });
});
