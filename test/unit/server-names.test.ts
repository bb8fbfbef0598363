/**
 * Server names as users' clients have them ("My Notes", "notes — ü", "a/b", "__proto__"…),
 * property-based: every name either works everywhere Warden puts it (config, endpoint path,
 * audit row, CLI arguments, shell hints, client configs, keychain names) or is refused with an
 * error naming the server, and nothing on disk changes for it.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import fc from 'fast-check';
import type { Command } from 'commander';
import { parseLaunch } from '../../main/app/launch-args.ts';
import { AuditLog } from '../../main/core/audit/audit-log.ts';
import { AuditReader } from '../../main/core/audit/audit-reader.ts';
import { buildProgram } from '../../main/cli/program.ts';
import { clientEntrySnippet } from '../../main/cli/actions/serve.ts';
import { clientLocations } from '../../main/core/clients/locations.ts';
import { applyProtect, planProtect, secretNameFor } from '../../main/core/clients/protect.ts';
import { restoreClient } from '../../main/core/clients/restore.ts';
import { openChangeContext } from '../../main/core/change/context.ts';
import { commandHint } from '../../main/core/command-hint.ts';
import { loadConfig, parseConfig } from '../../main/core/config/load.ts';
import {
  connectArgs,
  MAX_SERVER_NAME_LENGTH,
  mcpEndpointPath,
  secretSafeServerName,
  serverNameProblem,
} from '../../main/core/config/server-name.ts';
import { endpointServerName } from '../../main/core/request-target.ts';
import { isWardenError } from '../../main/core/errors.ts';
import { resolvePaths } from '../../main/core/paths.ts';
import { MemorySecretStore, SECRET_NAME_PATTERN } from '../../main/core/secrets/secret-store.ts';
import { anyName, TRICKY_NAMES } from '../helpers/names.ts';

const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'warden-names-'));
after(() => fs.rmSync(scratch, { recursive: true, force: true }));
let runs = 0;
const freshDir = (): string => fs.mkdtempSync(path.join(scratch, `${runs++}-`));

/** `mcpServers` with exactly this name (a computed key: "__proto__" stays an own property). */
const configText = (name: string): string =>
  JSON.stringify({ mcpServers: { [name]: { command: 'node', args: ['server.js'] } } }, null, 2);

/** Every file under `dir` with its bytes, to see that nothing changed. */
function snapshot(dir: string): Map<string, string> {
  const files = new Map<string, string>();
  for (const entry of fs.readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (entry.isFile()) {
      const file = path.join(entry.parentPath, entry.name);
      files.set(file, fs.readFileSync(file, 'base64'));
    }
  }
  return files;
}

test('a name is accepted exactly when serverNameProblem finds nothing, and then kept as written', () => {
  fc.assert(
    fc.property(anyName, (name) => {
      const problem = serverNameProblem(name);
      let config;
      try {
        config = parseConfig(configText(name), '/c/config.json');
      } catch (error) {
        assert.ok(isWardenError(error, 'CONFIG_INVALID'), String(error));
        assert.notEqual(problem, undefined, `refused although valid: ${error.message}`);
        // The error names the server (JSON-quoted, so any character is visible) and the file.
        assert.ok(error.message.includes(JSON.stringify(name)), error.message);
        assert.ok(error.message.includes('/c/config.json'));
        return;
      }
      assert.equal(problem, undefined, `accepted although "${problem}"`);
      assert.deepEqual([...config.servers.keys()], [name]);
      assert.equal(config.servers.get(name)?.name, name);
    }),
    { numRuns: 400, examples: TRICKY_NAMES.map((n) => [n]) },
  );
});

