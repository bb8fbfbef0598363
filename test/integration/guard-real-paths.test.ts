/**
 * "Always allow under DIR" and path rules with real parts: server-filesystem through a real
 * daemon, an SDK client over HTTP, approvals answered with the real CLI, real symbolic links.
 * A path is under a directory when the OS puts it there, however it is spelled.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { CallToolResultSchema, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { AuditReader } from '../../main/core/audit/audit-reader.ts';
import { underDirectoryGlob } from '../../main/core/policy/path-rules.ts';
import { useDaemonFixture } from '../helpers/daemon-fixture.ts';
import { httpClient, resultText } from '../helpers/sdk-client.ts';
import { filesystemServer, type WardenEnv } from '../helpers/warden-env.ts';
import { cli, heldCall, pending } from '../helpers/approvals-cli.ts';

function write(client: Client, file: string, content: string): Promise<CallToolResult> {
  return client.request(
    { method: 'tools/call', params: { name: 'write_file', arguments: { path: file, content } } },
    CallToolResultSchema,
    { timeout: 60_000 },
  );
}

async function rules(w: WardenEnv): Promise<{ id: number; conditions: unknown }[]> {
  return JSON.parse(await cli(w, 'rules', 'list', '--json')) as { id: number; conditions: unknown }[];
}

describe('guard: paths are compared where the OS resolves them (symbolic links followed)', () => {
  let client: Client;
  let R: string;
  const at = (...segments: string[]): string => path.join(R, ...segments);

  const fx = useDaemonFixture({
    prepare: (w) => {
      R = path.join(fs.realpathSync(w.home), 'root');
      for (const dir of ['safe', 'other', 'secret']) fs.mkdirSync(at(dir), { recursive: true });
      fs.symlinkSync(at('other'), at('safe/link'));
      fs.symlinkSync('../secret', at('safe/secret-link'));
    },
    config: () => ({
      policy: {
        rules: [
          {
            server: 'filesystem',
            tool: 'write_file',
            action: 'deny',
            when: [{ pointer: '/path', glob: underDirectoryGlob(at('secret')) }],
            reason: 'the secret directory is off limits',
          },
        ],
      },
      mcpServers: { filesystem: filesystemServer(R) },
    }),
    afterStart: async (started, defer) => {
      client = await httpClient(started.url, started.token, 'filesystem', 'real-paths-client');
      defer(() => client.close());
    },
  });

  test('"always allow write_file under R/safe" is given through the CLI', async () => {
    const first = at('safe/first.txt');
    const call = write(client, first, 'first');
    const request = await heldCall(fx.w, first);
    await cli(fx.w, 'approvals', 'approve', request.id, '--remember', 'always', '--under', at('safe'));
    assert.equal((await call).isError ?? false, false);
    assert.deepEqual(
      (await rules(fx.w)).map((r) => r.conditions),
      [[{ pointer: '/path', glob: `${at('safe')}/**` }]],
    );
  });

  test('a write to R/safe/z.txt still runs without asking', async () => {
    const result = await write(client, at('safe/z.txt'), 'z');
    assert.equal(result.isError ?? false, false, resultText(result));
    assert.equal(fs.readFileSync(at('safe/z.txt'), 'utf8'), 'z');
  });

  test('a write to R/safe/link/y.txt (link -> R/other) is held; nothing lands in R/other until it is approved', async () => {
    const file = at('safe/link/y.txt');
    const call = write(client, file, 'through the link');
    const request = await heldCall(fx.w, file);
    assert.match(request.rule.source, /built-in defaults/, 'the remembered approval does not cover it');
    assert.deepEqual(fs.readdirSync(at('other')), [], 'nothing is written while it waits');
    await cli(fx.w, 'approvals', 'approve', request.id);
    const result = await call;
    assert.equal(result.isError ?? false, false, resultText(result));
    assert.equal(fs.readFileSync(at('other/y.txt'), 'utf8'), 'through the link');
  });

  test('a deny rule on R/secret denies a write through R/safe/secret-link, without asking', async () => {
    const result = await write(client, at('safe/secret-link/k.txt'), 'leak');
    assert.equal(result.isError, true);
    assert.match(resultText(result), /the secret directory is off limits/);
    assert.deepEqual(fs.readdirSync(at('secret')), []);
    assert.deepEqual(await pending(fx.w), []);
  });

  test('"--under R/safe/link" remembers the real directory R/other', async () => {
    const file = at('safe/link/w.txt');
    const call = write(client, file, 'w');
    const request = await heldCall(fx.w, file);
    await cli(fx.w, 'approvals', 'approve', request.id, '--remember', 'always', '--under', at('safe/link'));
    assert.equal((await call).isError ?? false, false);
    assert.deepEqual(
      (await rules(fx.w)).map((r) => r.conditions),
      [[{ pointer: '/path', glob: `${at('safe')}/**` }], [{ pointer: '/path', glob: `${at('other')}/**` }]],
    );
    const silent = await write(client, at('other/v.txt'), 'v');
    assert.equal(silent.isError ?? false, false, resultText(silent));
    assert.equal(fs.readFileSync(at('other/v.txt'), 'utf8'), 'v');
  });

  test('the file system shows exactly the approved writes, and the audit log each decision', () => {
    const list = (dir: string): string[] => fs.readdirSync(at(dir)).sort();
    assert.deepEqual(list('.'), ['other', 'safe', 'secret']);
    assert.deepEqual(list('safe'), ['first.txt', 'link', 'secret-link', 'z.txt']);
    assert.deepEqual(list('other'), ['v.txt', 'w.txt', 'y.txt']);
    assert.deepEqual(list('secret'), []);
    const reader = AuditReader.open(fx.w.paths.auditDb);
    try {
      const writes = reader.latest(100).filter((r) => r.tool === 'write_file');
      assert.deepEqual(
        writes.map((r) => [
          path.relative(R, (r.arguments as { path: string }).path),
          r.decision,
          r.reason ?? '',
        ]),
        [
          ['safe/first.txt', 'allow', 'always allowed by a person via cli'],
          ['safe/z.txt', 'allow', writes[1]!.reason],
          ['safe/link/y.txt', 'allow', 'allowed once by a person via cli'],
          ['safe/secret-link/k.txt', 'deny', writes[3]!.reason],
          ['safe/link/w.txt', 'allow', 'always allowed by a person via cli'],
          ['other/v.txt', 'allow', writes[5]!.reason],
        ],
      );
      assert.match(writes[1]!.reason ?? '', /remembered approval #1/);
      assert.match(writes[3]!.reason ?? '', /the secret directory is off limits/);
      assert.match(writes[5]!.reason ?? '', /remembered approval #2/);
    } finally {
      reader.close();
    }
  });
});
