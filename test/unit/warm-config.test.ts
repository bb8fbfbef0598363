/** The warm upstream settings of the config: `daemon.warmUpstreams` and `mcpServers.<name>.warm`. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseConfig } from '../../main/core/config/load.ts';
import { isWardenError } from '../../main/core/errors.ts';

const FILE = '/home/me/.config/mcp-warden/config.json';
const parse = (config: unknown) => parseConfig(JSON.stringify(config), FILE);

test('warm upstreams are on unless turned off, daemon-wide or per stdio server', () => {
  const on = parse({ mcpServers: { a: { command: 'node', args: ['a.js'] } } });
  assert.equal(on.warmUpstreams, true);
  const server = on.servers.get('a');
  assert.ok(server?.kind === 'stdio');
  assert.equal(server.warm, undefined);

  const off = parse({
    daemon: { warmUpstreams: false },
    mcpServers: { a: { command: 'node', warm: false }, b: { command: 'node', warm: true } },
  });
  assert.equal(off.warmUpstreams, false);
  const [a, b] = [off.servers.get('a'), off.servers.get('b')];
  assert.ok(a?.kind === 'stdio' && b?.kind === 'stdio');
  assert.equal(a.warm, false);
  assert.equal('warm' in b, false, '`warm: true` is the default and is not kept');
});

test('"warm" on a url server, or not a boolean, is a config error naming the field', () => {
  for (const [entry, message] of [
    [{ url: 'https://mcp.example.com/mcp', warm: false }, /"warm" applies to "command" servers only/],
    [{ command: 'node', warm: 'no' }, /warm/],
  ] as const) {
    assert.throws(
      () => parse({ mcpServers: { s: entry } }),
      (error: unknown) =>
        isWardenError(error) && error.code === 'CONFIG_INVALID' && message.test(error.message),
    );
  }
  assert.throws(
    () => parse({ daemon: { warmUpstreams: 'yes' }, mcpServers: {} }),
    (error: unknown) => isWardenError(error) && /warmUpstreams/.test(error.message),
  );
});