test('the documented limits: what is refused and what is not', () => {
  for (const name of ['My Notes', 'notes — ü', 'a/b', '__proto__', '-x', '...', '👩‍👩‍👧‍👦 family'])
    assert.equal(serverNameProblem(name), undefined, name);
  assert.equal(serverNameProblem(''), 'is empty');
  assert.match(serverNameProblem('..')!, /relative path step/);
  assert.match(serverNameProblem('tab\there')!, /control character \(U\+0009\)/);
  assert.match(serverNameProblem('sep\u2028')!, /line or paragraph separator \(U\+2028\)/);
  assert.match(serverNameProblem('rtl\u202eevil')!, /bidirectional formatting character \(U\+202E\)/);
  assert.match(serverNameProblem('lone \ud800')!, /unpaired surrogate \(U\+D800\)/);
  assert.equal(serverNameProblem('😀'.repeat(MAX_SERVER_NAME_LENGTH)), undefined, 'counted in characters');
  assert.match(serverNameProblem('x'.repeat(MAX_SERVER_NAME_LENGTH + 1))!, /129 characters long/);
});

test('loading a config leaves the disk as it was, whether the name is accepted or refused', () => {
  fc.assert(
    fc.property(anyName, (name) => {
      const dir = freshDir();
      const file = path.join(dir, 'config.json');
      fs.writeFileSync(file, configText(name));
      const before = snapshot(dir);
      const outcome = (() => {
        try {
          return loadConfig(resolvePaths(file), { createDefault: true }).servers.has(name);
        } catch (error) {
          assert.ok(isWardenError(error, 'CONFIG_INVALID'));
          return false;
        }
      })();
      assert.equal(outcome, serverNameProblem(name) === undefined);
      assert.deepEqual(snapshot(dir), before);
    }),
    { numRuns: 100 },
  );
});

const validName = anyName.filter((n) => serverNameProblem(n) === undefined);
/** The tricky names that are valid (fast-check does not filter `examples`). */
const VALID_TRICKY = TRICKY_NAMES.filter((n) => serverNameProblem(n) === undefined);

test('the endpoint path of every valid name leads back to exactly that name', () => {
  fc.assert(
    fc.property(validName, (name) => {
      // As a client builds it (the shim, the SDK's transport) and as the daemon parses it.
      const url = new URL(mcpEndpointPath(name), 'http://127.0.0.1:47113');
      assert.deepEqual(endpointServerName(url.pathname), { name });
      assert.deepEqual(endpointServerName(`${url.pathname}/`), { name });
    }),
    { numRuns: 400, examples: VALID_TRICKY.map((n) => [n]) },
  );
  assert.deepEqual(endpointServerName('/mcp/%E0%A4%A'), { malformed: true });
  assert.deepEqual(endpointServerName('/mcp/%zz'), { malformed: true });
  assert.equal(endpointServerName('/mcp/a/b'), undefined);
});

test('an audit row keeps the server name byte for byte and is found by it (real SQLite file)', () => {
  const file = path.join(freshDir(), 'audit.db');
  const log = AuditLog.open(file);
  const reader = AuditReader.open(file);
  after(() => {
    reader.close();
    log.close();
  });
  fc.assert(
    fc.property(validName, fc.string({ unit: 'grapheme', minLength: 1, maxLength: 20 }), (name, tool) => {
      const id = log.recordCall({
        startedAt: Date.now(),
        sessionId: 's',
        clientName: 'c',
        clientVersion: '1',
        server: name,
        tool,
        requestId: 1,
        arguments: { server: name },
        decision: 'allow',
        reason: 'test',
      });
      const { records } = reader.query({ server: name, tool }, 1000);
      assert.ok(records.some((r) => r.id === id));
      assert.ok(records.every((r) => r.server === name && r.tool === tool));
    }),
    { numRuns: 200, examples: VALID_TRICKY.map((n) => [n, 'echo']) },
  );
});

/** The real command line with one command's action replaced by `capture`. */
function programCapturing(pathToCommand: string[], capture: (...args: unknown[]) => void): Command {
  const program = buildProgram();
  let command: Command = program;
  for (const name of pathToCommand) command = command.commands.find((c) => c.name() === name)!;
  command.action(capture);
  return program;
}

