/**
 * Commands are declared eagerly and loaded lazily: the built CLI (bin/mcp-warden, which runs
 * dist/) answers `--version` and `--help` with commander and the declarations alone, and the
 * connect shim, with a daemon running, serves a real MCP client without loading what other
 * commands need (the audit database, the policy engine, org policy signing, secret scanning,
 * prompts, the logger). What a process loads is recorded by test/helpers/module-census.ts.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { OPERATION_COMMANDS } from '../../main/cli/operations.ts';
import { operation, OPERATIONS, type RequestOperationName } from '../../main/core/control/operations.ts';
import { CENSUS_ENV_VAR, loadedModules, type LoadedModule } from '../helpers/module-census.ts';
import { runProcess } from '../helpers/run.ts';
import { shimClient } from '../helpers/sdk-client.ts';
import {
  CLI,
  everythingServer,
  makeWardenEnv,
  ROOT,
  startDaemonProcess,
  waitFor,
  type DaemonProcess,
  type WardenEnv,
} from '../helpers/warden-env.ts';

const CENSUS = pathToFileURL(path.join(ROOT, 'test/helpers/module-census.ts')).href;
const BUILD = path.join(ROOT, 'dist', 'main') + path.sep;

/** Packages no command line needs to declare its commands, nor the connect shim to run. */
const HEAVY = [
  '@secretlint/core',
  '@secretlint/secretlint-rule-preset-recommend',
  'jose',
  '@xmldom/xmldom',
  'plist',
  'xmlbuilder',
  'date-fns',
  'better-sqlite3',
  'pino',
  'pino-roll',
  'diff',
  '@inquirer/core',
  '@inquirer/password',
  'csv-stringify',
  'picomatch',
  'cross-spawn',
  'jsonc-parser',
  'canonicalize',
  'hono',
  '@hono/node-server',
];

/** What declaring the commands takes: commander, and env-paths (with its dependency) for the paths. */
const DECLARATION_PACKAGES = ['commander', 'env-paths', 'is-safe-filename'];

/** What the connect shim takes besides the declarations: no package at all (no SDK, no zod). */
const SHIM_PACKAGES: string[] = [];

/**
 * Our modules a command may load before its action runs: the declarations and the core's leaves
 * (not the helpers only actions use: control.ts, changes.ts, prompts.ts).
 */
const DECLARATION_FILE = /^(cli\/(?!control|changes|prompts)[^/]+|core\/[^/]+|core\/clients\/locations)\.js$/;

/** What the shim may use of the core (.dependency-cruiser.cjs, SHIM_NEEDS), plus the declarations. */
const SHIM_FILE =
  /^(shim\/[^/]+|core\/bridge\/jsonrpc(-check)?|core\/daemon\/local-socket-(hello|lines|path))\.js$/;

let scratch: string;
before(() => {
  scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'warden-census-'));
});
after(() => fs.rmSync(scratch, { recursive: true, force: true }));

/** The modules the one process (the CLI, exec'd by bin/mcp-warden) that wrote under `prefix` loaded. */
async function census(prefix: string): Promise<LoadedModule[]> {
  const file = await waitFor(() => {
    const found = fs.readdirSync(scratch).find((f) => f.startsWith(`${path.basename(prefix)}.`));
    return found && path.join(scratch, found);
  });
  return loadedModules(file);
}

function censusEnv(env: NodeJS.ProcessEnv, name: string): { env: NodeJS.ProcessEnv; prefix: string } {
  const prefix = path.join(scratch, name);
  return { prefix, env: { ...env, NODE_OPTIONS: `--import=${CENSUS}`, [CENSUS_ENV_VAR]: prefix } };
}

const packagesOf = (modules: LoadedModule[]) => [...new Set(modules.flatMap((m) => (m.pkg ? [m.pkg] : [])))];
/** Our files, relative to dist/main (all of them must come from the build). */
const ownFilesOf = (modules: LoadedModule[]) =>
  modules
    .filter((m) => m.pkg === undefined && m.file !== path.join(ROOT, 'package.json'))
    .map((m) => {
      assert.ok(m.file.startsWith(BUILD), `${m.file} is not from the build in dist/`);
      return m.file.slice(BUILD.length).split(path.sep).join('/');
    });
const summary = (modules: LoadedModule[]) =>
  `${modules.length} modules, ${Math.round(modules.reduce((n, m) => n + m.bytes, 0) / 1024)} KiB`;

for (const args of [['--version'], ['--help'], ['connect', '--help']]) {
  test(`mcp-warden ${args.join(' ')} loads only the declarations, from the build`, async (t) => {
    const w = makeWardenEnv();
    try {
      const { env, prefix } = censusEnv(w.env, args.join('').replace(/\W/g, ''));
      const result = await runProcess(CLI, args, { env });
      assert.equal(result.code, 0, result.stderr);
      const modules = await census(prefix);
      t.diagnostic(summary(modules));
      for (const pkg of packagesOf(modules)) assert.ok(DECLARATION_PACKAGES.includes(pkg), `loaded ${pkg}`);
      for (const file of ownFilesOf(modules)) assert.match(file, DECLARATION_FILE);
    } finally {
      w.cleanup();
    }
  });
}

describe('mcp-warden connect, with a daemon running', () => {
  let w: WardenEnv;
  let daemon: DaemonProcess;

  before(async () => {
    w = makeWardenEnv();
    w.writeConfig({ mcpServers: { everything: everythingServer() } });
    daemon = await startDaemonProcess(w);
  });
  after(async () => {
    await daemon?.stop();
    w?.cleanup();
  });

  test('serves tools/list to an MCP client and loads the shim, not what other commands need', async (t) => {
    const { env, prefix } = censusEnv(w.env, 'connect');
    const { client } = await shimClient(env, 'everything');
    try {
      const { tools } = await client.listTools();
      assert.ok(tools.some((tool) => tool.name === 'echo'));
    } finally {
      await client.close();
    }
    const modules = await census(prefix);
    t.diagnostic(summary(modules));
    const packages = packagesOf(modules);
    for (const pkg of HEAVY) assert.ok(!packages.includes(pkg), `connect loaded ${pkg}`);
    for (const pkg of packages)
      assert.ok([...DECLARATION_PACKAGES, ...SHIM_PACKAGES].includes(pkg), `connect loaded ${pkg}`);
    const own = ownFilesOf(modules);
    for (const file of own)
      assert.ok(DECLARATION_FILE.test(file) || SHIM_FILE.test(file), `connect loaded ${file}`);
    assert.ok(own.includes('shim/connect.js'));
  });
});

test('the operation commands declared without the operation table are exactly those the table asks for', () => {
  const asked = (Object.keys(OPERATIONS) as RequestOperationName[]).flatMap((name) => {
    const spec = operation(name);
    if (!spec.cli || spec.args.def.items.length || spec.response) return [];
    return [{ operation: name, command: spec.cli.command, description: spec.cli.description }];
  });
  assert.deepEqual(OPERATION_COMMANDS, asked);
});
