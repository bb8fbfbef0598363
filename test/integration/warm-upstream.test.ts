/**
 * These servers run outside the OS sandbox: this file follows the process groups of a plain
 * spawn. A sandboxed server's processes are in a pid namespace of their own that ends with its
 * sandbox host (bubblewrap starts it in a new session): sandbox.test.ts follows those.
 */
const UNSANDBOXED = { mode: 'off' } as const;

/**
 * One warm upstream per stdio server: a real daemon process, real server-everything processes,
 * real SDK clients through the `connect` shim and over HTTP. Processes are found by a mark in
 * their environment (test/helpers/processes.ts); each server process leads its own process
 * group, so a group is one upstream. Which upstream answered a session is proven by the
 * processes: the warm one is the only group left before the session opens, and it is the one
 * that ends when the session ends.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import fs from 'node:fs';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { mcpEndpointPath } from '../../main/core/config/server-name.ts';
import type { ServerEntry } from '../../main/core/control/contract.ts';
import { controlApi } from '../helpers/control.ts';
import { startKeyring } from '../helpers/keyring.ts';
import { keyringMissing } from '../helpers/requirements.ts';
import { runProcess } from '../helpers/run.ts';
import {
  describeProcesses,
  groupsOf,
  killMarked,
  MARK_VAR,
  markedProcesses,
  newMark,
} from '../helpers/processes.ts';
import { callTool, httpClient, resultText, shimClient } from '../helpers/sdk-client.ts';
import {
  CLI,
  EVERYTHING_JS,
  NODE,
  makeWardenEnv,
  startDaemonProcess,
  waitFor,
  type DaemonProcess,
  type WardenEnv,
} from '../helpers/warden-env.ts';

const HANDED_OVER = /initialize answered by the warm upstream/g;

function server(mark: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    command: NODE,
    args: [EVERYTHING_JS, 'stdio'],
    env: { [MARK_VAR]: mark },
    sandbox: UNSANDBOXED,
    ...extra,
  };
}

/** The warm upstream of a server as status tells it; undefined while the server is not configured. */
async function warmOf(daemon: DaemonProcess, name: string): Promise<ServerEntry['warm']> {
  const status = (await controlApi(daemon, 'GET', 'status')) as { servers: ServerEntry[] };
  const entry = status.servers.find((s) => s.name === name);
  if (entry) assert.ok(entry.warm, `status names the warm upstream of ${name}`);
  return entry?.warm;
}

/** Waits until the server's warm upstream is ready and is the only marked group; returns it. */
async function readyWarmGroup(daemon: DaemonProcess, name: string, mark: string): Promise<number> {
  return waitFor(
    async () => {
      if ((await warmOf(daemon, name))?.state !== 'ready') return undefined;
      const groups = [...groupsOf(markedProcesses(mark))];
      return groups.length === 1 ? groups[0] : undefined;
    },
    30_000,
    `the warm upstream of ${name} to be ready and alone`,
  );
}

const groupGone = (mark: string, group: number) => () => !markedProcesses(mark).some((p) => p.pgid === group);

function handovers(daemon: DaemonProcess): number {
  return daemon.output().match(HANDED_OVER)?.length ?? 0;
}

/** An SDK client over HTTP that declares client capabilities (another handshake). */
async function httpClientWith(
  daemon: DaemonProcess,
  name: string,
  capabilities: Record<string, unknown>,
): Promise<Client> {
  const client = new Client({ name: 'other-client', version: '9.9.9' }, { capabilities });
  const transport = new StreamableHTTPClientTransport(new URL(mcpEndpointPath(name), daemon.url), {
    requestInit: { headers: { authorization: `Bearer ${daemon.token}` } },
  });
  await client.connect(transport);
  return client;
}

async function closeHttp(client: Client): Promise<void> {
  await (client.transport as StreamableHTTPClientTransport).terminateSession();
  await client.close();
}

