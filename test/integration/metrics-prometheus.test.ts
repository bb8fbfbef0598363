/**
 * Prometheus metrics (docs/metrics.md): `GET /metrics` on the daemon's port behind its bearer
 * token, the opt-in tokenless loopback port (`metrics.port`), and Debian's Prometheus, started
 * here on loopback with a temp config, scraping both and answering the call counter for the
 * calls this test made through its query API.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { prometheusMissing } from '../helpers/requirements.ts';
import { callTool, httpClient } from '../helpers/sdk-client.ts';
import {
  everythingServer,
  freePort,
  makeWardenEnv,
  NODE,
  ROOT,
  startDaemonProcess,
  waitFor,
  type DaemonProcess,
  type WardenEnv,
} from '../helpers/warden-env.ts';

/** One sample of /metrics text: the value of `name{labels}` with exactly these labels, or undefined. */
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

describe('Prometheus metrics', { skip: prometheusMissing() }, () => {
  let w: WardenEnv;
  let daemon: DaemonProcess;
  let metricsPort: number;
  let client: Client;

  before(async () => {
    w = makeWardenEnv();
    metricsPort = await freePort();
    w.writeConfig({
      metrics: { port: metricsPort },
      policy: {
        rules: [
          { server: 'everything', tool: 'echo', action: 'allow' },
          { server: 'everything', tool: 'get-sum', action: 'deny', reason: 'no sums here' },
        ],
      },
      // A server whose process exits at once: its upstream is down.
      mcpServers: {
        everything: everythingServer(),
        broken: { command: NODE, args: ['-e', 'process.exit(3)'] },
      },
    });
    daemon = await startDaemonProcess(w);
    await assert.rejects(httpClient(daemon.url, daemon.token, 'broken', 'broken-test-client'));
    client = await httpClient(daemon.url, daemon.token, 'everything', 'metrics-test-client');
    for (let i = 0; i < 3; i++) await callTool(client, 'echo', { message: `hi ${i}` });
    for (let i = 0; i < 2; i++) {
      const refused = await callTool(client, 'get-sum', { a: 1, b: 2 });
      assert.equal(refused.isError, true);
    }
  });

  after(async () => {
    await client?.close();
    await daemon?.stop();
    w?.cleanup();
  });

  test('/metrics on the daemon port is 401 without the bearer token and with a wrong one', async () => {
    const none = await fetch(`${daemon.url}/metrics`);
    assert.equal(none.status, 401);
    assert.doesNotMatch(await none.text(), /mcp_warden_tool_calls_total/);
    const wrong = await fetch(`${daemon.url}/metrics`, { headers: { authorization: 'Bearer nope' } });
    assert.equal(wrong.status, 401);
  });

  test('with the token: the calls by server/tool/decision/outcome, refusals by reason, sessions, upstream state, memory', async () => {
    const response = await fetch(`${daemon.url}/metrics`, {
      headers: { authorization: `Bearer ${daemon.token}` },
    });
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    const text = await response.text();
    const calls = (tool: string, decision: string, outcome: string) =>
      sample(text, 'mcp_warden_tool_calls_total', { server: 'everything', tool, decision, outcome });
    assert.equal(calls('echo', 'allow', 'ok'), 3);
    assert.equal(calls('get-sum', 'deny', 'refused'), 2);
    assert.equal(sample(text, 'mcp_warden_refusals_total', { server: 'everything', reason: 'policy' }), 2);
    assert.equal(
      sample(text, 'mcp_warden_tool_call_duration_seconds_count', {
        server: 'everything',
        tool: 'echo',
        decision: 'allow',
      }),
      3,
    );
    assert.equal(sample(text, 'mcp_warden_active_sessions', { client: 'metrics-test-client' }), 1);
    assert.equal(sample(text, 'mcp_warden_upstream_status', { server: 'everything', state: 'up' }), 1);
    assert.equal(sample(text, 'mcp_warden_upstream_status', { server: 'everything', state: 'down' }), 0);
    assert.equal(sample(text, 'mcp_warden_upstream_status', { server: 'broken', state: 'down' }), 1);
    assert.equal(sample(text, 'mcp_warden_upstream_status', { server: 'broken', state: 'up' }), 0);
    assert.equal(sample(text, 'mcp_warden_approvals_pending', {}), 0);
    // Every forwarded call wrote its row before forwarding and its outcome after.
    assert.equal(sample(text, 'mcp_warden_audit_write_seconds_count', { kind: 'call' }), 3);
    assert.equal(sample(text, 'mcp_warden_audit_write_seconds_count', { kind: 'refusal' }), 2);
    assert.ok((sample(text, 'process_resident_memory_bytes', {}) ?? 0) > 0);
  });

  test('the metrics port answers GET /metrics without a token, on loopback only, and nothing else', async () => {
    const local = `http://127.0.0.1:${metricsPort}`;
    const ok = await fetch(`${local}/metrics`);
    assert.equal(ok.status, 200);
    assert.equal(
      sample(await ok.text(), 'mcp_warden_tool_calls_total', {
        server: 'everything',
        tool: 'echo',
        decision: 'allow',
        outcome: 'ok',
      }),
      3,
    );
    assert.equal((await fetch(`${local}/api/v1/status`)).status, 404);
    assert.equal(
      (await fetch(`${local}/metrics`, { headers: { origin: 'http://evil.example' } })).status,
      403,
    );
    const rebound = await rawGet(metricsPort, '/metrics', 'evil.example');
    assert.equal(rebound, 403);
  });

  test("Debian's Prometheus scrapes both (bearer token / tokenless) and its query API returns the call counter", async (t) => {
    const dir = fs.mkdtempSync(path.join(w.home, 'prometheus-'));
    const tokenFile = path.join(dir, 'token');
    fs.writeFileSync(tokenFile, daemon.token, { mode: 0o600 });
    const webPort = await freePort();
    fs.writeFileSync(
      path.join(dir, 'prometheus.yml'),
      [
        'global:',
        '  scrape_interval: 1s',
        'scrape_configs:',
        '  - job_name: warden',
        '    authorization:',
        `      credentials_file: ${tokenFile}`,
        '    static_configs:',
        `      - targets: ['127.0.0.1:${daemon.port}']`,
        '  - job_name: warden-local',
        '    static_configs:',
        `      - targets: ['127.0.0.1:${metricsPort}']`,
        '',
      ].join('\n'),
    );
    const prometheus = startPrometheus(dir, webPort);
    t.after(() => stopProcess(prometheus.child));
    const api = `http://127.0.0.1:${webPort}/api/v1`;
    await waitFor(
      async () => (await fetch(`http://127.0.0.1:${webPort}/-/ready`).catch(() => undefined))?.ok,
      30_000,
      `Prometheus to be ready (output: ${prometheus.output()})`,
    );
    const query = async (promql: string): Promise<string | undefined> => {
      const answer = (await (await fetch(`${api}/query?query=${encodeURIComponent(promql)}`)).json()) as {
        data: { result: { value: [number, string] }[] };
      };
      return answer.data.result[0]?.value[1];
    };
    for (const job of ['warden', 'warden-local']) {
      const echo = `mcp_warden_tool_calls_total{job="${job}",server="everything",tool="echo",decision="allow",outcome="ok"}`;
      assert.equal(await waitFor(() => query(echo), 30_000, `${echo} in Prometheus`), '3');
      const refused = `sum(mcp_warden_tool_calls_total{job="${job}",decision="deny"})`;
      assert.equal(await query(refused), '2');
      assert.equal(await query(`up{job="${job}"}`), '1');
    }
    // Every query of the Grafana dashboard is PromQL this Prometheus runs.
    const dashboard = JSON.parse(
      fs.readFileSync(path.join(ROOT, 'resources/monitoring/grafana-dashboard.json'), 'utf8'),
    ) as { panels: { targets: { expr: string }[] }[] };
    for (const { expr } of dashboard.panels.flatMap((p) => p.targets)) {
      const promql = expr.replaceAll('$instance', '.*');
      const answer = (await (await fetch(`${api}/query?query=${encodeURIComponent(promql)}`)).json()) as {
        status: string;
        error?: string;
      };
      assert.equal(answer.status, 'success', `${promql}: ${answer.error ?? ''}`);
    }
    const down = 'max by (server) (mcp_warden_upstream_status{job="warden",state=~"down|circuit_open"})';
    assert.equal(
      await waitFor(async () => {
        const answer = (await (await fetch(`${api}/query?query=${encodeURIComponent(down)}`)).json()) as {
          data: { result: { metric: { server: string }; value: [number, string] }[] };
        };
        return answer.data.result.find((r) => r.metric.server === 'broken')?.value[1];
      }),
      '1',
    );
  });

  test('a server that keeps failing shows circuit_open once its circuit breaker opens', async () => {
    const state = async (server: string, wanted: string) =>
      sample(
        await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text(),
        'mcp_warden_upstream_status',
        { server, state: wanted },
      );
    // Five failed starts within a minute open the breaker (CircuitBreaker defaults); one failed already.
    for (let i = 0; i < 4; i++) {
      await assert.rejects(httpClient(daemon.url, daemon.token, 'broken', 'broken-test-client'));
    }
    assert.equal(await state('broken', 'circuit_open'), 1);
    assert.equal(await state('broken', 'down'), 0);
    assert.equal(await state('everything', 'up'), 1);
  });

  test('promtool check rules passes on resources/monitoring/alerts.yml', async () => {
    const { code, output } = await run('promtool', ['check', 'rules', 'resources/monitoring/alerts.yml']);
    assert.equal(code, 0, output);
    assert.match(output, /SUCCESS: 3 rules found/);
  });

  test('the alerts fire as their promtool unit tests say (server down, error rate > 5 %, p95 > 5 s)', async () => {
    const { code, output } = await run('promtool', ['test', 'rules', 'resources/monitoring/alerts.test.yml']);
    assert.equal(code, 0, output);
  });
});

function startPrometheus(dir: string, port: number): { child: ChildProcess; output: () => string } {
  const child = spawn(
    'prometheus',
    [
      `--config.file=${path.join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${path.join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  return { child, output: () => output.slice(-4000) };
}

async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

function run(command: string, args: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code, output }));
  });
}

/** A GET with a Host header of our choosing (fetch does not let one set it); resolves with the status. */
async function rawGet(port: number, pathname: string, host: string): Promise<number> {
  const net = await import('node:net');
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () =>
      socket.write(`GET ${pathname} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`),
    );
    let text = '';
    socket.on('data', (d: Buffer) => (text += d.toString()));
    socket.once('error', reject);
    socket.once('end', () => resolve(Number(/^HTTP\/1\.1 (\d+)/.exec(text)?.[1])));
  });
}
