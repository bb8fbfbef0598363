/**
 * The daemon as a process and the connect shim as a client launches it: one daemon per user,
 * autostart by shims (also five at once), stdout hygiene, bad input on stdin, clean shutdown.
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { callTool, resultText, shimClient } from '../helpers/sdk-client.ts';
import {
  CLI,
  everythingServer,
  freePort,
  makeWardenEnv,
  startDaemonProcess,
  waitFor,
  type WardenEnv,
} from '../helpers/warden-env.ts';
import { isProcessAlive } from '../../main/core/state-file.ts';

const run = promisify(execFile);

describe('daemon lifecycle and the connect shim', () => {
  let w: WardenEnv;
  const pids: number[] = [];

  beforeEach(async () => {
    w = makeWardenEnv();
    w.writeConfig({ daemon: { port: await freePort() }, mcpServers: { everything: everythingServer() } });
  });

  afterEach(() => {
    const pid = w.state()?.pid;
    for (const p of [...pids, ...(pid ? [pid] : [])]) {
      try {
        process.kill(p, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    pids.length = 0;
    w.cleanup();
  });

  test('a second `serve` says where the first one runs and exits non-zero', async () => {
    const first = await startDaemonProcess(w);
    try {
      const second = await run(CLI, ['serve', '--port', String(await freePort())], { env: w.env }).then(
        () => assert.fail('the second daemon started'),
        (error: { code: number; stderr: string }) => error,
      );
      assert.equal(second.code, 1);
      assert.match(
        second.stderr,
        new RegExp(`already running \\(pid ${first.child.pid}\\) at http://127\\.0\\.0\\.1:${first.port}`),
      );
    } finally {
      assert.equal(await first.stop(), 0);
    }
  });

  test('SIGTERM shuts down cleanly: upstream children end, the state file forgets the pid', async () => {
    const daemon = await startDaemonProcess(w);
    const { client } = await shimClient(w.env, 'everything');
    await callTool(client, 'echo', { message: 'x' });
    const health = (await (
      await fetch(`${daemon.url}/healthz`, { headers: { authorization: `Bearer ${daemon.token}` } })
    ).json()) as { sessions: number };
    assert.equal(health.sessions, 1);
    const children = fs
      .readFileSync(`/proc/${daemon.child.pid}/task/${daemon.child.pid}/children`, 'utf8')
      .trim()
      .split(/\s+/)
      .filter(Boolean)
      .map(Number);
    assert.ok(children.length >= 1, 'the upstream server should be a child of the daemon');
    assert.equal(await daemon.stop(), 0);
    for (const child of children)
      assert.equal(isProcessAlive(child), false, `upstream child ${child} outlived the daemon`);
    assert.equal(w.state()?.pid, undefined);
    assert.ok(w.state()?.token, 'the install token is kept');
    await client.close().catch(() => {});
  });

  test('$MCP_WARDEN_LOG_LEVEL sets the level of `serve`; --log-level wins over it', async () => {
    const levels = async (env: NodeJS.ProcessEnv, args: string[] = []): Promise<Set<number>> => {
      const port = await freePort();
      const child = spawn(CLI, ['serve', '--port', String(port), ...args], {
        env,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let log = '';
      let banner = '';
      child.stderr.on('data', (d: Buffer) => (log += d.toString()));
      child.stdout.on('data', (d: Buffer) => (banner += d.toString()));
      // The banner's last line is printed as serve starts waiting for its stop signal.
      await waitFor(() => banner.includes('Press Ctrl-C to stop.'), 60_000, 'the daemon to start');
      // 'close', not 'exit': stderr may still hold lines when the process has exited.
      const exited = new Promise((resolve) => child.once('close', resolve));
      child.kill('SIGTERM');
      await exited;
      return new Set(
        log
          .split('\n')
          .filter((line) => line.startsWith('{'))
          .map((line) => (JSON.parse(line) as { level: number }).level),
      );
    };
    const warn = await levels({ ...w.env, MCP_WARDEN_LOG_LEVEL: 'warn' });
    assert.ok(![...warn].some((level) => level < 40), `only warn and above: ${[...warn].join(',')}`);
    const info = await levels({ ...w.env, MCP_WARDEN_LOG_LEVEL: 'warn' }, ['--log-level', 'info']);
    assert.ok(info.has(30), 'info lines with --log-level info');
  });

  test('a shim starts the daemon when none runs; stdout carries only MCP messages', async () => {
    const { client, stderr } = await shimClient(w.env, 'everything');
    try {
      assert.equal(
        resultText(await callTool(client, 'echo', { message: 'autostarted' })),
        'Echo: autostarted',
      );
      assert.match(stderr(), /started the Warden daemon \(pid \d+\)/);
      assert.ok(isProcessAlive(w.state()?.pid));
      // It runs with one malloc arena (daemon-launcher.ts, bin/mcp-warden).
      const environ = fs.readFileSync(`/proc/${w.state()!.pid}/environ`, 'utf8').split('\0');
      assert.ok(environ.includes('MALLOC_ARENA_MAX=1'), 'MALLOC_ARENA_MAX=1 in the daemon environment');
    } finally {
      await client.close();
    }
  });

  test('five shims starting at the same moment end up with exactly one daemon', async () => {
    const shims = await Promise.all(Array.from({ length: 5 }, () => shimClient(w.env, 'everything')));
    try {
      const answers = await Promise.all(
        shims.map(({ client }, i) => callTool(client, 'echo', { message: `shim ${i}` })),
      );
      answers.forEach((a, i) => assert.equal(resultText(a), `Echo: shim ${i}`));
      const pid = w.state()!.pid!;
      const daemons = async () =>
        (
          await run('pgrep', ['-f', `${CLI}.*serve --headless|main/cli/index\\.(ts|js).*serve --headless`])
        ).stdout
          .trim()
          .split('\n')
          .map(Number)
          .filter((p) => {
            try {
              return fs.readFileSync(`/proc/${p}/environ`, 'utf8').includes(w.home);
            } catch {
              return false; // ended meanwhile
            }
          });
      // Daemons that lost the race for the port see the winner and exit; on a loaded machine
      // that can take a moment after the calls above were answered.
      await waitFor(async () => (await daemons()).length === 1, 15_000, 'the other daemons to exit').catch(
        () => undefined,
      );
      assert.deepEqual(await daemons(), [pid], 'exactly one daemon for this user');
      const health = (await (
        await fetch(`http://127.0.0.1:${w.state()!.port}/healthz`, {
          headers: { authorization: `Bearer ${w.state()!.token}` },
        })
      ).json()) as { sessions: number };
      assert.equal(health.sessions, 5);
    } finally {
      await Promise.all(shims.map(({ client }) => client.close()));
    }
  });

  test('the shim answers malformed input with JSON-RPC errors, keeps going, and exits when stdin closes', async () => {
    await startDaemonProcess(w).then((d) => pids.push(d.child.pid!));
    const shim = spawn(CLI, ['connect', 'everything'], { env: w.env, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    shim.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const lines = () =>
      out
        .split('\n')
        .filter(Boolean)
        .map(
          (l) =>
            JSON.parse(l) as { id?: unknown; error?: { code: number; message: string }; result?: unknown },
        );
    shim.stdin.write('this is not json\n');
    shim.stdin.write('{"hello": "world", "id": 9}\n');
    shim.stdin.write(
      Buffer.concat([
        Buffer.from('{"jsonrpc":"2.0","id":1,"method":"ping","x":"'),
        Buffer.from([0xff]),
        Buffer.from('"}\n'),
      ]),
    );
    shim.stdin.write(
      JSON.stringify({
        jsonrpc: '2.0',
        id: 'init',
        method: 'initialize',
        params: {
          protocolVersion: '2025-11-25',
          capabilities: {},
          clientInfo: { name: 'raw-stdio', version: '0' },
        },
      }) + '\n',
    );
    await waitFor(() => lines().length >= 4, 15_000, 'four answers');
    const [notJson, notRpc, badUtf8, init] = lines();
    assert.equal(notJson!.error!.code, -32700);
    assert.equal(notRpc!.error!.code, -32600);
    assert.equal(notRpc!.id, 9);
    assert.match(badUtf8!.error!.message, /not valid UTF-8/);
    assert.equal(
      (init!.result as { serverInfo: { name: string } }).serverInfo.name,
      'mcp-servers/everything',
    );
    const exited = new Promise<number | null>((r) => shim.once('exit', r));
    shim.stdin.end();
    assert.equal(await exited, 0);
  });

  test('an unknown server name is a clear error from the shim', async () => {
    await startDaemonProcess(w).then((d) => pids.push(d.child.pid!));
    await assert.rejects(shimClient(w.env, 'nosuch'), /Unknown server "nosuch"/);
  });

  test('a config file that is not JSON: `serve` names the file, starts nothing, exits 1', async () => {
    fs.writeFileSync(w.paths.configFile, '{ "mcpServers": { ');
    const error = await run(CLI, ['serve'], { env: w.env }).then(
      () => assert.fail('serve started'),
      (e: { code: number; stderr: string }) => e,
    );
    assert.equal(error.code, 1);
    assert.match(error.stderr, new RegExp(`${w.paths.configFile.replace(/[.]/g, '\\.')} is not valid JSON`));
    assert.equal(w.state(), undefined);
  });

  test('an invalid config names the field and what was expected', async () => {
    w.writeConfig(
      { mcpServers: { everything: { command: 'npx', args: 'not-an-array' } } },
      { allowServers: false },
    );
    const error = await run(CLI, ['config', 'check'], { env: w.env }).then(
      () => assert.fail('accepted'),
      (e: { code: number; stderr: string }) => e,
    );
    assert.equal(error.code, 1);
    assert.match(error.stderr, /is not a valid MCP Warden config; nothing was started/);
    assert.match(error.stderr, /expected array.*\n.*mcpServers\.everything\.args/);
  });
});
