/**
 * The main job end to end: real clients (the SDK Client, the MCP Inspector CLI through the
 * connect shim) -> the real daemon -> real reference servers (server-everything,
 * server-filesystem), with the audit log in a real SQLite file.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { promisify } from 'node:util';
import { AuditReader } from '../../main/core/audit/audit-reader.ts';
import { useDaemonFixture } from '../helpers/daemon-fixture.ts';
import { callTool, httpClient, resultText } from '../helpers/sdk-client.ts';
import { CLI, INSPECTOR_CLI, NODE, everythingServer, filesystemServer } from '../helpers/warden-env.ts';

const run = promisify(execFile);

describe('bridge: client -> Warden -> server', () => {
  let root: string;

  const fx = useDaemonFixture({
    prepare: (w) => {
      root = path.join(w.home, 'fs-root');
      fs.mkdirSync(root);
      fs.writeFileSync(path.join(root, 'hello.txt'), 'hello from the sandbox\n');
    },
    config: () => ({
      mcpServers: {
        everything: everythingServer(),
        filesystem: filesystemServer(root, { tools: { deny: ['write_file', 'edit_*', 'move_file'] } }),
      },
    }),
  });

  test('the SDK client lists tools and calls echo over the HTTP endpoint', async () => {
    const client = await httpClient(fx.daemon.url, fx.daemon.token, 'everything');
    try {
      assert.equal(client.getServerVersion()?.name, 'mcp-servers/everything');
      const { tools } = await client.listTools();
      assert.ok(tools.some((t) => t.name === 'echo'));
      const result = await callTool(client, 'echo', { message: 'hi over http' });
      assert.equal(resultText(result), 'Echo: hi over http');
    } finally {
      await client.close();
    }
  });

  test('the MCP Inspector CLI, spawning the connect shim, lists tools and calls echo', async () => {
    const inspectorHome = path.join(fx.w.home, 'inspector-home');
    fs.mkdirSync(inspectorHome);
    // The Inspector gives the server it spawns only a minimal environment (like Claude Desktop
    // does); -e passes this test user's directories so the shim finds this test's daemon.
    const shimEnv = ['HOME', 'XDG_CONFIG_HOME', 'XDG_DATA_HOME', 'XDG_STATE_HOME'].flatMap((k) => [
      '-e',
      `${k}=${fx.w.env[k]}`,
    ]);
    const inspect = (...args: string[]) =>
      run(NODE, [INSPECTOR_CLI, '--cli', ...shimEnv, CLI, 'connect', 'everything', ...args], {
        env: { ...fx.w.env, HOME: inspectorHome },
      });
    const list = await inspect('--method', 'tools/list');
    const names = (JSON.parse(list.stdout) as { tools: { name: string }[] }).tools.map((t) => t.name);
    assert.ok(names.includes('echo'), `tools: ${names.join(', ')}`);
    const call = await inspect(
      '--method',
      'tools/call',
      '--tool-name',
      'echo',
      '--tool-arg',
      'message=through the shim',
    );
    const result = JSON.parse(call.stdout) as { content: { text: string }[] };
    assert.equal(result.content[0]?.text, 'Echo: through the shim');
    // It went through this test's daemon: the call is in its audit log.
    const reader = AuditReader.open(fx.w.paths.auditDb);
    try {
      const row = reader
        .latest(100)
        .find((r) => (r.arguments as { message?: string } | null)?.message === 'through the shim');
      assert.equal(row?.outcome, 'ok');
      assert.ok(row?.clientName, 'the Inspector client name is recorded');
    } finally {
      reader.close();
    }
  });

  test('server-filesystem: reading inside its root works; a denied tool is neither listed nor callable', async () => {
    const client = await httpClient(fx.daemon.url, fx.daemon.token, 'filesystem');
    try {
      const names = (await client.listTools()).tools.map((t) => t.name);
      assert.ok(names.includes('read_text_file'), names.join(', '));
      for (const denied of ['write_file', 'edit_file', 'move_file'])
        assert.ok(!names.includes(denied), `${denied} is listed`);
      const read = await callTool(client, 'read_text_file', { path: path.join(root, 'hello.txt') });
      assert.equal(read.isError ?? false, false);
      assert.match(resultText(read), /hello from the sandbox/);

      const target = path.join(root, 'written.txt');
      const write = await callTool(client, 'write_file', { path: target, content: 'should never land' });
      assert.equal(write.isError, true);
      assert.match(
        resultText(write),
        /MCP Warden refused this call: tool "write_file" of server "filesystem" is on the deny list/,
      );
      assert.equal(fs.existsSync(target), false, 'a denied write reached the disk');
    } finally {
      await client.close();
    }
  });

  test('every tools/call has an audit row with its client, decision, outcome and duration', async () => {
    const client = await httpClient(fx.daemon.url, fx.daemon.token, 'everything', 'audit-check-client');
    try {
      await callTool(client, 'echo', { message: 'audited', api_key: 'sk-live-do-not-store' });
      await callTool(client, 'get-sum', { a: 2, b: 3 });
    } finally {
      await client.close();
    }
    const reader = AuditReader.open(fx.w.paths.auditDb);
    try {
      const rows = reader.latest(100).filter((r) => r.clientName === 'audit-check-client');
      assert.equal(rows.length, 2);
      const [echo, sum] = rows;
      assert.equal(echo!.server, 'everything');
      assert.equal(echo!.tool, 'echo');
      assert.equal(echo!.clientVersion, '1.2.3');
      assert.equal(echo!.decision, 'allow');
      assert.equal(echo!.outcome, 'ok');
      assert.deepEqual(echo!.arguments, { message: 'audited', api_key: '[redacted]' });
      assert.ok(echo!.sessionId.length > 0);
      assert.ok(typeof echo!.durationMs === 'number' && echo!.durationMs >= 0);
      assert.equal(sum!.tool, 'get-sum');
      assert.equal(sum!.outcome, 'ok');
      assert.ok(
        !fs.readFileSync(fx.w.paths.auditDb).includes('sk-live-do-not-store'),
        'a secret reached the audit file',
      );

      const refused = reader.latest(100).find((r) => r.tool === 'write_file');
      assert.equal(refused?.decision, 'deny');
      assert.equal(refused?.outcome, 'refused');
      assert.match(refused?.reason ?? '', /deny list/);
    } finally {
      reader.close();
    }
  });
});
