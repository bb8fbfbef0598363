/**
 * The MCP conformance suite (@modelcontextprotocol/conformance: 0.1.16 for 2025-11-25, the 0.2.0
 * prerelease's 2026-07-28 requirement set) against the conformance "everything" server
 * (test/fixtures/conformance-server.ts, SDK v2, both eras) three ways: directly, and through
 * Warden's Streamable HTTP endpoint `/mcp/<server>` with that server as the daemon's upstream
 * over Streamable HTTP (`url`) and over stdio (`command`). Through Warden the pass set must be
 * the direct one; every scenario that differs is listed below with the reason, and asserted, so
 * the test fails when the difference changes (fixed, or a new one).
 *
 * The suite's CLI cannot send a bearer token: test/fixtures/bearer-proxy.ts adds the daemon's
 * token and forwards everything else unchanged (a foreign Host or Origin included).
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
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

/**
 * Scenarios that fail directly, by era, and why. They fail through Warden too (asserted: a
 * scenario failing on one side only is a difference like any other).
 */
const FAILING_DIRECTLY: Record<ConformanceEra, Record<string, string>> = {
  '2025-11-25': {},
  '2026-07-28': Object.fromEntries(
    [
      'tasks-capability-negotiation',
      'tasks-dispatch-and-envelope',
      'tasks-lifecycle',
      'tasks-mrtr-composition',
      'tasks-mrtr-input',
      'tasks-request-headers',
      'tasks-request-state-removal',
      'tasks-required-task-error',
      'tasks-wire-fields',
    ].map((name) => [
      name,
      'the io.modelcontextprotocol/tasks extension (SEP-2663), which the SDK v2 server does not implement; run but not scored by --requirements 2026-07-28',
    ]),
  ),
};

/**
 * Why Warden differs today. Warden's endpoint speaks 2025-11-25 only: a 2026-07-28 request (no
 * initialize, the per-request `_meta` envelope, no Mcp-Session-Id) is answered `400 Bad Request:
 * Mcp-Session-Id header is required (send initialize first)` with JSON-RPC id null, which a
 * dual-era client takes for a legacy server (streamable-http "Backward Compatibility"). Build item 3
 * of issue 12 (both protocol eras) closes this gap.
 */
const LEGACY_ONLY =
  "Warden's HTTP endpoint serves 2025-11-25 only and refuses 2026-07-28 stateless requests with 400 (Mcp-Session-Id required)";

/** Scenarios that pass directly and fail through Warden, by era. */
const KNOWN_GAPS: Record<ConformanceEra, Record<string, string>> = {
  '2025-11-25': {},
  '2026-07-28': Object.fromEntries(
    [
      'caching',
      'completion-complete',
      'dns-rebinding-protection',
      'http-custom-header-server-validation',
      'http-header-validation',
      'input-required-result-basic-elicitation',
      'input-required-result-basic-list-roots',
      'input-required-result-basic-sampling',
      'input-required-result-capability-check',
      'input-required-result-ignore-extra-params',
      'input-required-result-missing-input-response',
      'input-required-result-multi-round',
      'input-required-result-multiple-input-requests',
      'input-required-result-non-tool-request',
      'input-required-result-request-state',
      'input-required-result-result-type',
      'input-required-result-tampered-state',
      'input-required-result-unsupported-methods',
      'json-schema-2020-12',
      'prompts-get-embedded-resource',
      'prompts-get-simple',
      'prompts-get-with-args',
      'prompts-get-with-image',
      'prompts-list',
      'resources-list',
      'resources-read-binary',
      'resources-read-text',
      'resources-templates-read',
      'sep-2164-resource-not-found',
      'server-sse-multiple-streams',
      'server-stateless',
      'tools-call-audio',
      'tools-call-embedded-resource',
      'tools-call-error',
      'tools-call-image',
      'tools-call-mixed-content',
      'tools-call-simple-text',
      'tools-call-with-progress',
      'tools-list',
    ].map((name) => [name, LEGACY_ONLY]),
  ),
};

