/**
 * The names users' clients really have: a Claude Desktop config with servers named "My Notes",
 * "notes — ü", "a/b", "__proto__" and "github" (with a plaintext token) is protected with the
 * real CLI and a real keychain. Every server then works through Warden with the MCP Inspector
 * CLI running exactly the entry written into the client config; the audit log has each call
 * under the exact name; restore brings the client file back byte for byte, and Warden's
 * config still validates.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { connectArgs } from '../../main/core/config/server-name.ts';
import { secretNameFor } from '../../main/core/clients/protect.ts';
import { startKeyring, type TestKeyring } from '../helpers/keyring.ts';
import { keyringMissing } from '../helpers/requirements.ts';
import {
  CLI,
  EVERYTHING_JS,
  INSPECTOR_CLI,
  NODE,
  freePort,
  makeWardenEnv,
  type WardenEnv,
} from '../helpers/warden-env.ts';
import { runProcess, type RunResult } from '../helpers/run.ts';

const TOKEN = 'ghp_' + 'Z9y8X7w6V5u4T3s2R1q0P9o8N7m6L5k4J3i2';
const NAMES = ['My Notes', 'notes — ü', 'a/b', '__proto__', 'github'];
const skip = keyringMissing();

const run = (env: NodeJS.ProcessEnv, file: string, args: string[]): Promise<RunResult> =>
  runProcess(file, args, { env });

describe('clients protect with the server names clients really have', { skip }, () => {
  let w: WardenEnv;
  let keyring: TestKeyring;
  let claudeFile: string;
  let original: string;

  before(async () => {
    w = makeWardenEnv();
    keyring = startKeyring(w.home, w.env);
    Object.assign(w.env, keyring.env);
    claudeFile = path.join(w.env.XDG_CONFIG_HOME!, 'Claude', 'claude_desktop_config.json');
    fs.mkdirSync(path.dirname(claudeFile), { recursive: true });
    const server = (extra = '') =>
      `{ "command": ${JSON.stringify(NODE)}, "args": [${JSON.stringify(EVERYTHING_JS)}, "stdio"]${extra} }`;
    // Written by hand, as a person would: the names are JSON keys like any other.
    original = `{
  "mcpServers": {
    "My Notes": ${server()},
    "notes — ü": ${server()},
    "a/b": ${server()},
    "__proto__": ${server()},
    "github": ${server(`, "env": { "GITHUB_PERSONAL_ACCESS_TOKEN": "${TOKEN}" }`)}
  },
  "globalShortcut": ""
}
`;
    fs.writeFileSync(claudeFile, original);
    // The user's Warden config: echo may run on every server ("*" covers "a/b"), and github's
    // get-env shows what environment the server got.
    w.writeConfig({
      daemon: { port: await freePort() },
      mcpServers: {},
      policy: {
        rules: [
          { server: '*', tool: 'echo', action: 'allow' },
          { server: 'github', tool: 'get-env', action: 'allow' },
        ],
      },
    });
  });

  after(() => {
    const pid = w.state()?.pid;
    if (pid) process.kill(pid, 'SIGTERM');
    keyring?.stop();
    w?.cleanup();
  });

  test('protect --yes moves every server into Warden and rewrites each entry to the shim', async () => {
    const applied = await run(w.env, CLI, ['clients', 'protect', 'claude-desktop', '--yes']);
    assert.equal(applied.code, 0, applied.stderr);
    for (const name of NAMES) assert.ok(applied.stdout.includes(`  ${name}: Warden will run exactly:`), name);
    const client = JSON.parse(fs.readFileSync(claudeFile, 'utf8')) as {
      mcpServers: Record<string, unknown>;
    };
    assert.deepEqual(Object.keys(client.mcpServers), NAMES);
    for (const name of NAMES)
      assert.deepEqual(client.mcpServers[name], { command: CLI, args: connectArgs(name) }, name);
    const warden = JSON.parse(fs.readFileSync(w.paths.configFile, 'utf8')) as {
      mcpServers: Record<string, { env?: Record<string, string> }>;
    };
    assert.deepEqual(Object.keys(warden.mcpServers), NAMES);
    const secret = secretNameFor('github', 'GITHUB_PERSONAL_ACCESS_TOKEN');
    assert.deepEqual(warden.mcpServers.github!.env, { GITHUB_PERSONAL_ACCESS_TOKEN: `\${secret:${secret}}` });
    assert.ok(!fs.readFileSync(claudeFile, 'utf8').includes(TOKEN));
    assert.ok(!fs.readFileSync(w.paths.configFile, 'utf8').includes(TOKEN));
  });

  /** Runs the Inspector CLI on exactly the command and args the client config now holds. */
  async function inspect(name: string, tool: string, args: Record<string, unknown>) {
    const client = JSON.parse(fs.readFileSync(claudeFile, 'utf8')) as {
      mcpServers: Record<string, { command: string; args: string[] }>;
    };
    assert.ok(Object.hasOwn(client.mcpServers, name), name);
    const entry = client.mcpServers[name]!;
    // The Inspector passes on only a minimal environment: the test user's dirs and bus go with -e.
    const pass = [
      'HOME',
      'XDG_CONFIG_HOME',
      'XDG_DATA_HOME',
      'XDG_STATE_HOME',
      'DBUS_SESSION_BUS_ADDRESS',
    ].flatMap((k) => ['-e', `${k}=${w.env[k]}`]);
    const inspectorHome = path.join(w.home, 'inspector');
    fs.mkdirSync(inspectorHome, { recursive: true });
    const result = await run({ ...w.env, HOME: inspectorHome }, NODE, [
      INSPECTOR_CLI,
      '--cli',
      ...pass,
      entry.command,
      ...entry.args,
      '--method',
      'tools/call',
      '--tool-name',
      tool,
      '--tool-args-json',
      JSON.stringify(args),
    ]);
    assert.equal(result.code, 0, `${name}: ${result.stderr}`);
    return JSON.parse(result.stdout) as { content: { type: string; text: string }[]; isError?: boolean };
  }

  test('every server works through Warden from the rewritten client entry (MCP Inspector CLI)', async () => {
    for (const name of NAMES) {
      const result = await inspect(name, 'echo', { message: `hello ${name}` });
      assert.ok(!result.isError, JSON.stringify(result));
      assert.equal(result.content[0]?.text, `Echo: hello ${name}`);
    }
    const env = await inspect('github', 'get-env', {});
    // github got its exact token from the keychain: Warden masked that value on the way back.
    assert.match(
      env.content[0]?.text ?? '',
      /\[REDACTED:injected:[^\]]+\]/,
      'github got its token from the keychain',
    );
    assert.ok(!env.content[0]?.text.includes(TOKEN), 'the token reached the client');
  });

  test('the audit log has each call under the exact server name', async () => {
    const exported = await run(w.env, CLI, ['audit', 'export', '--format', 'jsonl']);
    assert.equal(exported.code, 0, exported.stderr);
    const rows = exported.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { server: string; tool: string; decision: string; outcome: string });
    for (const name of NAMES) {
      const row = rows.find((r) => r.server === name && r.tool === 'echo');
      assert.ok(row, `no audit row for ${name}`);
      assert.equal(row.decision, 'allow');
      assert.equal(row.outcome, 'ok');
    }
  });

  test('restore brings the client file back byte for byte, and Warden’s config still validates', async () => {
    const restored = await run(w.env, CLI, ['clients', 'restore', 'claude-desktop']);
    assert.equal(restored.code, 0, restored.stderr);
    assert.match(restored.stdout, /is back to its original, byte for byte/);
    assert.equal(fs.readFileSync(claudeFile, 'utf8'), original);
    const check = await run(w.env, CLI, ['config', 'check']);
    assert.equal(check.code, 0, check.stderr);
    assert.match(check.stdout, /is valid: 5 server\(s\)/);
    for (const name of NAMES) assert.ok(check.stdout.includes(`  ${name} (stdio): `), name);
  });
});