describe('a warm upstream per stdio server', () => {
  let w: WardenEnv;
  let daemon: DaemonProcess | undefined;
  let marks: string[];

  beforeEach(() => {
    w = makeWardenEnv();
    marks = [];
  });

  afterEach(async () => {
    await daemon?.stop();
    daemon = undefined;
    for (const mark of marks) killMarked(mark);
    w.cleanup();
  });

  const mark = (): string => {
    const m = newMark();
    marks.push(m);
    return m;
  };

  test(
    'the next session, through the shim and over HTTP, is answered by the warm upstream',
    { timeout: 120_000 },
    async () => {
      const m = mark();
      w.writeConfig({ mcpServers: { everything: server(m) } });
      daemon = await startDaemonProcess(w);
      assert.deepEqual(await warmOf(daemon, 'everything'), {
        state: 'off',
        reason: 'it has not run on this machine yet',
      });

      const first = await shimClient(w.env, 'everything');
      assert.equal(resultText(await callTool(first.client, 'echo', { message: 'one' })), 'Echo: one');
      const firstServer = first.client.getServerVersion();
      const firstCapabilities = first.client.getServerCapabilities();
      await first.client.close();
      assert.equal(handovers(daemon), 0, 'the first session spawned its own');

      // The first session's upstream is gone; what is left is the warm one, waiting.
      const warm = await readyWarmGroup(daemon, 'everything', m);
      const second = await shimClient(w.env, 'everything');
      assert.equal(handovers(daemon), 1, 'the second session was handed the warm upstream');
      assert.match(
        daemon.output(),
        new RegExp(`"childPid":${warm}\\b[^\\n]*initialize answered by the warm upstream`),
      );
      assert.deepEqual(second.client.getServerVersion(), firstServer, 'the same initialize result');
      assert.deepEqual(second.client.getServerCapabilities(), firstCapabilities);
      assert.equal(resultText(await callTool(second.client, 'echo', { message: 'two' })), 'Echo: two');
      const tools = await second.client.listTools();
      assert.ok(
        tools.tools.some((t) => t.name === 'echo'),
        'tools/list goes through as before',
      );
      assert.ok(!groupGone(m, warm)(), 'the warm upstream serves the second session');
      await second.client.close();
      await waitFor(groupGone(m, warm), 15_000, 'the handed-over upstream to end with its session');

      // Its replacement was spawned in the background; an HTTP client gets it.
      const replacement = await readyWarmGroup(daemon, 'everything', m);
      assert.notEqual(replacement, warm);
      const third = await httpClient(daemon.url, daemon.token, 'everything');
      assert.equal(handovers(daemon), 2);
      assert.equal(resultText(await callTool(third, 'echo', { message: 'three' })), 'Echo: three');
      assert.ok(!groupGone(m, replacement)());
      await closeHttp(third);
      await waitFor(groupGone(m, replacement), 15_000, 'the replacement to end with the third session');
    },
  );

  test(
    'a session opened while the replacement is still to come waits for it instead of spawning a second server',
    { timeout: 120_000 },
    async () => {
      const m = mark();
      w.writeConfig({ mcpServers: { everything: server(m) } });
      daemon = await startDaemonProcess(w);
      await (await shimClient(w.env, 'everything')).client.close();
      const warm = await readyWarmGroup(daemon, 'everything', m);
      const second = await shimClient(w.env, 'everything');
      assert.equal(handovers(daemon), 1);
      // The replacement waits out its delay after the handover: this session makes it start now.
      assert.equal((await warmOf(daemon, 'everything'))?.state, 'waiting');
      const third = await shimClient(w.env, 'everything');
      assert.equal(handovers(daemon), 2, 'the third session was handed the replacement');
      assert.equal(resultText(await callTool(third.client, 'echo', { message: 'three' })), 'Echo: three');
      assert.equal(resultText(await callTool(second.client, 'echo', { message: 'two' })), 'Echo: two');
      const groups = groupsOf(markedProcesses(m));
      assert.ok(groups.has(warm), 'the second session keeps the first warm upstream');
      // The second and third sessions' servers, and at most the next replacement: no own spawn.
      assert.ok(groups.size <= 3, describeProcesses(markedProcesses(m)));
      await third.client.close();
      await second.client.close();
    },
  );

  test(
    'a session with other capabilities spawns its own; the warm one is re-made for the new handshake',
    { timeout: 120_000 },
    async () => {
      const m = mark();
      w.writeConfig({ mcpServers: { everything: server(m) } });
      daemon = await startDaemonProcess(w);
      const first = await httpClient(daemon.url, daemon.token, 'everything');
      await closeHttp(first);
      const warm = await readyWarmGroup(daemon, 'everything', m);

      const other = await httpClientWith(daemon, 'everything', {
        sampling: {},
        roots: { listChanged: true },
      });
      assert.equal(handovers(daemon), 0, 'not handed the warm upstream');
      assert.match(
        daemon.output(),
        /warm upstream not used: the session sent another protocolVersion or other capabilities/,
      );
      // The warm one was initialized for the other handshake: it ends, while this session goes on.
      await waitFor(groupGone(m, warm), 15_000, 'the warm upstream of the old handshake to end');
      assert.equal(resultText(await callTool(other, 'echo', { message: 'own' })), 'Echo: own');
      // The next warm one is initialized with this session's params: the same client again is handed it.
      await waitFor(
        async () => (await warmOf(daemon!, 'everything'))?.state === 'ready',
        30_000,
        'a new warm one',
      );
      await closeHttp(other);
      const again = await httpClientWith(daemon, 'everything', {
        sampling: {},
        roots: { listChanged: true },
      });
      assert.equal(handovers(daemon), 1);
      assert.equal(resultText(await callTool(again, 'echo', { message: 'warm' })), 'Echo: warm');
      await closeHttp(again);
    },
  );

  test(
    'a config reload that changes or removes the server, pause and daemon stop end the warm upstream',
    { timeout: 120_000 },
    async () => {
      const m = mark();
      const config = (extra: Record<string, unknown>): Record<string, unknown> => ({
        mcpServers: { everything: server(m, extra) },
      });
      w.writeConfig(config({}));
      daemon = await startDaemonProcess(w);
      await closeHttp(await httpClient(daemon.url, daemon.token, 'everything'));
      const before = await readyWarmGroup(daemon, 'everything', m);

      // Changed: the old one ends; the server (same command) has run, so a new one starts.
      w.writeConfig(config({ env: { [MARK_VAR]: m, EXTRA: '1' } }));
      await waitFor(groupGone(m, before), 15_000, 'the warm upstream of the old config to end');
      const changed = await readyWarmGroup(daemon, 'everything', m);
      const environ = fs.readFileSync(`/proc/${changed}/environ`, 'latin1').split('\0');
      assert.ok(environ.includes('EXTRA=1'), 'the new warm upstream runs the new config');

      // Paused: no server runs, no warm one either, until resumed.
      await controlApi(daemon, 'POST', 'pause');
      assert.deepEqual(markedProcesses(m), [], 'pause ended the warm upstream');
      assert.deepEqual(await warmOf(daemon, 'everything'), { state: 'off', reason: 'MCP Warden is paused' });
      await controlApi(daemon, 'POST', 'resume');
      const resumed = await readyWarmGroup(daemon, 'everything', m);

      // Removed: it ends, and nothing is left.
      w.writeConfig({ mcpServers: {} });
      await waitFor(groupGone(m, resumed), 15_000, 'the warm upstream of the removed server to end');
      assert.deepEqual(markedProcesses(m), []);

      // Stop: back in the config, warm again; SIGTERM ends it before the daemon exits.
      w.writeConfig(config({}));
      await readyWarmGroup(daemon, 'everything', m);
      const exited = once(daemon.child, 'exit');
      daemon.child.kill('SIGTERM');
      assert.deepEqual(await exited, [0, null]);
      daemon = undefined;
      assert.deepEqual(
        markedProcesses(m),
        [],
        `no warm upstream outlives the daemon:\n${describeProcesses(markedProcesses(m))}`,
      );
    },
  );

  test(
    'a warm upstream that dies while waiting is replaced; the next session gets the replacement',
    { timeout: 120_000 },
    async () => {
      const m = mark();
      w.writeConfig({ mcpServers: { everything: server(m) } });
      daemon = await startDaemonProcess(w);
      await closeHttp(await httpClient(daemon.url, daemon.token, 'everything'));
      const warm = await readyWarmGroup(daemon, 'everything', m);
      process.kill(-warm, 'SIGKILL');
      await waitFor(
        () => /warm upstream failed: the server process was killed by SIGKILL/.test(daemon!.output()),
        15_000,
        'the log line',
      );
      const replacement = await readyWarmGroup(daemon, 'everything', m);
      assert.notEqual(replacement, warm);
      const session = await httpClient(daemon.url, daemon.token, 'everything');
      assert.equal(handovers(daemon), 1);
      assert.equal(resultText(await callTool(session, 'echo', { message: 'after' })), 'Echo: after');
      await closeHttp(session);
      await waitFor(groupGone(m, replacement), 15_000, 'the replacement to end with its session');
    },
  );

  test('daemon.warmUpstreams and mcpServers.<name>.warm turn it off', { timeout: 120_000 }, async () => {
    const off = mark();
    const on = mark();
    w.writeConfig({ mcpServers: { cold: server(off, { warm: false }), kept: server(on) } });
    daemon = await startDaemonProcess(w);
    for (const name of ['cold', 'kept']) await closeHttp(await httpClient(daemon.url, daemon.token, name));
    await readyWarmGroup(daemon, 'kept', on);
    await waitFor(() => markedProcesses(off).length === 0, 15_000, 'the session of "cold" to end');
    assert.deepEqual(await warmOf(daemon, 'cold'), {
      state: 'off',
      reason: 'turned off by "warm": false in its config',
    });
    const check = await runProcess(CLI, ['config', 'check'], { env: w.env });
    assert.equal(check.code, 0, check.stderr);
    assert.match(check.stdout, /^ {2}cold \(stdio\): .* {2}\[warm off\]$/m);
    assert.doesNotMatch(check.stdout, /kept .*warm off/);

    w.writeConfig({
      daemon: { warmUpstreams: false },
      mcpServers: { cold: server(off, { warm: false }), kept: server(on) },
    });
    await waitFor(() => markedProcesses(on).length === 0, 15_000, 'the warm upstream of "kept" to end');
    assert.deepEqual(await warmOf(daemon, 'kept'), {
      state: 'off',
      reason: 'turned off by daemon.warmUpstreams',
    });
    const checked = await runProcess(CLI, ['config', 'check'], { env: w.env });
    assert.match(checked.stdout, /^warm upstreams: off for every server \(daemon.warmUpstreams\)$/m);
    assert.match(checked.stdout, /^ {2}kept \(stdio\): .* {2}\[warm off\]$/m);
    const session = await shimClient(w.env, 'kept');
    assert.equal(resultText(await callTool(session.client, 'echo', { message: 'cold' })), 'Echo: cold');
    await session.client.close();
    await waitFor(() => markedProcesses(on).length === 0, 15_000, 'no process left after the session');
    assert.equal(handovers(daemon), 0);
  });

  test('a restart from the dashboard replaces the warm upstream too', { timeout: 120_000 }, async () => {
    const m = mark();
    w.writeConfig({ mcpServers: { everything: server(m) } });
    daemon = await startDaemonProcess(w);
    await closeHttp(await httpClient(daemon.url, daemon.token, 'everything'));
    const warm = await readyWarmGroup(daemon, 'everything', m);
    await controlApi(daemon, 'POST', 'servers/everything/restart');
    assert.ok(groupGone(m, warm)(), 'the old warm upstream ended before the restart answered');
    assert.notEqual(await readyWarmGroup(daemon, 'everything', m), warm);
  });

  test(
    'a daemon killed with SIGKILL leaves its warm upstream recorded; the next start ends it',
    { timeout: 120_000 },
    async () => {
      const m = mark();
      // A wrapper with more to do after its server: it outlives the server, holding the group.
      w.writeConfig({
        mcpServers: {
          wrapped: {
            command: 'sh',
            args: ['-c', '"$0" "$1" stdio; exec sleep 600', NODE, EVERYTHING_JS],
            env: { [MARK_VAR]: m },
            sandbox: UNSANDBOXED,
          },
        },
      });
      daemon = await startDaemonProcess(w);
      await closeHttp(await httpClient(daemon.url, daemon.token, 'wrapped'));
      const warm = await readyWarmGroup(daemon, 'wrapped', m);
      daemon.child.kill('SIGKILL');
      await daemon.stop();
      daemon = await startDaemonProcess(w);
      await waitFor(groupGone(m, warm), 15_000, 'the next daemon to end the warm upstream left running');
      await waitFor(
        () =>
          new RegExp(
            `"pgid":${warm}\\b[^\\n]*ended an upstream process group a previous Warden left running`,
          ).test(daemon!.output()),
        5_000,
        'the log line',
      );
      // The server has run here: the new daemon keeps its own warm one.
      assert.notEqual(await readyWarmGroup(daemon, 'wrapped', m), warm);
    },
  );

  test(
    'a secret changed while a warm upstream waits: it is replaced by one with the new value',
    { skip: keyringMissing(), timeout: 120_000 },
    async () => {
      const keyring = startKeyring(w.home, w.env);
      Object.assign(w.env, keyring.env);
      try {
        const m = mark();
        const setSecret = async (value: string): Promise<void> => {
          const set = await runProcess(CLI, ['secrets', 'set', 'warm-token'], { env: w.env, input: value });
          assert.equal(set.code, 0, set.stderr);
        };
        const tokenOf = (pid: number): string | undefined =>
          fs
            .readFileSync(`/proc/${pid}/environ`, 'latin1')
            .split('\0')
            .find((v) => v.startsWith('API_TOKEN='));
        await setSecret('first-value');
        w.writeConfig({
          mcpServers: {
            everything: server(m, { env: { [MARK_VAR]: m, API_TOKEN: '${secret:warm-token}' } }),
          },
        });
        daemon = await startDaemonProcess(w);
        await closeHttp(await httpClient(daemon.url, daemon.token, 'everything'));
        const warm = await readyWarmGroup(daemon, 'everything', m);
        assert.equal(tokenOf(warm), 'API_TOKEN=first-value');
        await setSecret('second-value'); // through the running daemon
        await waitFor(groupGone(m, warm), 15_000, 'the warm upstream holding the old value to end');
        const replaced = await readyWarmGroup(daemon, 'everything', m);
        assert.equal(tokenOf(replaced), 'API_TOKEN=second-value');
      } finally {
        await daemon?.stop();
        daemon = undefined;
        keyring.stop();
      }
    },
  );
  test(
    'a server that keeps crashing as a warm upstream is not spawned in a loop; a good session brings it back',
    { timeout: 120_000 },
    async () => {
      const m = mark();
      const flag = `${w.home}/crash-now`;
      w.writeConfig({
        mcpServers: {
          flaky: {
            command: 'sh',
            args: ['-c', 'if [ -e "$2" ]; then exit 3; fi; exec "$0" "$1" stdio', NODE, EVERYTHING_JS, flag],
            env: { [MARK_VAR]: m },
            sandbox: UNSANDBOXED,
          },
        },
      });
      daemon = await startDaemonProcess(w);
      await closeHttp(await httpClient(daemon.url, daemon.token, 'flaky'));
      const warm = await readyWarmGroup(daemon, 'flaky', m);
      fs.writeFileSync(flag, '');
      process.kill(-warm, 'SIGKILL');
      const off = await waitFor(
        async () => {
          const state = await warmOf(daemon!, 'flaky');
          return state?.state === 'off' ? state : undefined;
        },
        60_000,
        'the pool to stop replacing it',
      );
      assert.match(
        off.reason ?? '',
        /failed 5 times in a row \(last: .+\); none is kept until a session of the server succeeds/,
      );
      // The killed one and three replacements, each after its backoff; the fifth failure stops it.
      const replaced = daemon.output().match(/warm upstream failed: .*; replacing it after backoff/g) ?? [];
      assert.equal(replaced.length, 4);
      assert.deepEqual(markedProcesses(m), []);

      fs.rmSync(flag);
      const session = await httpClient(daemon.url, daemon.token, 'flaky');
      assert.equal(resultText(await callTool(session, 'echo', { message: 'back' })), 'Echo: back');
      await closeHttp(session);
      await readyWarmGroup(daemon, 'flaky', m);
    },
  );
});