test('the connect shim gets every valid name as its one argument (CLI and the desktop app)', async () => {
  await fc.assert(
    fc.asyncProperty(validName, async (name) => {
      let got: unknown;
      const program = programCapturing(['connect'], (server) => (got = server));
      await program.parseAsync(['node', 'mcp-warden', ...connectArgs(name)]);
      assert.equal(got, name);
      assert.deepEqual(parseLaunch(['/opt/MCP Warden/mcp-warden', ...connectArgs(name)], false), {
        mode: 'connect',
        server: name,
      });
    }),
    { numRuns: 200, examples: VALID_TRICKY.map((n) => [n]) },
  );
});

test("serve's banner prints client entries that paste into a client config as they are", () => {
  fc.assert(
    fc.property(validName, (name) => {
      const pasted = JSON.parse(`{ ${clientEntrySnippet(name, '/opt/My Warden/mcp-warden')} }`) as Record<
        string,
        unknown
      >;
      assert.deepEqual(Object.keys(pasted), [name]);
      assert.deepEqual(pasted[name], { command: '/opt/My Warden/mcp-warden', args: connectArgs(name) });
    }),
    { numRuns: 200, examples: VALID_TRICKY.map((n) => [n]) },
  );
});

/** How a POSIX shell splits a command line: `shell -c 'eval "set -- $1"'` with the line. */
function shellWords(shell: string, line: string): string[] {
  const result = spawnSync(shell, ['-c', 'eval "set -- $1"; printf "%s\\0" "$@"', 'sh', line], {
    encoding: 'utf8',
  });
  assert.equal(result.status, 0, result.stderr);
  return result.stdout.split('\0').slice(0, -1);
}

test('a suggested command pastes into sh and bash as exactly the words meant, and the CLI reads the name back', async () => {
  await fc.assert(
    fc.asyncProperty(validName, validName, async (server, tool) => {
      const hint = commandHint(['mcp-warden', 'pins', 'approve', '--kind', 'prompt'], [server, tool]);
      const dash = server.startsWith('-') || tool.startsWith('-') ? ['--'] : [];
      const expected = ['mcp-warden', 'pins', 'approve', '--kind', 'prompt', ...dash, server, tool];
      assert.deepEqual(shellWords('sh', hint), expected);
      assert.deepEqual(shellWords('bash', hint), expected);
      let got: unknown[] = [];
      const program = programCapturing(['pins', 'approve'], (...args) => (got = args.slice(0, 3)));
      await program.parseAsync(['node', ...expected]);
      assert.deepEqual(got, [server, tool, { kind: 'prompt' }]);
    }),
    { numRuns: 60, examples: VALID_TRICKY.map((n) => [n, n]) },
  );
});

test('protect with any name: refused naming the server with both files untouched, or done, working and restorable', async () => {
  const launcher = '/opt/warden/bin/mcp-warden';
  await fc.assert(
    fc.asyncProperty(anyName, async (name) => {
      const dir = freshDir();
      const location = {
        ...clientLocations({ platform: 'linux', home: dir, cwd: dir, env: {} }).find(
          (l) => l.id === 'claude-desktop',
        )!,
        file: path.join(dir, 'claude_desktop_config.json'),
      };
      const warden = path.join(dir, 'config.json');
      fs.writeFileSync(warden, '{\n  "mcpServers": {}\n}\n');
      const client = `{\n  "mcpServers": {\n    ${JSON.stringify(name)}: { "command": "node", "args": ["s.js"], "env": { "API_KEY": "sekret-${runs}" } },\n    "other": { "command": "other" }\n  }\n}\n`;
      fs.writeFileSync(location.file, client);
      const before = snapshot(dir);
      const problem = serverNameProblem(name);
      if (problem !== undefined) {
        await assert.rejects(planProtect(location, warden, launcher), (error: unknown) => {
          assert.ok(isWardenError(error, 'CONFIG_INVALID'));
          assert.ok(error.message.includes(JSON.stringify(name)), error.message);
          return true;
        });
        assert.deepEqual(snapshot(dir), before);
        return;
      }
      const store = new MemorySecretStore();
      const { ctx, close } = openChangeContext(
        { dataDir: path.join(dir, 'data'), stateDb: path.join(dir, 'data', 'state.db') },
        store,
      );
      const backupDir = path.join(dir, 'data', 'backups');
      const plan = await planProtect(location, warden, launcher);
      await applyProtect(plan, { wardenConfigFile: warden, ctx, backupDir });
      const config = parseConfig(fs.readFileSync(warden, 'utf8'), warden);
      assert.deepEqual([...config.servers.keys()], [name, 'other']);
      const server = config.servers.get(name)!;
      assert.ok(server.kind === 'stdio');
      const secret = /^\$\{secret:(.+)\}$/.exec(server.env.API_KEY!)?.[1];
      assert.equal(secret, secretNameFor(name, 'API_KEY'));
      assert.equal(await store.get(secret), `sekret-${runs}`);
      const rewritten = JSON.parse(fs.readFileSync(location.file, 'utf8')) as {
        mcpServers: Record<string, unknown>;
      };
      assert.ok(Object.hasOwn(rewritten.mcpServers, name));
      assert.deepEqual(rewritten.mcpServers[name], { command: launcher, args: connectArgs(name) });
      await restoreClient(location, { ctx, backupDir });
      close();
      assert.equal(fs.readFileSync(location.file, 'utf8'), client);
    }),
    { numRuns: 80, examples: TRICKY_NAMES.map((n) => [n]) },
  );
});

