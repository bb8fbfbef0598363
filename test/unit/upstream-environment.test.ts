/**
 * A stdio server inherits from Warden's environment what the MCP SDK's stdio client transport
 * would let it inherit (`getDefaultEnvironment` of `@modelcontextprotocol/client/stdio`), plus
 * its own configured `env`; main/core/bridge/upstream-link.ts names the SDK's list itself so
 * that the daemon does not load the SDK's client package for it.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { getDefaultEnvironment } from '@modelcontextprotocol/client/stdio';
import { upstreamEnvironment } from '../../main/core/bridge/upstream-link.ts';
import type { StdioServerConfig } from '../../main/core/config/schema.ts';

const SDK_NAMES = [
  ...['HOME', 'LOGNAME', 'PATH', 'SHELL', 'TERM', 'USER'],
  ...['APPDATA', 'COMSPEC', 'PATHEXT', 'SYSTEMROOT', 'TEMP', 'USERPROFILE', 'WINDIR'],
];

function server(env: Record<string, string>): StdioServerConfig {
  return { kind: 'stdio', name: 'srv', command: 'node', args: [], env } as unknown as StdioServerConfig;
}

/** Runs `fn` with process.env replaced by `env`, then puts the real one back. */
function withProcessEnv<T>(env: Record<string, string>, fn: () => T): T {
  const saved = { ...process.env };
  for (const key of Object.keys(process.env)) delete process.env[key];
  Object.assign(process.env, env);
  try {
    return fn();
  } finally {
    for (const key of Object.keys(process.env)) delete process.env[key];
    Object.assign(process.env, saved);
  }
}

const value = fc.oneof(
  fc.string(),
  fc.string().map((s) => `() { ${s}`),
);
const environment = fc.dictionary(
  fc.oneof(
    fc.constantFrom(...SDK_NAMES),
    fc.string({ minLength: 1 }).filter((k) => !/[=\0]/.test(k)),
  ),
  value.filter((v) => !v.includes('\0')),
);

test("a stdio server inherits exactly what the SDK's getDefaultEnvironment gives, for any environment", () => {
  fc.assert(
    fc.property(environment, (env) => {
      const ours = withProcessEnv(env, () => upstreamEnvironment(server({})));
      const sdks = withProcessEnv(env, () => getDefaultEnvironment());
      assert.deepEqual(ours, sdks);
      assert.deepEqual(upstreamEnvironment(server({}), env), sdks, 'the same from an environment passed in');
    }),
  );
});

test("the server's own env is added and wins over what it inherits", () => {
  const env = upstreamEnvironment(server({ PATH: '/opt/bin', TOKEN: 'x' }), {
    PATH: '/usr/bin',
    HOME: '/home/a',
    SECRET: 'not inherited',
    SHELL: '() { evil; }',
  });
  assert.deepEqual(env, { PATH: '/opt/bin', HOME: '/home/a', TOKEN: 'x' });
});