/**
 * Scenarios that pass through Warden although Warden does not serve the era: they expect an
 * error and Warden's refusal is one. Listed so that the day they pass for the right reason is
 * not mistaken for the day they started passing.
 */
const PASSING_BY_REFUSAL: Record<ConformanceEra, string[]> = {
  '2025-11-25': [],
  // Expects an error for malformed inputResponses; Warden's 400 is an error too.
  '2026-07-28': ['input-required-result-validate-input'],
};

function failing(outcomes: Map<string, ScenarioOutcome>): string[] {
  return [...outcomes]
    .filter(([, o]) => o.outcome === 'fail')
    .map(([name]) => name)
    .sort();
}

describe('conformance suite: directly and through Warden', { skip: nodeMissing, timeout: TIMEOUT }, () => {
  let upstream: ChildProcess;
  let upstreamPort: number;
  let proxy: BearerProxy;
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'warden-conformance-'));
  after(() => fs.rmSync(out, { recursive: true, force: true }));

  useDaemonFixture({
    prepare: async (_w, defer) => {
      upstream = spawn(NODE, [SERVER, 'http', '0'], { stdio: ['ignore', 'pipe', 'inherit'] });
      defer(() => upstream.kill());
      let printed = '';
      upstreamPort = await new Promise<number>((resolve, reject) => {
        upstream.stdout!.on('data', (d: Buffer) => {
          printed += d.toString();
          const port = listeningPort(printed);
          if (port !== undefined) resolve(port);
        });
        upstream.once('exit', (code) => reject(new Error(`the conformance server exited with ${code}`)));
      });
    },
    config: () => ({
      policy: {
        rules: [
          { server: 'conformance-url', tool: '*', action: 'allow' },
          { server: 'conformance-stdio', tool: '*', action: 'allow' },
        ],
      },
      mcpServers: {
        'conformance-url': { url: `http://127.0.0.1:${upstreamPort}/mcp` },
        'conformance-stdio': { command: NODE, args: [SERVER, 'stdio'] },
      },
    }),
    afterStart: async (daemon, defer) => {
      proxy = await startBearerProxy(daemon.daemon.port, daemon.token);
      defer(() => proxy.close());
    },
  });

  for (const era of ['2025-11-25', '2026-07-28'] as const) {
    test(`${era}: the pass set through Warden is the direct one, but for the listed gaps`, async () => {
      const direct = await runConformance(
        era,
        `http://127.0.0.1:${upstreamPort}/mcp`,
        path.join(out, era, 'direct'),
      );
      assert.deepEqual(
        failing(direct),
        Object.keys(FAILING_DIRECTLY[era]).sort(),
        'scenarios failing directly',
      );
      assert.ok(
        passSet(direct).length >= 30,
        `the direct run passes its scenarios: ${passSet(direct).join(', ')}`,
      );
      for (const upstreamKind of ['url', 'stdio'] as const) {
        const endpoint = new URL(mcpEndpointPath(`conformance-${upstreamKind}`), proxy.url).href;
        const through = await runConformance(era, endpoint, path.join(out, era, upstreamKind));
        const gaps = passSet(direct).filter((name) => !passSet(through).includes(name));
        const extra = passSet(through).filter((name) => !passSet(direct).includes(name));
        const detail = `${upstreamKind} upstream; differences: ${JSON.stringify(differences(direct, through), null, 1)}`;
        assert.deepEqual(
          gaps,
          Object.keys(KNOWN_GAPS[era]).sort(),
          `passing directly, failing through Warden (${detail})`,
        );
        assert.deepEqual(extra, [], `passing through Warden only (${detail})`);
        assert.deepEqual(
          failing(through),
          [...failing(direct), ...gaps].sort(),
          `failing through Warden (${detail})`,
        );
        const stillByRefusal = PASSING_BY_REFUSAL[era].filter((name) => passSet(through).includes(name));
        assert.deepEqual(
          stillByRefusal,
          PASSING_BY_REFUSAL[era],
          `passing only by Warden's refusal (${detail})`,
        );
      }
    });
  }
});
