/**
 * What an idle daemon holds: the built `mcp-warden serve`, started, asked by one MCP client
 * session (through the connect shim) and stopped, loads none of what only some requests,
 * platforms or commands need (each is loaded on first use, main/core/lazy-module.ts), nor
 * Node's bundled undici (main/core/node-http.ts says what loads it). Each of these cost the
 * daemon resident memory for nothing. What a process loads is recorded by
 * test/helpers/module-census.ts.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, test } from 'node:test';
import { CENSUS_ENV_VAR, loadedBuiltins, loadedModules } from '../helpers/module-census.ts';
import { shimClient } from '../helpers/sdk-client.ts';
import { everythingServer, makeWardenEnv, ROOT, startDaemonProcess, waitFor } from '../helpers/warden-env.ts';

const CENSUS = pathToFileURL(path.join(ROOT, 'test/helpers/module-census.ts')).href;

/**
 * Packages the daemon loads on first use only (secret scanning, org policy, macOS, diffs, exports,
 * OTLP forwarding, the Streamable HTTP client of url servers, confirming personal data). Not keytar: the daemon reads the audit checkpoints' signing key from the OS
 * keychain when it starts (audit/checkpoint-signing.ts), so `status` says at once whether they
 * are signed.
 */
const ON_FIRST_USE = [
  '@secretlint/core',
  '@secretlint/secretlint-rule-preset-recommend',
  'jose',
  'plist',
  '@xmldom/xmldom',
  'xmlbuilder',
  'diff',
  'jsonc-parser',
  'csv-stringify',
  'pino-roll',
  '@opentelemetry/exporter-logs-otlp-http',
  '@modelcontextprotocol/client',
  'validator',
];

/** What the daemon never loads: the SDK v1 line, which only tests run (as a 2025-11-25 client). */
const NEVER = ['@modelcontextprotocol/sdk'];

/** What a daemon that ran a session must have loaded (so the census is of the right process). */
const RUNS_ON = ['better-sqlite3', '@modelcontextprotocol/server', 'zod'];

let scratch: string;
before(() => {
  scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'warden-idle-census-'));
});
after(() => fs.rmSync(scratch, { recursive: true, force: true }));

test('a daemon that served a session loads no package it needs only on first use, nor undici', async (t) => {
  const w = makeWardenEnv();
  try {
    w.writeConfig({ mcpServers: { everything: everythingServer() } });
    const prefix = path.join(scratch, 'serve');
    const daemon = await startDaemonProcess({
      ...w,
      env: { ...w.env, NODE_OPTIONS: `--import=${CENSUS}`, [CENSUS_ENV_VAR]: prefix },
    });
    try {
      const { client } = await shimClient(w.env, 'everything');
      try {
        const { tools } = await client.listTools();
        assert.ok(tools.some((tool) => tool.name === 'echo'));
      } finally {
        await client.close();
      }
    } finally {
      assert.equal(await daemon.stop(), 0, daemon.output());
    }
    const file = await waitFor(() => {
      const name = `${path.basename(prefix)}.${daemon.child.pid}.json`;
      return fs.existsSync(path.join(scratch, name)) && path.join(scratch, name);
    });
    const modules = loadedModules(file);
    const packages = new Set(modules.flatMap((m) => (m.pkg ? [m.pkg] : [])));
    t.diagnostic(
      `${modules.length} modules, ${Math.round(modules.reduce((n, m) => n + m.bytes, 0) / 1024)} KiB`,
    );
    for (const pkg of RUNS_ON) assert.ok(packages.has(pkg), `the daemon did not load ${pkg}`);
    for (const pkg of ON_FIRST_USE) assert.ok(!packages.has(pkg), `an idle daemon loaded ${pkg}`);
    for (const pkg of NEVER) assert.ok(!packages.has(pkg), `the daemon loaded ${pkg}`);
    const builtins = loadedBuiltins(file);
    assert.ok(builtins.includes('http'), 'the census has no builtins');
    assert.ok(!builtins.includes('internal/deps/undici/undici'), 'an idle daemon loaded undici');
  } finally {
    w.cleanup();
  }
});
