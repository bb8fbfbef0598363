/**
 * The metrics registry (main/core/metrics): what each per-call method adds, the histograms
 * rendered as prom-client renders its own, the bound on tool series, the approval broker
 * followed, the typed gauge API for other parts, and the text Prometheus's own linter accepts.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';
import fc from 'fast-check';
import { Histogram, Registry } from 'prom-client';
import { ApprovalBroker } from '../../main/core/approvals/broker.ts';
import { FixedHistogram, MAX_TOOLS_PER_SERVER, OTHER_TOOL } from '../../main/core/metrics/call-series.ts';
import { REFUSAL_REASONS, refusalReason } from '../../main/core/metrics/refusal-reason.ts';
import { CALL_DURATION_BUCKETS, WardenMetrics } from '../../main/core/metrics/warden-metrics.ts';
import { prometheusMissing } from '../helpers/requirements.ts';

/** The value of `name{labels}` (exactly these labels) in Prometheus text, or undefined. */
function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  const wanted = Object.entries(labels)
    .map(([k, v]) => `${k}="${v}"`)
    .sort()
    .join(',');
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const got = (match[2] ?? '').match(/[a-zA-Z_]+="(?:[^"\\]|\\.)*"/g) ?? [];
    if (got.sort().join(',') === wanted) return Number(match[3]);
  }
  return undefined;
}

const render = async (metrics: WardenMetrics): Promise<string> => (await metrics.render()).text;

test('a forwarded call counts once its outcome is recorded, by server, tool, decision and outcome, with its duration', async () => {
  const metrics = new WardenMetrics({ defaultMetrics: false });
  metrics.callStarted(1, 'fs', 'read', 'allow');
  let text = await render(metrics);
  assert.equal(
    sample(text, 'mcp_warden_tool_calls_total', {
      server: 'fs',
      tool: 'read',
      decision: 'allow',
      outcome: 'ok',
    }),
    0,
  );
  metrics.callEnded(1, 'ok', 1500);
  metrics.callEnded(1, 'ok', 1500); // the same row again: counted once
  metrics.callEnded(99, 'error', 1); // a row never started: not counted
  metrics.refused('fs', 'delete', 'user config /c.json (rule 2: deny delete): no deletes', 2);
  metrics.auditWrite('call', 0.25);
  text = await render(metrics);
  assert.equal(
    sample(text, 'mcp_warden_tool_calls_total', {
      server: 'fs',
      tool: 'read',
      decision: 'allow',
      outcome: 'ok',
    }),
    1,
  );
  assert.equal(
    sample(text, 'mcp_warden_tool_calls_total', {
      server: 'fs',
      tool: 'delete',
      decision: 'deny',
      outcome: 'refused',
    }),
    1,
  );
  const duration = { server: 'fs', tool: 'read', decision: 'allow' };
  assert.equal(sample(text, 'mcp_warden_tool_call_duration_seconds_bucket', { ...duration, le: '1' }), 0);
  assert.equal(sample(text, 'mcp_warden_tool_call_duration_seconds_bucket', { ...duration, le: '2.5' }), 1);
  assert.equal(sample(text, 'mcp_warden_tool_call_duration_seconds_sum', duration), 1.5);
  assert.equal(sample(text, 'mcp_warden_refusals_total', { server: 'fs', reason: 'policy' }), 1);
  assert.equal(sample(text, 'mcp_warden_refusals_total', { server: 'fs', reason: 'limit' }), 0);
  assert.equal(sample(text, 'mcp_warden_audit_write_seconds_count', { kind: 'call' }), 1);
  assert.equal(sample(text, 'mcp_warden_audit_write_seconds_sum', { kind: 'call' }), 0.00025);
});

test('refusal reasons: each guard step by its name, policy rules by their source, anything else "other"', () => {
  const cases: [string | undefined, string][] = [
    ['config tool lists: denied by the config', 'tool_list'],
    ['tool pins: its definition changed', 'pin'],
    ['limits: 10 calls a minute', 'limit'],
    ['approval timeout: no one approved it within 60 s', 'approval_timeout'],
    ['approval withdrawn: the client went away', 'approval_withdrawn'],
    ['person via cli: a person denied it via cli', 'approval_denied'],
    ['approval: no policy verdict was reached', 'approval_error'],
    ['managed policy /etc/mcp-warden/policy.json (rule 1: deny *): IT says no', 'policy'],
    ['org policy https://p.example/org.jws: no', 'policy'],
    ['user config /home/a/.config/mcp-warden/config.json (rule 3: deny x): no', 'policy'],
    ['built-in defaults: write tools ask', 'policy'],
    ['something new', 'other'],
    [undefined, 'other'],
  ];
  for (const [reason, word] of cases) assert.equal(refusalReason(reason), word, String(reason));
  fc.assert(fc.property(fc.string(), (reason) => REFUSAL_REASONS.includes(refusalReason(reason))));
});

test('the fixed histogram renders the same buckets, sum and count as a prom-client Histogram of the same observations', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.double({ min: 0, max: 1000, noNaN: true }), { maxLength: 200 }),
      async (values) => {
        const ours = new FixedHistogram(CALL_DURATION_BUCKETS);
        const registry = new Registry();
        const theirs = new Histogram({
          name: 'h',
          help: 'h',
          buckets: CALL_DURATION_BUCKETS,
          registers: [registry],
        });
        for (const v of values) {
          ours.observe(v);
          theirs.observe(v);
        }
        const text = await registry.metrics();
        for (const { le, value } of ours.cumulative())
          assert.equal(sample(text, 'h_bucket', { le }), value, `le ${le}`);
        assert.equal(sample(text, 'h_count', {}), ours.count);
        assert.ok(Math.abs((sample(text, 'h_sum', {}) ?? NaN) - ours.sum) < 1e-6);
      },
    ),
    { numRuns: 100 },
  );
});

