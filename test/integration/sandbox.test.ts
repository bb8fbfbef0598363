/**
 * The OS sandbox with real parts: a real daemon runs server-filesystem and a hostile fixture
 * server (test/fixtures/hostile-server.ts) under @anthropic-ai/sandbox-runtime (bubblewrap), an
 * SDK client calls them over HTTP, held connections are answered with the real CLI, violations
 * are read back from the real audit database.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { describe, test } from 'node:test';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { AuditReader } from '../../main/core/audit/audit-reader.ts';
import { useDaemonFixture } from '../helpers/daemon-fixture.ts';
import { callTool, httpClient, resultText } from '../helpers/sdk-client.ts';
import { cli, pending } from '../helpers/approvals-cli.ts';
import { sandboxToolsMissing } from '../helpers/requirements.ts';
import { filesystemServer, NODE, ROOT, waitFor } from '../helpers/warden-env.ts';
import { describeProcesses, killMarked, MARK_VAR, markedProcesses, newMark } from '../helpers/processes.ts';

const HOSTILE = path.join(ROOT, 'test/fixtures/hostile-server.ts');
const skip = sandboxToolsMissing();

/** Audit rows of sandbox violations (tool "sandbox:<kind>") of `server`. */
function violations(
  auditDb: string,
  server: string,
): { tool: string; sessionId: string; error: string | null }[] {
  const reader = AuditReader.open(auditDb);
  try {
    return reader
      .query({ server, text: 'sandbox:' }, 500)
      .records.filter((r) => r.tool.startsWith('sandbox:'))
      .map((r) => ({ tool: r.tool, sessionId: r.sessionId, error: r.error }));
  } finally {
    reader.close();
  }
}

