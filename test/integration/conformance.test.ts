/**
 * The MCP conformance suite's server scenarios (@modelcontextprotocol/conformance 0.1.16 for
 * 2025-11-25; the 0.2.0 prerelease's 2026-07-28 requirement set) against the project's own
 * conformance server (test/fixtures/conformance-server.ts, SDK v2, both eras) three ways:
 * directly over Streamable HTTP, and through a real daemon's Streamable HTTP endpoint
 * `/mcp/<server>` with that server as the daemon's upstream over Streamable HTTP (`url`) and over
 * stdio (`command`). Through Warden every scenario must end as it does directly (the same
 * outcome, the same failed checks); each scenario that differs today is listed below with its
 * reason, and the difference is asserted to be exactly that list, so a fix that closes a gap and
 * a new break both fail this test until the list is updated.
 *
 * The suite's CLI cannot send a bearer token: test/fixtures/bearer-proxy.ts adds the daemon's
 * token and forwards everything else unchanged (a foreign Host or Origin included). The three
 * runs of an era go in parallel, each against its own server process (the scenarios change
 * server state: subscriptions, the tool and prompt lists).
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Client } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { parse as parseYaml } from 'yaml';
import { mcpEndpointPath } from '../../main/core/config/server-name.ts';
import { startBearerProxy, type BearerProxy } from '../fixtures/bearer-proxy.ts';
import {
  differences,
  passSet,
  runConformance,
  type ConformanceEra,
  type ScenarioOutcome,
} from '../fixtures/conformance-runner.ts';
import { listeningPort } from '../fixtures/v2-serving.ts';
import { useDaemonFixture } from '../helpers/daemon-fixture.ts';
import { NODE, ROOT } from '../helpers/warden-env.ts';

const SERVER = path.join(ROOT, 'test/fixtures/conformance-server.ts');
const TIMEOUT = 300_000;

/** Both conformance releases declare engines node >= 24. */
const nodeMissing =
  Number(process.versions.node.split('.')[0]) >= 24
    ? false
    : `the conformance suite needs Node >= 24 (this is ${process.versions.node}); npm ci installs it (node_modules/.bin/node)`;

const TASKS_EXTENSION =
  'the io.modelcontextprotocol/tasks extension (SEP-2663), which the SDK v2 server (2.4.0) does not implement; an extension is optional, and --requirements 2026-07-28 runs it without scoring it';

/**
 * Scenarios that do not pass directly, by era, and why: not applicable to this server, or not
 * scored by the suite. Every other scenario the suite runs must pass directly.
 */
const NOT_PASSING_DIRECTLY: Record<ConformanceEra, Record<string, string>> = {
  '2025-11-25': {},
  '2026-07-28': {
    'tasks-capability-negotiation': TASKS_EXTENSION,
    'tasks-dispatch-and-envelope': TASKS_EXTENSION,
    'tasks-lifecycle': TASKS_EXTENSION,
    'tasks-mrtr-composition': TASKS_EXTENSION,
    'tasks-mrtr-input': TASKS_EXTENSION,
    'tasks-request-headers': TASKS_EXTENSION,
    'tasks-request-state-removal': TASKS_EXTENSION,
    'tasks-required-task-error': TASKS_EXTENSION,
    'tasks-wire-fields': TASKS_EXTENSION,
    // Skipped, not failed: every check of it waits for a task the server never creates.
    'tasks-status-notifications': TASKS_EXTENSION,
  },
};

/**
 * Warden refuses a call of a tool the server's complete tools list lacks as a guard decision: a
 * CallToolResult with isError (the reason, audited), where the server answers with a JSON-RPC
 * error (-32602 "Tool ... not found"). The tasks scenarios call tools this server does not have
 * (greet, slow_compute, failing_job); checks that accept any tool result pass through Warden on
 * its refusal and fail directly. The scenario fails both ways (TASKS_EXTENSION).
 */
const REFUSED_UNKNOWN_TOOL = (checks: string): string =>
  `fails directly too (${TASKS_EXTENSION}); ${checks} pass through Warden only because Warden answers a call of a tool the server does not offer with its refusal as a tool result (isError), which those checks take for a result, where the server answers -32602`;

/**
 * Scenarios whose outcome through Warden (either upstream) is not the direct one, by era, and why.
 */