const keyName = fc.oneof(
  fc.constantFrom('API_KEY', 'GITHUB_TOKEN', 'token', 'Token', 'X-Api-Key', 'x-api-key', 'A.B', 'a-b'),
  fc.string({ unit: fc.constantFrom('A', 'a', '_', '-', '.', ' ', 'B'), minLength: 1, maxLength: 6 }),
);
const serverForSecrets = fc.oneof(
  validName,
  fc.string({ unit: fc.constantFrom('a', 'A', '-', '_', '.', ' ', '/', 'ü'), minLength: 1, maxLength: 6 }),
);

test('moved secrets: a valid secret name for every server and key, never the same for two pairs', () => {
  fc.assert(
    fc.property(
      fc.uniqueArray(fc.tuple(serverForSecrets, keyName), {
        minLength: 2,
        maxLength: 60,
        selector: (pair) => JSON.stringify(pair),
      }),
      (pairs) => {
        const names = new Map<string, [string, string]>();
        for (const [server, key] of pairs) {
          const name = secretNameFor(server, key);
          assert.match(name, SECRET_NAME_PATTERN, `${JSON.stringify([server, key])} -> ${name}`);
          const other = names.get(name);
          assert.ok(!other, `${JSON.stringify(other)} and ${JSON.stringify([server, key])} both get ${name}`);
          names.set(name, [server, key]);
        }
      },
    ),
    { numRuns: 300 },
  );
  // The usual case keeps its readable name; collisions of the old scheme are now apart.
  assert.equal(secretNameFor('github', 'GITHUB_TOKEN'), 'github-github_token');
  assert.match(secretNameFor('My Notes', 'API_KEY'), /^my-notes-api_key\.[0-9a-f]{12}$/);
  const apart = (a: [string, string], b: [string, string]) =>
    assert.notEqual(secretNameFor(a[0], a[1]), secretNameFor(b[0], b[1]));
  apart(['a/b', 'KEY'], ['a b', 'KEY']);
  apart(['GitHub', 'TOKEN'], ['github', 'TOKEN']);
  apart(['a-b', 'C'], ['a', 'B-C']);
  apart(['s', 'TOKEN'], ['s', 'token']);
});

test('OAuth keychain entries: a valid secret name per server name, unchanged for plain names', () => {
  fc.assert(
    fc.property(fc.uniqueArray(validName, { minLength: 2, maxLength: 40 }), (names) => {
      const keys = names.map((n) => `oauth.${secretSafeServerName(n)}.verifier`);
      for (const key of keys) assert.match(key, SECRET_NAME_PATTERN);
      assert.equal(new Set(keys).size, keys.length);
    }),
    { numRuns: 300 },
  );
  assert.equal(secretSafeServerName('github'), 'github');
  assert.equal(secretSafeServerName('Remote.API_v2'), 'Remote.API_v2');
  assert.match(secretSafeServerName('My Notes'), /^My-Notes\.[0-9a-f]{12}$/);
});
