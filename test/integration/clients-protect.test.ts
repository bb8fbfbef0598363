/**
 * Protecting real client configs: fixture Claude Desktop and Cursor configs holding plaintext
 * tokens and keys Warden does not own are protected (preview, then apply) with the real CLI and
 * a real keychain; the MCP Inspector CLI then reaches the server through the shim the client
 * config now launches; restore puts the original files back byte for byte.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startKeyring, type TestKeyring } from '../helpers/keyring.ts';
import { keyringMissing } from '../helpers/requirements.ts';
import { secretsAtRest } from '../helpers/secret-files.ts';
import {
  CLI,
  EVERYTHING_JS,
  INSPECTOR_CLI,
  NODE,
  freePort,
  makeWardenEnv,
  waitFor,
  type WardenEnv,
} from '../helpers/warden-env.ts';
import { runProcess, type RunResult } from '../helpers/run.ts';

const GITHUB_TOKEN = 'ghp_' + 'A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8';
const API_KEY = 'key-9c1f0d6e8b7a4c3d2e1f';
const skip = keyringMissing();

const run = (env: NodeJS.ProcessEnv, file: string, args: string[]): Promise<RunResult> =>
  runProcess(file, args, { env });

describe('clients: protect and restore', { skip }, () => {
  let w: WardenEnv;
  let keyring: TestKeyring;
  let claudeFile: string;
  let cursorFile: string;
  let claudeOriginal: string;
  let cursorOriginal: string;

  before(async () => {
    w = makeWardenEnv();
    keyring = startKeyring(w.home, w.env);
    Object.assign(w.env, keyring.env);
    claudeFile = path.join(w.env.XDG_CONFIG_HOME!, 'Claude', 'claude_desktop_config.json');
    cursorFile = path.join(w.home, '.cursor', 'mcp.json');
    fs.mkdirSync(path.dirname(claudeFile), { recursive: true });
    fs.mkdirSync(path.dirname(cursorFile), { recursive: true });
    // Hand-written files: their own indentation, key order and keys Warden does not own.
    claudeOriginal = `{
    "globalShortcut": "Ctrl+Space",
    "mcpServers": {
        "everything": {
            "command": ${JSON.stringify(NODE)},
            "args": [${JSON.stringify(EVERYTHING_JS)}, "stdio"],
            "env": { "GITHUB_TOKEN": "${GITHUB_TOKEN}", "LOG_LEVEL": "debug" }
        }
    },
    "preferences": { "theme": "dark" }
}
`;
    cursorOriginal = `{"mcpServers":{"tools":{"command":${JSON.stringify(NODE)},"args":[${JSON.stringify(EVERYTHING_JS)},"stdio"],"env":{"API_KEY":"${API_KEY}"}}},"x-cursor-extra":[1,2,3]}`;
    fs.writeFileSync(claudeFile, claudeOriginal);
    fs.writeFileSync(cursorFile, cursorOriginal);
    // The user's own Warden config, with a free port for the daemon the shim will start.
    w.writeConfig({ daemon: { port: await freePort() }, mcpServers: {} });
  });

  after(() => {
    const pid = w.state()?.pid;
    if (pid) process.kill(pid, 'SIGTERM');
    keyring?.stop();
    w?.cleanup();
  });

  test('clients list finds both configs and their plaintext secrets, never printing a value', async () => {
    const listed = await run(w.env, CLI, ['clients', 'list']);
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(listed.stdout, /Claude Desktop \[claude-desktop\]/);
    assert.match(
      listed.stdout,
      /everything: NOT protected; plaintext secrets: env\.GITHUB_TOKEN \(@secretlint\/secretlint-rule-github\)/,
    );
    assert.match(listed.stdout, /tools: NOT protected; plaintext secrets: env\.API_KEY \(key name\)/);
    assert.ok(!listed.stdout.includes(GITHUB_TOKEN) && !listed.stdout.includes(API_KEY));
  });

  test('protect shows a preview first and changes nothing without confirmation', async () => {
    const preview = await run(w.env, CLI, ['clients', 'protect', 'claude-desktop']);
    assert.equal(preview.code, 1);
    assert.match(
      preview.stdout,
      /everything: Warden will run exactly: .*server-everything\/dist\/index\.js stdio/,
    );
    assert.match(preview.stdout, /env\.GITHUB_TOKEN -> OS keychain as "everything-github_token"/);
    assert.match(preview.stdout, /\+\s+"command": ".*bin\/mcp-warden"/);
    assert.ok(!preview.stdout.includes(GITHUB_TOKEN), 'the preview shows the token');
    assert.match(preview.stderr, /run again with --yes/);
    assert.equal(fs.readFileSync(claudeFile, 'utf8'), claudeOriginal);
  });

  test('protect refuses a client Warden could not run, and changes nothing: no file, no keychain entry, no backup', async () => {
    // VS Code takes numbers in env; Warden's config (the daemon's schema) takes strings only.
    const vscodeFile = path.join(w.env.XDG_CONFIG_HOME!, 'Code', 'User', 'mcp.json');
    fs.mkdirSync(path.dirname(vscodeFile), { recursive: true });
    const vscodeOriginal = `{\n  "servers": {\n    "search": { "command": "node", "env": { "API_KEY": "${API_KEY}" } },\n    "web": { "command": "node", "env": { "PORT": 8080 } }\n  }\n}\n`;
    fs.writeFileSync(vscodeFile, vscodeOriginal);
    const wardenBefore = fs.readFileSync(w.paths.configFile, 'utf8');
    const refused = await run(w.env, CLI, ['clients', 'protect', 'vscode', '--yes']);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /Warden's config would not be valid afterwards/);
    assert.match(refused.stderr, /mcpServers\.web\.env\.PORT/);
    assert.match(refused.stderr, /nothing was changed/);
    assert.equal(fs.readFileSync(vscodeFile, 'utf8'), vscodeOriginal);
    assert.equal(fs.readFileSync(w.paths.configFile, 'utf8'), wardenBefore);
    assert.equal((await run(w.env, CLI, ['secrets', 'list'])).stdout.trim(), 'no secrets');
    assert.ok(!fs.existsSync(path.join(w.paths.dataDir, 'backups')), 'no backup was written');
    // Only the servers Warden can run, then.
    const some = await run(w.env, CLI, ['clients', 'protect', 'vscode', '--server', 'search', '--yes']);
    assert.equal(some.code, 0, some.stderr);
    assert.equal((await run(w.env, CLI, ['clients', 'restore', 'vscode'])).code, 0);
    assert.equal(fs.readFileSync(vscodeFile, 'utf8'), vscodeOriginal);
    fs.rmSync(vscodeFile);
  });

  test('protect --yes: the client launches the shim, the token is in the keychain, other keys are untouched', async () => {
    const applied = await run(w.env, CLI, ['clients', 'protect', 'claude-desktop', '--yes']);
    assert.equal(applied.code, 0, applied.stderr);
    const client = JSON.parse(fs.readFileSync(claudeFile, 'utf8')) as {
      globalShortcut: string;
      preferences: unknown;
      mcpServers: Record<string, { command: string; args: string[] }>;
    };
    assert.deepEqual(client.mcpServers.everything, { command: CLI, args: ['connect', 'everything'] });
    assert.equal(client.globalShortcut, 'Ctrl+Space');
    assert.deepEqual(client.preferences, { theme: 'dark' });
    assert.match(
      fs.readFileSync(claudeFile, 'utf8'),
      /^\{\n {4}"globalShortcut"/,
      'the file keeps its own indentation',
    );
    const config = JSON.parse(fs.readFileSync(w.paths.configFile, 'utf8')) as {
      mcpServers: Record<string, { env: Record<string, string> }>;
    };
    assert.deepEqual(config.mcpServers.everything!.env, {
      GITHUB_TOKEN: '${secret:everything-github_token}',
      LOG_LEVEL: 'debug',
    });
    assert.equal(
      (await run(w.env, CLI, ['secrets', 'get', 'everything-github_token', '--reveal'])).stdout.trim(),
      GITHUB_TOKEN,
    );
    assert.equal((await run(w.env, CLI, ['clients', 'protect', 'cursor', '--yes'])).code, 0);
    const cursor = JSON.parse(fs.readFileSync(cursorFile, 'utf8')) as {
      'x-cursor-extra': number[];
      mcpServers: Record<string, unknown>;
    };
    assert.deepEqual(cursor.mcpServers.tools, { command: CLI, args: ['connect', 'tools'] });
    assert.deepEqual(cursor['x-cursor-extra'], [1, 2, 3]);
    // The secrets left the file system: not in the configs, nor in the backups kept for restore.
    assert.deepEqual(secretsAtRest(w.home, [GITHUB_TOKEN, API_KEY]), []);
  });

  test('the protected server works through Warden via the MCP Inspector CLI, with its token from the keychain', async () => {
    const client = JSON.parse(fs.readFileSync(claudeFile, 'utf8')) as {
      mcpServers: Record<string, { command: string; args: string[] }>;
    };
    const entry = client.mcpServers.everything!;
    // What Claude Desktop would spawn; the Inspector passes on only a minimal environment, so the
    // test user's directories and keychain bus go with -e.
    const pass = [
      'HOME',
      'XDG_CONFIG_HOME',
      'XDG_DATA_HOME',
      'XDG_STATE_HOME',
      'DBUS_SESSION_BUS_ADDRESS',
    ].flatMap((k) => ['-e', `${k}=${w.env[k]}`]);
    const inspectorHome = path.join(w.home, 'inspector');
    fs.mkdirSync(inspectorHome, { recursive: true });
    const call = run({ ...w.env, HOME: inspectorHome }, NODE, [
      INSPECTOR_CLI,
      '--cli',
      ...pass,
      entry.command,
      ...entry.args,
      '--method',
      'tools/call',
      '--tool-name',
      'get-env',
    ]);
    // A server a person approved is not trusted by policy: even its read-only tools ask first.
    const held = await waitFor(
      async () => {
        const listed = await run(w.env, CLI, ['approvals', 'list', '--json']);
        return (
          listed.code === 0 &&
          (JSON.parse(listed.stdout) as { id: string; tool: string }[]).find((r) => r.tool === 'get-env')
        );
      },
      30_000,
      'the call to be held for approval',
    );
    assert.equal((await run(w.env, CLI, ['approvals', 'approve', held.id])).code, 0);
    const result = await call;
    assert.equal(result.code, 0, result.stderr);
    // The server received the exact token from the keychain: Warden found that value in its
    // environment and masked it on the way back (results masking), so the client never sees it.
    assert.match(
      result.stdout,
      /GITHUB_TOKEN\W+\[REDACTED:injected:[^\]]+\]/,
      'the server received the token',
    );
    assert.ok(!result.stdout.includes(GITHUB_TOKEN), 'the token reached the client');
    // The daemon the shim started has run the server and recorded the call: still nowhere on disk
    // (daemon.log, audit.db and state.db with their -wal and -shm files included).
    assert.deepEqual(secretsAtRest(w.home, [GITHUB_TOKEN, API_KEY]), []);
  });

  test('restore puts both original files back, byte for byte', async () => {
    assert.equal((await run(w.env, CLI, ['clients', 'restore', 'claude-desktop'])).code, 0);
    assert.equal((await run(w.env, CLI, ['clients', 'restore', 'cursor'])).code, 0);
    assert.equal(fs.readFileSync(claudeFile, 'utf8'), claudeOriginal);
    assert.equal(fs.readFileSync(cursorFile, 'utf8'), cursorOriginal);
    // Back in the files the person asked for, and in no other.
    assert.deepEqual(secretsAtRest(w.home, [GITHUB_TOKEN, API_KEY], [claudeFile, cursorFile]), []);
  });
});