const DIFFERS_THROUGH_WARDEN: Record<ConformanceEra, Record<string, string>> = {
  '2025-11-25': {},
  '2026-07-28': {
    'tasks-capability-negotiation': REFUSED_UNKNOWN_TOOL('sep-2663-server-rejects-undeclared-client'),
    'tasks-dispatch-and-envelope': REFUSED_UNKNOWN_TOOL(
      'sep-2663-legacy-task-param-ignored, tasks-immediate-result-shortcut and tasks-result-type-complete-on-non-task-responses',
    ),
    'tasks-lifecycle': REFUSED_UNKNOWN_TOOL('tasks-sync-tool-call'),
  },
};

/**
 * Scenarios that pass through Warden although Warden does not serve their era: they expect an
 * error, and Warden's refusal is one. Listed so that the day they pass for the right reason is
 * not mistaken for the day they started passing.
 */
const PASSING_BY_REFUSAL: Record<ConformanceEra, Record<string, string>> = {
  '2025-11-25': {},
  // input-required-result-validate-input passed on Warden's 400 before Warden spoke 2026-07-28;
  // it now passes on the server's input_required result, as directly.
  '2026-07-28': {},
};

/**
 * The server scenarios conformance-2026's requirement file for 2026-07-28 runs: those it scores
 * and those it runs without scoring (`not_scored` with `leg: server`), sorted.
 */
function requiredServerScenarios2026(): string[] {
  const file = path.join(ROOT, 'node_modules/conformance-2026/requirements/2026-07-28.yaml');
  const requirements = parseYaml(fs.readFileSync(file, 'utf8')) as {
    server: string[];
    not_scored: { scenario: string; leg: string }[];
  };
  return [
    ...requirements.server,
    ...requirements.not_scored.filter((entry) => entry.leg === 'server').map((entry) => entry.scenario),
  ].sort();
}

const notPassing = (outcomes: Map<string, ScenarioOutcome>): string[] =>
  [...outcomes.keys()].filter((name) => outcomes.get(name)?.outcome !== 'pass').sort();

/** Starts the conformance server over HTTP on a free port; resolves with the port. */
async function startHttpServer(): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(NODE, [SERVER, 'http', '0'], { stdio: ['ignore', 'pipe', 'inherit'] });
  let printed = '';
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      printed += d.toString();
      const found = listeningPort(printed);
      if (found !== undefined) resolve(found);
    });
    child.once('exit', (code) => reject(new Error(`the conformance server exited with ${code}`)));
  });
  return { child, port };
}

/** Stops a server started by startHttpServer and waits for its exit. */
async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill();
  await exited;
}