test(`a client naming endless tools makes at most ${MAX_TOOLS_PER_SERVER} tool series per server, the rest under "${OTHER_TOOL}"`, async () => {
  const metrics = new WardenMetrics({ defaultMetrics: false });
  const calls = MAX_TOOLS_PER_SERVER + 50;
  for (let i = 0; i < calls; i++) metrics.refused('fs', `tool-${i}`, 'tool pins: not offered', 0);
  const text = await render(metrics);
  const tools = new Set(
    [...text.matchAll(/^mcp_warden_tool_calls_total\{[^}]*tool="([^"]*)"/gm)].map((m) => m[1]),
  );
  assert.equal(tools.size, MAX_TOOLS_PER_SERVER + 1);
  assert.equal(
    sample(text, 'mcp_warden_tool_calls_total', {
      server: 'fs',
      tool: OTHER_TOOL,
      decision: 'deny',
      outcome: 'refused',
    }),
    50,
  );
  assert.equal(sample(text, 'mcp_warden_refusals_total', { server: 'fs', reason: 'pin' }), calls);
});

test('approvals: pending while held, and the wait observed when a person answers', async () => {
  const metrics = new WardenMetrics({ defaultMetrics: false });
  const broker = new ApprovalBroker();
  metrics.followApprovals(broker);
  const outcome = broker.request(
    {
      sessionId: 's',
      client: { name: 'c' },
      server: 'fs',
      tool: 'write',
      arguments: { path: '/x' },
      rule: { source: 'test', text: 'ask' },
      choices: ['deny', 'allow-once'],
    },
    { timeoutMs: 60_000 },
  );
  assert.equal(sample(await render(metrics), 'mcp_warden_approvals_pending', {}), 1);
  const [request] = broker.list();
  assert.ok(request);
  broker.answer(request.id, { choice: 'allow-once', argumentsHash: request.argumentsHash, by: 'test' });
  assert.equal((await outcome).kind, 'answered');
  const text = await render(metrics);
  assert.equal(sample(text, 'mcp_warden_approvals_pending', {}), 0);
  assert.equal(sample(text, 'mcp_warden_approval_wait_seconds_count', { outcome: 'answered' }), 1);
  metrics.close();
});

test('other parts add a gauge read at scrape time (the outbox depth); a second of the same name throws', async () => {
  const metrics = new WardenMetrics({ defaultMetrics: false });
  let depth = 3;
  metrics.gauge({
    name: 'mcp_warden_outbox_depth',
    help: 'records waiting to be forwarded, by destination',
    labelNames: ['destination'],
    read: () => [{ labels: { destination: 'siem' }, value: depth }],
  });
  assert.equal(sample(await render(metrics), 'mcp_warden_outbox_depth', { destination: 'siem' }), 3);
  depth = 0;
  assert.equal(sample(await render(metrics), 'mcp_warden_outbox_depth', { destination: 'siem' }), 0);
  assert.throws(
    () => metrics.gauge({ name: 'mcp_warden_outbox_depth', help: 'again', labelNames: [], read: () => [] }),
    /already been registered/,
  );
});

test(
  "Warden's own metrics pass Prometheus's linter (promtool check metrics)",
  { skip: prometheusMissing() },
  async () => {
    // prom-client names three of its default gauges nodejs_active_*_total, which the linter
    // flags as gauges with a counter's suffix: they are left out here.
    const metrics = new WardenMetrics({ defaultMetrics: false });
    metrics.callStarted(1, 'fs', 'read', 'allow');
    metrics.callEnded(1, 'tool_error', 20);
    metrics.refused('fs', 'write', 'limits: too many', 1);
    metrics.auditWrite('outcome', 0.1);
    metrics.observe({
      upstreams: () => [{ server: 'fs', state: 'up' }],
      sessionClients: () => ['claude-code', 'claude-code', 'cursor'],
    });
    const text = await render(metrics);
    assert.equal(sample(text, 'mcp_warden_active_sessions', { client: 'claude-code' }), 2);
    assert.equal(sample(text, 'mcp_warden_upstream_status', { server: 'fs', state: 'up' }), 1);
    const { code, output } = await new Promise<{ code: number | null; output: string }>((resolve, reject) => {
      const child = spawn('promtool', ['check', 'metrics'], { stdio: ['pipe', 'pipe', 'pipe'] });
      let output = '';
      child.stdout.on('data', (d: Buffer) => (output += d.toString()));
      child.stderr.on('data', (d: Buffer) => (output += d.toString()));
      child.once('error', reject);
      child.once('close', (code) => resolve({ code, output }));
      child.stdin.end(text);
    });
    assert.equal(code, 0, output);
    metrics.close();
  },
);

test('sandbox violations are counted by server and kind', async () => {
  const metrics = new WardenMetrics({ defaultMetrics: false });
  metrics.sandboxViolation('files', 'write');
  metrics.sandboxViolation('files', 'write');
  metrics.sandboxViolation('files', 'network');
  const text = await metrics.registry.metrics();
  assert.match(text, /^mcp_warden_sandbox_violations_total\{server="files",kind="write"\} 2$/m);
  assert.match(text, /^mcp_warden_sandbox_violations_total\{server="files",kind="network"\} 1$/m);
  assert.doesNotMatch(text, /kind="read"/);
});
