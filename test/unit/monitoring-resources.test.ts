/**
 * resources/monitoring (alerts.yml, grafana-dashboard.json) and docs/metrics.md name only metrics
 * Warden exports: every metric name in their PromQL is one the registry renders.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { parse } from 'yaml';
import { WardenMetrics } from '../../main/core/metrics/warden-metrics.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const read = (file: string): string => fs.readFileSync(path.join(ROOT, file), 'utf8');

/** Metric names a PromQL expression uses (ours and the process/runtime ones). */
function metricNames(expr: string): string[] {
  return [...expr.matchAll(/\b((?:mcp_warden|process|nodejs)_[a-z0-9_]+)\b/g)].map((m) => m[1]!);
}

async function exported(): Promise<Set<string>> {
  const metrics = new WardenMetrics();
  metrics.callStarted(1, 'fs', 'read', 'allow');
  metrics.callEnded(1, 'ok', 1);
  metrics.refused('fs', 'x', undefined, 0);
  const text = (await metrics.render()).text;
  metrics.close();
  // Every metric (its # HELP line, samples or not) and every series name.
  // A histogram's series are its name with _bucket, _sum and _count, samples or not.
  return new Set(
    text.split('\n').flatMap((line) => {
      const histogram = /^# TYPE (\S+) histogram$/.exec(line)?.[1];
      if (histogram) return [histogram, `${histogram}_bucket`, `${histogram}_sum`, `${histogram}_count`];
      return /^(?:# HELP )?([a-zA-Z_:][a-zA-Z0-9_:]*)[ {]/.exec(line)?.[1] ?? [];
    }),
  );
}

test('the alerts and the Grafana dashboard query only metrics Warden exports', async () => {
  const names = await exported();
  const alerts = parse(read('resources/monitoring/alerts.yml')) as {
    groups: { rules: { alert: string; expr: string }[] }[];
  };
  const rules = alerts.groups.flatMap((g) => g.rules);
  assert.deepEqual(
    rules.map((r) => r.alert),
    ['McpServerDown', 'McpServerErrorRateHigh', 'McpServerSlowResponses'],
  );
  const dashboard = JSON.parse(read('resources/monitoring/grafana-dashboard.json')) as {
    panels: { title: string; targets: { expr: string }[] }[];
  };
  const exprs = [
    ...rules.map((r) => r.expr),
    ...dashboard.panels.flatMap((p) => p.targets.map((t) => t.expr)),
  ];
  assert.ok(exprs.length >= 12);
  for (const expr of exprs) {
    const used = metricNames(expr);
    assert.ok(used.length > 0, expr);
    for (const name of used) assert.ok(names.has(name), `${name} (in ${expr}) is not exported`);
  }
});

test('docs/metrics.md maps each of the seed names and names only exported metrics', async () => {
  const names = await exported();
  const doc = read('docs/metrics.md');
  for (const seed of [
    'mcp_server_status',
    'mcp_server_response_time',
    'mcp_server_error_rate',
    'mcp_hub_requests_total',
    'mcp_hub_request_duration',
    'mcp_hub_active_connections',
  ]) {
    assert.match(doc, new RegExp(`\\| \`${seed}\``), `${seed} has a row in the mapping table`);
  }
  for (const name of new Set(metricNames(doc)))
    assert.ok(names.has(name), `${name} in docs/metrics.md is not exported`);
});