describe('OS sandbox: files and network of stdio servers', { skip }, () => {
  let root: string;
  let fsClient: Client;
  let hostile: Client;
  const seen: string[] = [];
  let connections = 0;
  let target: http.Server;
  let targetUrl: string;
  const mark = newMark();

  const fx = useDaemonFixture({
    prepare: async (w, defer) => {
      root = path.join(w.home, 'root');
      fs.mkdirSync(root, { recursive: true });
      fs.mkdirSync(path.join(w.home, '.ssh'), { mode: 0o700 });
      fs.writeFileSync(path.join(w.home, '.ssh', 'id_ed25519'), 'PRIVATE KEY\n', { mode: 0o600 });
      fs.writeFileSync(path.join(w.home, '.bashrc'), '# untouched\n');
      target = http.createServer((req, res) => {
        let body = '';
        req.on('data', (d: Buffer) => (body += d.toString()));
        req.on('end', () => {
          seen.push(`${req.method} ${req.url} ${body}`);
          res.end('got it');
        });
      });
      target.on('connection', () => connections++);
      await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', resolve));
      targetUrl = `http://127.0.0.1:${(target.address() as { port: number }).port}/exfil`;
      defer(() => new Promise((resolve) => target.close(resolve)));
      defer(() => killMarked(mark));
    },
    config: () => ({
      daemon: { warmUpstreams: false },
      mcpServers: {
        filesystem: filesystemServer(root),
        hostile: { command: NODE, args: [HOSTILE, root], env: { [MARK_VAR]: mark } },
      },
      policy: {
        approvalTimeoutSeconds: 30,
        rules: [
          { server: 'filesystem', tool: '*', action: 'allow' },
          { server: 'hostile', tool: '*', action: 'allow' },
        ],
      },
    }),
    afterStart: async (started, defer) => {
      fsClient = await httpClient(started.url, started.token, 'filesystem', 'sandbox-test');
      hostile = await httpClient(started.url, started.token, 'hostile', 'sandbox-test');
      defer(() => fsClient.close());
      defer(() => hostile.close());
    },
  });

  test('server-filesystem works in its root and cannot write outside it, even by a hostile tool', async () => {
    const inside = path.join(root, 'note.txt');
    const ok = await callTool(fsClient, 'write_file', { path: inside, content: 'kept' });
    assert.equal(ok.isError ?? false, false, resultText(ok));
    assert.equal(fs.readFileSync(inside, 'utf8'), 'kept');
    assert.equal(
      resultText(await callTool(hostile, 'write-file', { path: path.join(root, 'h.txt'), text: 'in' })),
      `wrote ${path.join(root, 'h.txt')}`,
    );

    const outside = `/tmp/x-sandbox-${process.pid}-${Date.now()}`;
    const bashrc = path.join(fx.w.home, '.bashrc');
    assert.match(
      resultText(await callTool(hostile, 'write-file', { path: outside, text: 'pwned' })),
      /^error: (EROFS|EACCES|EPERM)$/,
    );
    assert.match(
      resultText(await callTool(hostile, 'write-file', { path: bashrc, text: 'pwned' })),
      /^error: (EROFS|EACCES|EPERM)$/,
    );
    assert.equal(fs.existsSync(outside), false, 'nothing was written to /tmp');
    assert.equal(fs.readFileSync(bashrc, 'utf8'), '# untouched\n');

    const rows = await waitFor(
      () => {
        const found = violations(fx.w.paths.auditDb, 'hostile').filter((r) => r.tool === 'sandbox:write');
        return (
          found.some((r) => r.error?.includes(outside)) &&
          found.some((r) => r.error?.includes(bashrc)) &&
          found
        );
      },
      15_000,
      'the write violations in the audit log',
    );
    for (const row of rows) assert.notEqual(row.sessionId, 'warm', 'linked to the session that made it');

    // And counted in the metrics.
    const scrape = await fetch(new URL('/metrics', fx.url), {
      headers: { authorization: `Bearer ${fx.token}` },
    });
    const counted = /^mcp_warden_sandbox_violations_total\{server="hostile",kind="write"\} (\d+)$/m.exec(
      await scrape.text(),
    );
    assert.ok(Number(counted?.[1]) >= 2, `write violations counted in /metrics: ${counted?.[0]}`);
  });

  test('a hostile server cannot read ~/.ssh/id_ed25519, at start-up or in a tool', async () => {
    const key = path.join(fx.w.home, '.ssh', 'id_ed25519');
    assert.match(resultText(await callTool(hostile, 'startup-read', {})), /^error: (ENOENT|EACCES)$/);
    assert.match(resultText(await callTool(hostile, 'read-file', { path: key })), /^error: (ENOENT|EACCES)$/);
    // The files of the root stay readable.
    assert.equal(
      resultText(await callTool(hostile, 'read-file', { path: path.join(root, 'note.txt') })),
      'read: kept',
    );
  });

  test('a connection to a host no rule decides is held: denied, no byte arrives; allowed once, one request', async () => {
    const denied = callTool(hostile, 'post', { url: targetUrl, body: 'secret-1' }, 60_000);
    const asked = await waitFor(
      async () => (await pending(fx.w)).find((r) => r.server === 'hostile' && r.tool === 'sandbox:connect'),
      20_000,
      'the held connection',
    );
    const port = Number(new URL(targetUrl).port);
    assert.deepEqual(asked.arguments, { host: '127.0.0.1', port });
    assert.match(asked.rule.text, new RegExp(`^hostile wants to connect to 127\\.0\\.0\\.1:${port}`));
    assert.equal(connections, 0, 'nothing reached the server while the question is open');
    await cli(fx.w, 'approvals', 'deny', asked.id);
    assert.match(resultText(await denied), /^(status 403|error)/);
    assert.equal(connections, 0, 'no connection reached the test server');
    assert.deepEqual(seen, []);
    await waitFor(
      () => violations(fx.w.paths.auditDb, 'hostile').some((r) => r.tool === 'sandbox:network'),
      15_000,
      'the network violation in the audit log',
    );

    const allowed = callTool(hostile, 'post', { url: targetUrl, body: 'fine-2' }, 60_000);
    const again = await waitFor(
      async () => (await pending(fx.w)).find((r) => r.server === 'hostile' && r.tool === 'sandbox:connect'),
      20_000,
      'the second held connection',
    );
    await cli(fx.w, 'approvals', 'approve', again.id);
    assert.equal(resultText(await allowed), 'status 200: got it');
    assert.deepEqual(seen, ['POST /exfil fine-2']);
  });

  test('when the session ends (HTTP DELETE), the sandbox host and every process in the sandbox end with it', async () => {
    const running = markedProcesses(mark);
    assert.ok(
      running.some((p) => p.args.includes('bwrap')),
      describeProcesses(running),
    );
    assert.ok(running.some((p) => p.args.includes('hostile-server.ts') && !p.args.includes('bwrap')));
    await (hostile.transport as StreamableHTTPClientTransport).terminateSession();
    await waitFor(() => markedProcesses(mark).length === 0, 15_000, 'no process of the hostile server').catch(
      (error: Error) => assert.fail(`${error.message}:\n${describeProcesses(markedProcesses(mark))}`),
    );
  });
});
