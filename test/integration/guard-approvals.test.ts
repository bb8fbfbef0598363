/**
 * The guard with real parts: server-filesystem through a real daemon, an SDK client over HTTP,
 * and approvals answered with the real CLI (`mcp-warden approvals …`), as a person would in a
 * terminal. The file system is checked at the end: exactly the approved writes happened.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { CallToolResultSchema, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { AuditReader } from '../../main/core/audit/audit-reader.ts';
import type { ApprovalRequest } from '../../main/core/approvals/broker.ts';
import { useDaemonFixture } from '../helpers/daemon-fixture.ts';
import { callTool, httpClient, resultText } from '../helpers/sdk-client.ts';
import { CLI, filesystemServer, waitFor } from '../helpers/warden-env.ts';
import { cli, heldCall, pending } from '../helpers/approvals-cli.ts';

function write(
  client: Client,
  file: string,
  content: string,
  onprogress?: (p: { message?: string }) => void,
): Promise<CallToolResult> {
  return client.request(
    { method: 'tools/call', params: { name: 'write_file', arguments: { path: file, content } } },
    CallToolResultSchema,
    {
      timeout: 60_000,
      ...(onprogress ? { onprogress } : {}),
    },
  );
}

describe('guard: policy, approvals through the CLI, remembered decisions', () => {
  let root: string;
  let client: Client;

  const fx = useDaemonFixture({
    prepare: (w) => {
      root = path.join(w.home, 'root');
      fs.mkdirSync(path.join(root, 'sub'), { recursive: true });
      fs.writeFileSync(path.join(root, 'notes.txt'), 'read me\n');
    },
    config: () => ({ mcpServers: { filesystem: filesystemServer(root) } }),
    afterStart: async (started, defer) => {
      client = await httpClient(started.url, started.token, 'filesystem', 'guard-test-client');
      defer(() => client.close());
    },
  });

  test('read_text_file (readOnlyHint, trusted server) is allowed without asking', async () => {
    const result = await callTool(client, 'read_text_file', { path: path.join(root, 'notes.txt') });
    assert.equal(resultText(result), 'read me\n');
    assert.deepEqual(await pending(fx.w), []);
  });

  test('write_file is held, shown in full, approved once through the CLI, and executed', async () => {
    const file = path.join(root, 'a.txt');
    const progress: string[] = [];
    const call = write(client, file, 'approved content', (p) => progress.push(p.message ?? ''));
    const request = await heldCall(fx.w, file);
    assert.equal(request.tool, 'write_file');
    assert.equal(request.server, 'filesystem');
    assert.equal(request.client.name, 'guard-test-client');
    assert.deepEqual(request.arguments, { path: file, content: 'approved content' });
    assert.deepEqual(request.choices, ['deny', 'allow-once', 'allow-session', 'allow-always']);
    assert.match(request.rule.source, /built-in defaults/);
    assert.equal(fs.existsSync(file), false, 'nothing is written before the approval');
    await cli(fx.w, 'approvals', 'approve', request.id);
    const result = await call;
    assert.equal(result.isError ?? false, false, resultText(result));
    assert.equal(fs.readFileSync(file, 'utf8'), 'approved content');
    assert.match(progress[0] ?? '', /Waiting for a person to approve this call in MCP Warden/);
  });

  test('another write_file with different arguments asks again; "deny" is an isError result with the reason', async () => {
    const file = path.join(root, 'b.txt');
    const call = write(client, file, 'should not land');
    const request = await heldCall(fx.w, file);
    await cli(fx.w, 'approvals', 'deny', request.id, '--reason', 'not today');
    const result = await call;
    assert.equal(result.isError, true);
    assert.match(resultText(result), /MCP Warden refused this call: a person denied it via cli: not today/);
    assert.equal(fs.existsSync(file), false);
  });

  test('"always allow write_file under <dir>" allows matching paths only, and survives a restart', async () => {
    const sub = path.join(root, 'sub');
    const first = path.join(sub, 'c.txt');
    const call = write(client, first, 'c');
    const request = await heldCall(fx.w, first);
    await cli(fx.w, 'approvals', 'approve', request.id, '--remember', 'always', '--under', sub);
    assert.equal((await call).isError ?? false, false);

    const second = path.join(sub, 'd.txt');
    const silent = await write(client, second, 'd');
    assert.equal(
      silent.isError ?? false,
      false,
      'a path under the remembered directory is allowed without asking',
    );
    assert.equal(fs.readFileSync(second, 'utf8'), 'd');

    const outside = path.join(root, 'e.txt');
    const asked = write(client, outside, 'e');
    const again = await heldCall(fx.w, outside);
    await cli(fx.w, 'approvals', 'deny', again.id);
    assert.equal((await asked).isError, true);

    const traversal = path.join(sub, '..', 'f.txt');
    const tricked = write(client, traversal, 'f');
    const third = await waitFor(
      async () => (await pending(fx.w)).find((r) => r.arguments?.path === traversal),
      15_000,
      'the ../ path to ask',
    );
    await cli(fx.w, 'approvals', 'deny', third.id);
    assert.equal((await tricked).isError, true);

    const rules = JSON.parse(await cli(fx.w, 'rules', 'list', '--json')) as {
      id: number;
      tool: string;
      conditions: unknown;
    }[];
    assert.equal(rules.length, 1);
    assert.deepEqual(rules[0]!.conditions, [{ pointer: '/path', glob: `${sub}/**` }]);

    await client.close();
    await fx.restart();
    client = await httpClient(fx.daemon.url, fx.daemon.token, 'filesystem', 'guard-test-client');
    const afterRestart = await write(client, path.join(sub, 'g.txt'), 'g');
    assert.equal(afterRestart.isError ?? false, false, 'the remembered rule survived the restart');
  });

  test('revoking the remembered rule makes writes ask again', async () => {
    const [rule] = JSON.parse(await cli(fx.w, 'rules', 'list', '--json')) as { id: number }[];
    await cli(fx.w, 'rules', 'revoke', String(rule!.id));
    const file = path.join(root, 'sub', 'h.txt');
    const call = write(client, file, 'h');
    const request = await heldCall(fx.w, file);
    await cli(fx.w, 'approvals', 'deny', request.id);
    assert.equal((await call).isError, true);
  });

  test('the file system shows exactly the approved writes, and the audit log every decision', () => {
    const files = fs.readdirSync(root, { recursive: true }).map(String).sort();
    assert.deepEqual(
      files,
      [
        'a.txt',
        'notes.txt',
        'sub',
        path.join('sub', 'c.txt'),
        path.join('sub', 'd.txt'),
        path.join('sub', 'g.txt'),
      ].sort(),
    );
    const reader = AuditReader.open(fx.w.paths.auditDb);
    try {
      const writes = reader.latest(1000).filter((r) => r.tool === 'write_file');
      const summary = writes.map((r) => [
        path.basename((r.arguments as { path: string }).path),
        r.decision,
        r.outcome,
      ]);
      assert.deepEqual(summary, [
        ['a.txt', 'allow', 'ok'],
        ['b.txt', 'deny', 'refused'],
        ['c.txt', 'allow', 'ok'],
        ['d.txt', 'allow', 'ok'],
        ['e.txt', 'deny', 'refused'],
        ['f.txt', 'deny', 'refused'],
        ['g.txt', 'allow', 'ok'],
        ['h.txt', 'deny', 'refused'],
      ]);
      assert.match(writes[1]!.reason ?? '', /denied it via cli: not today/);
      assert.match(writes[3]!.reason ?? '', /remembered approval #\d+/);
    } finally {
      reader.close();
    }
  });
});

describe('guard: an unanswered approval times out closed', () => {
  const fx = useDaemonFixture({
    prepare: (w) => fs.mkdirSync(path.join(w.home, 'root')),
    config: (w) => ({
      policy: { approvalTimeoutSeconds: 5 },
      mcpServers: { filesystem: filesystemServer(path.join(w.home, 'root')) },
    }),
  });

  test('no answer within the timeout: refused with the reason, nothing written', async () => {
    const client = await httpClient(fx.daemon.url, fx.daemon.token, 'filesystem');
    try {
      const file = path.join(fx.w.home, 'root', 'late.txt');
      const t0 = performance.now();
      const result = await write(client, file, 'late');
      assert.ok(performance.now() - t0 >= 4500);
      assert.equal(result.isError, true);
      assert.match(resultText(result), /no one approved it within 5 s/);
      assert.equal(fs.existsSync(file), false);
      assert.deepEqual(await pending(fx.w), []);
    } finally {
      await client.close();
    }
  });
});

describe('guard: approval channels and cancellation', () => {
  let root: string;

  const fx = useDaemonFixture({
    prepare: (w) => {
      root = path.join(w.home, 'root');
      fs.mkdirSync(root);
    },
    config: () => ({ mcpServers: { filesystem: filesystemServer(root) } }),
  });

  test('`approvals watch` shows each request in full as it arrives, and its resolution', async () => {
    const watch = spawn(CLI, ['approvals', 'watch', '--json'], {
      env: fx.w.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    watch.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const events = () =>
      out
        .split('\n')
        .filter(Boolean)
        .map(
          (l) =>
            JSON.parse(l) as {
              type: string;
              request?: ApprovalRequest;
              id?: string;
              outcome?: { kind: string };
            },
        );
    const client = await httpClient(fx.daemon.url, fx.daemon.token, 'filesystem');
    try {
      await waitFor(
        async () =>
          (
            await fetch(`${fx.daemon.url}/api/v1/status`, {
              headers: { authorization: `Bearer ${fx.daemon.token}` },
            })
          ).ok,
        5000,
        'status',
      );
      // The watcher subscribes asynchronously: keep the call held until it has seen it.
      const file = path.join(root, 'watched.txt');
      const call = write(client, file, 'seen by the watcher');
      const requested = await waitFor(
        () => events().find((e) => e.type === 'approval.requested' && e.request?.arguments?.path === file),
        15_000,
        'the watcher to see the request',
      );
      assert.deepEqual(requested.request!.arguments, { path: file, content: 'seen by the watcher' });
      await cli(fx.w, 'approvals', 'approve', requested.request!.id);
      assert.equal((await call).isError ?? false, false);
      const resolved = await waitFor(
        () => events().find((e) => e.type === 'approval.resolved' && e.id === requested.request!.id),
        10_000,
        'the resolution',
      );
      assert.equal(resolved.outcome?.kind, 'answered');
    } finally {
      watch.kill('SIGINT');
      await client.close();
    }
  });

  test('a held call the client cancels is withdrawn: the request disappears and the audit log says cancelled', async () => {
    const client = await httpClient(fx.daemon.url, fx.daemon.token, 'filesystem');
    try {
      const file = path.join(root, 'cancelled.txt');
      const abort = new AbortController();
      const call = client.request(
        { method: 'tools/call', params: { name: 'write_file', arguments: { path: file, content: 'never' } } },
        CallToolResultSchema,
        {
          signal: abort.signal,
        },
      );
      await heldCall(fx.w, file);
      abort.abort('changed my mind');
      await assert.rejects(call);
      await waitFor(async () => (await pending(fx.w)).length === 0, 10_000, 'the request to be withdrawn');
      const reader = AuditReader.open(fx.w.paths.auditDb);
      try {
        const row = await waitFor(
          () => reader.latest(100).find((r) => (r.arguments as { path?: string } | null)?.path === file),
          5000,
          'the audit row',
        );
        assert.equal(row.outcome, 'cancelled');
      } finally {
        reader.close();
      }
      assert.equal(fs.existsSync(file), false);
    } finally {
      await client.close();
    }
  });
});