describe('conformance suite: directly and through Warden', { skip: nodeMissing, timeout: TIMEOUT }, () => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'warden-conformance-'));
  /** One server process per era and way that talks HTTP to it: direct, and Warden's url upstream. */
  const servers = new Map<string, { child: ChildProcess; port: number }>();
  let proxy: BearerProxy;

  before(async () => {
    for (const era of ['2025-11-25', '2026-07-28'] as const) {
      for (const way of ['direct', 'url'] as const) servers.set(`${era}/${way}`, await startHttpServer());
    }
  });
  after(async () => {
    for (const { child } of servers.values()) await stop(child);
    fs.rmSync(out, { recursive: true, force: true });
  });

  const serverName = (era: ConformanceEra, upstream: 'url' | 'stdio'): string =>
    `conformance-${era}-${upstream}`;
  const fx = useDaemonFixture({
    config: () => {
      const mcpServers: Record<string, unknown> = {};
      for (const era of ['2025-11-25', '2026-07-28'] as const) {
        mcpServers[serverName(era, 'url')] = {
          url: `http://127.0.0.1:${servers.get(`${era}/url`)!.port}/mcp`,
        };
        mcpServers[serverName(era, 'stdio')] = { command: NODE, args: [SERVER, 'stdio'] };
      }
      // The fixture's tools carry no annotations: without this every call would wait for a person.
      return {
        policy: { rules: [{ server: 'conformance-*', tool: '*', action: 'allow' }] },
        mcpServers,
      };
    },
    afterStart: async (daemon, defer) => {
      proxy = await startBearerProxy(daemon.daemon.port, daemon.token);
      defer(() => proxy.close());
    },
  });

  for (const era of ['2025-11-25', '2026-07-28'] as const) {
    test(`${era}: through Warden every scenario ends as it does directly, but for the listed ones`, async (t) => {
      /** One run of the suite; its wall time goes to the test's diagnostics. */
      const run = async (way: string, url: string): Promise<Map<string, ScenarioOutcome>> => {
        const started = performance.now();
        const outcomes = await runConformance(era, url, path.join(out, era, way));
        t.diagnostic(`${way}: ${outcomes.size} scenarios in ${Math.round(performance.now() - started)} ms`);
        return outcomes;
      };
      const through = (upstream: 'url' | 'stdio'): Promise<Map<string, ScenarioOutcome>> =>
        run(upstream, new URL(mcpEndpointPath(serverName(era, upstream)), proxy.url).href);
      const [direct, url, stdio] = await Promise.all([
        run('direct', `http://127.0.0.1:${servers.get(`${era}/direct`)!.port}/mcp`),
        through('url'),
        through('stdio'),
      ]);
      assert.ok(fx.daemon.child.exitCode === null, 'the daemon still runs');

      if (era === '2026-07-28') {
        assert.deepEqual(
          [...direct.keys()].sort(),
          requiredServerScenarios2026(),
          'the direct run covers the scenarios the 2026-07-28 requirements list for servers',
        );
      }
      assert.deepEqual(
        notPassing(direct),
        Object.keys(NOT_PASSING_DIRECTLY[era]).sort(),
        `scenarios not passing directly: ${JSON.stringify(Object.fromEntries(direct), null, 1)}`,
      );
      for (const [upstream, outcomes] of [
        ['url', url],
        ['stdio', stdio],
      ] as const) {
        const diff = differences(direct, outcomes);
        const detail = `${upstream} upstream; differences: ${JSON.stringify(diff, null, 1)}`;
        assert.deepEqual(
          Object.keys(diff).sort(),
          Object.keys(DIFFERS_THROUGH_WARDEN[era]).sort(),
          `scenarios that differ through Warden (${detail})`,
        );
        // The listed differences are all losses: nothing passes through Warden that fails directly.
        assert.deepEqual(
          passSet(outcomes),
          passSet(direct).filter((name) => !(name in DIFFERS_THROUGH_WARDEN[era])),
          `the pass set through Warden (${detail})`,
        );
        const byRefusal = Object.keys(PASSING_BY_REFUSAL[era]);
        assert.deepEqual(
          byRefusal.filter((name) => passSet(outcomes).includes(name)),
          byRefusal,
          `passing only by Warden's refusal (${detail})`,
        );
      }
    });
  }
});

/**
 * The suite's CLI reaches a server over HTTP only; over stdio (how the daemon runs its `command`
 * upstream) the SDK v2 client shows the server serving both eras: a sealed `requestState` round
 * trip in 2026-07-28, the same tool driven by the SDK's server-to-client requests in 2025-11-25.
 */
describe('the conformance server over stdio', { timeout: TIMEOUT }, () => {
  for (const era of ['2025-11-25', '2026-07-28'] as const) {
    test(`serves ${era}`, async () => {
      const client = new Client(
        { name: 'conformance-stdio-check', version: '1.0.0' },
        {
          capabilities: { elicitation: { form: {} } },
          ...(era === '2026-07-28' ? { versionNegotiation: { mode: { pin: era } } } : {}),
        },
      );
      const asked: string[] = [];
      client.setRequestHandler('elicitation/create', (request) => {
        asked.push(request.params.message);
        return { action: 'accept', content: { ok: true } };
      });
      await client.connect(
        new StdioClientTransport({ command: NODE, args: [SERVER, 'stdio'], stderr: 'pipe' }),
      );
      try {
        assert.equal(client.getNegotiatedProtocolVersion(), era);
        assert.equal(client.getProtocolEra(), era === '2026-07-28' ? 'modern' : 'legacy');
        const result = await client.callTool({
          name: 'test_input_required_result_request_state',
          arguments: {},
        });
        assert.deepEqual(result.content, [{ type: 'text', text: 'state-ok (confirmed: true)' }]);
        assert.deepEqual(asked, ['Please confirm']);
      } finally {
        await client.close();
      }
    });
  }
});
