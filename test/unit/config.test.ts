import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { defaultConfig, loadConfig, parseConfig } from '../../main/core/config/load.ts';
import { DEFAULT_PORT } from '../../main/core/config/schema.ts';
import { isWardenError } from '../../main/core/errors.ts';
import { resolvePaths } from '../../main/core/paths.ts';

const FILE = '/home/me/.config/mcp-warden/config.json';

function errorOf(text: string): { code: string; message: string } {
  try {
    parseConfig(text, FILE);
  } catch (error) {
    assert.ok(isWardenError(error));
    return { code: error.code, message: error.message };
  }
  assert.fail('accepted');
}

test('accepts the mcpServers shape of Claude Desktop and Cursor, stdio and HTTP', () => {
  const config = parseConfig(
    JSON.stringify({
      mcpServers: {
        github: {
          command: 'npx',
          args: ['-y', '@modelcontextprotocol/server-github'],
          env: { GITHUB_TOKEN: 'x' },
        },
        remote: { url: 'https://mcp.example.com/mcp', headers: { 'X-Team': 'a' } },
        typed: { type: 'http', url: 'http://127.0.0.1:9000/mcp' },
        off: { command: 'nope', disabled: true },
      },
    }),
    FILE,
  );
  assert.equal(config.port, DEFAULT_PORT);
  assert.equal(config.auditSynchronous, 'normal');
  assert.deepEqual([...config.servers.keys()], ['github', 'remote', 'typed']);
  assert.deepEqual(config.servers.get('github'), {
    kind: 'stdio',
    name: 'github',
    command: 'npx',
    args: ['-y', '@modelcontextprotocol/server-github'],
    env: { GITHUB_TOKEN: 'x' },
    tools: { deny: [] },
  });
  assert.deepEqual(config.servers.get('remote'), {
    kind: 'http',
    name: 'remote',
    url: 'https://mcp.example.com/mcp',
    headers: { 'X-Team': 'a' },
    tools: { deny: [] },
  });
});

test('a file that is not JSON is named, with what the parser saw', () => {
  const { code, message } = errorOf('{ "mcpServers": { "a": }');
  assert.equal(code, 'CONFIG_NOT_JSON');
  assert.match(message, /config\.json is not valid JSON: /);
});

test('an invalid file names the file, each field, and what was expected', () => {
  const { code, message } = errorOf(
    JSON.stringify({
      mcpServers: {
        both: { command: 'x', url: 'http://x' },
        neither: {},
        typo: { command: 'x', arg: [] },
        badargs: { command: 'x', args: 'no' },
        ftp: { url: 'ftp://example.com' },
        mixed: { url: 'https://x', env: { A: 'b' } },
      },
      daemon: { port: 80 },
    }),
  );
  assert.equal(code, 'CONFIG_INVALID');
  assert.match(
    message,
    /^\/home\/me\/\.config\/mcp-warden\/config\.json is not a valid MCP Warden config; nothing was started/,
  );
  assert.match(message, /has both "command" and "url"[^\n]*\n\s*→ at mcpServers\.both/);
  assert.match(message, /needs either "command"[^\n]*\n\s*→ at mcpServers\.neither/);
  assert.match(message, /Unrecognized key: "arg"\n\s*→ at mcpServers\.typo/);
  assert.match(message, /expected array, received string\n\s*→ at mcpServers\.badargs\.args/);
  assert.match(message, /→ at mcpServers\.ftp\.url/);
  assert.match(message, /apply to "command" servers only\n\s*→ at mcpServers\.mixed/);
  assert.match(message, /→ at daemon\.port/);
});

test('server names are kept as the client wrote them; one that cannot be used is refused by name', () => {
  const names = ['has space', 'notes — ü', 'a/b', '__proto__', 'constructor', '-dash'];
  const config = parseConfig(
    JSON.stringify({ mcpServers: Object.fromEntries(names.map((n) => [n, { command: 'x' }])) }),
    FILE,
  );
  assert.deepEqual([...config.servers.keys()], names);
  assert.deepEqual(
    [...config.servers.values()].map((s) => s.name),
    names,
  );
  const { code, message } = errorOf(JSON.stringify({ mcpServers: { 'bell\u0007': { command: 'x' } } }));
  assert.equal(code, 'CONFIG_INVALID');
  assert.match(message, /the server name "bell\\u0007" contains a control character \(U\+0007\)/);
  assert.match(message, /→ at mcpServers\["bell\\u0007"\]/);
});

test('the default config is valid and allows its two reference servers by package@version', () => {
  const config = parseConfig(JSON.stringify(defaultConfig('/tmp/sandbox')), FILE);
  const fsServer = config.servers.get('filesystem');
  assert.ok(fsServer?.kind === 'stdio' && fsServer.args.at(-1) === '/tmp/sandbox');
  assert.deepEqual(
    config.policy.servers?.map((r) => [r.package, r.trusted]),
    [
      ['@modelcontextprotocol/server-everything@2026.8.31', true],
      ['@modelcontextprotocol/server-filesystem@2026.8.31', true],
    ],
  );
});

test('loadConfig writes the default config only at the default location', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'warden-config-'));
  try {
    const base = resolvePaths(path.join(dir, 'config.json'));
    const paths = { ...base, sandboxDir: path.join(dir, 'sandbox') };
    assert.throws(
      () => loadConfig(paths, { createDefault: false }),
      /cannot read config file .*config\.json: it does not exist/,
    );
    const config = loadConfig(paths, { createDefault: true });
    assert.deepEqual([...config.servers.keys()], ['everything', 'filesystem']);
    assert.ok(fs.existsSync(path.join(dir, 'sandbox', 'README.txt')));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('the config path follows --config, then $MCP_WARDEN_CONFIG, then the OS default', () => {
  assert.equal(resolvePaths('/x/a.json', { MCP_WARDEN_CONFIG: '/y/b.json' }).configFile, '/x/a.json');
  assert.equal(resolvePaths(undefined, { MCP_WARDEN_CONFIG: '/y/b.json' }).configFile, '/y/b.json');
  assert.match(resolvePaths(undefined, {}).configFile, /mcp-warden[/\\]config\.json$/);
});

test('resources/config.schema.json is the schema Warden validates with (regenerate: mcp-warden config schema)', async () => {
  const { configJsonSchema } = await import('../../main/core/config/json-schema.ts');
  const shipped = JSON.parse(
    fs.readFileSync(new URL('../../resources/config.schema.json', import.meta.url), 'utf8'),
  ) as unknown;
  assert.deepEqual(shipped, configJsonSchema());
});

test('resources/policy.schema.json matches the policy schema, and the example managed policy is valid', async () => {
  const { policyJsonSchema } = await import('../../main/core/config/json-schema.ts');
  const { parsePolicy } = await import('../../main/core/policy/sources.ts');
  const shipped = JSON.parse(
    fs.readFileSync(new URL('../../resources/policy.schema.json', import.meta.url), 'utf8'),
  ) as unknown;
  assert.deepEqual(shipped, policyJsonSchema());
  const example = fs.readFileSync(
    new URL('../../resources/examples/managed-policy.json', import.meta.url),
    'utf8',
  );
  assert.equal(parsePolicy(example, 'example').limits?.[0]?.dailyQuota, 1000);
});
