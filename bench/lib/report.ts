import os from 'node:os';
import type { Latency } from './stats.ts';

/** A named figure of a row besides its latency: `rss at call 1000` 52.1 MiB. */
export interface Figure {
  label: string;
  value: number | null | undefined;
  unit: 'ms' | 'us' | 'MiB' | 'calls/s' | '%' | 'count';
}

/** One measured setup: what it measures, and its figures; or why it was skipped. */
export interface Row {
  id: string;
  measures: string;
  latency?: Latency;
  figures?: Figure[];
  skipped?: string;
}

/** One must-show target: a ratio or a figure of rows of the same run, and its bound. */
export interface Check {
  what: string;
  value: number | undefined;
  unit: 'x' | 'MiB' | 'ms' | '%';
  bound: '<=' | '>=';
  target: number;
  /** Why there is no value (a row skipped or not selected). */
  missing?: string;
}

/** Everything a run produced, as `--json` prints it. */
export interface Report {
  bench: string;
  startedAt: string;
  machine: { node: string; cpus: number; loadAverage: number[]; shared: string };
  options: Record<string, unknown>;
  rows: Row[];
  checks: (Check & { verdict: 'ok' | 'MISSED' | 'n/a' })[];
}

/** ok when `value` meets its bound, MISSED when not, n/a without a value. */
export function verdict(check: Check): 'ok' | 'MISSED' | 'n/a' {
  if (check.value === undefined || !Number.isFinite(check.value)) return 'n/a';
  return (check.bound === '<=' ? check.value <= check.target : check.value >= check.target) ? 'ok' : 'MISSED';
}

/** The report of a run: rows and checks, with the machine it ran on. */
export function makeReport(
  bench: string,
  startedAt: Date,
  options: Record<string, unknown>,
  rows: Row[],
  checks: Check[],
): Report {
  return {
    bench,
    startedAt: startedAt.toISOString(),
    machine: {
      node: process.versions.node,
      cpus: os.cpus().length,
      loadAverage: os.loadavg().map((n) => Math.round(n * 100) / 100),
      shared: 'figures are of one run on this machine; compare the ratios, measured side by side',
    },
    options,
    rows,
    checks: checks.map((check) => ({ ...check, verdict: verdict(check) })),
  };
}

const ms = (n: number | undefined): string => (n === undefined ? '-' : n < 10 ? n.toFixed(3) : n.toFixed(1));

function figureText(f: Figure): string {
  if (f.value === undefined || f.value === null) return `${f.label} -`;
  if (f.unit === 'count') return `${f.label} ${f.value.toFixed(0)}`;
  if (f.unit === '%') return `${f.label} ${f.value.toFixed(1)} %`;
  const value =
    f.unit === 'MiB' ? f.value.toFixed(1) : f.unit === 'calls/s' ? f.value.toFixed(0) : ms(f.value);
  return `${f.label} ${value} ${f.unit}`;
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  return rows
    .map((row) =>
      row
        .map((cell, i) =>
          i === 0 || i === row.length - 1 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!),
        )
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** The report as text: one table of rows, the must-show checks under it, then what each row measures. */
export function formatReport(report: Report): string {
  const rows = [
    ['row', 'p50 ms', 'p99 ms', 'mean ms', 'calls/s', 'other'],
    ...report.rows.map((r) =>
      r.skipped
        ? [r.id, '-', '-', '-', '-', `skipped: ${r.skipped}`]
        : [
            r.id,
            ms(r.latency?.p50Ms),
            ms(r.latency?.p99Ms),
            ms(r.latency?.meanMs),
            r.latency ? r.latency.callsPerSecond.toFixed(0) : '-',
            (r.figures ?? []).map(figureText).join(', '),
          ],
    ),
  ];
  const checks = [
    ['must show', 'value', 'target', 'verdict'],
    ...report.checks.map((c) => [
      c.what,
      c.value === undefined
        ? '-'
        : `${c.value.toFixed(c.unit === 'x' ? 2 : 1)}${c.unit === 'x' ? 'x' : ` ${c.unit}`}`,
      `${c.bound} ${Number(c.target.toFixed(2))}${c.unit === 'x' ? 'x' : ` ${c.unit}`}`,
      c.verdict === 'n/a' && c.missing ? `n/a (${c.missing})` : c.verdict,
    ]),
  ];
  const legend = report.rows.map((r) => `  ${r.id}: ${r.measures}`);
  const m = report.machine;
  return [
    table(rows),
    '',
    table(checks),
    '',
    'rows:',
    ...legend,
    `(${report.startedAt}, Node ${m.node}, ${m.cpus} CPUs, load ${m.loadAverage.join(' ')}; ${m.shared})`,
  ].join('\n');
}

/**
 * A check of `numerator / denominator` of two rows' figures, n/a when either is missing.
 * @param pick reads the figure of a row (undefined when the row has none).
 */
export function ratioCheck(
  what: string,
  rows: Row[],
  numeratorId: string,
  denominatorId: string,
  pick: (row: Row) => number | undefined,
  bound: Check['bound'],
  target: number,
): Check {
  const find = (id: string) => rows.find((r) => r.id === id);
  const a = find(numeratorId);
  const b = find(denominatorId);
  const missing = [
    a ? a.skipped && `${a.id} skipped` : `${numeratorId} not run`,
    b ? b.skipped && `${b.id} skipped` : `${denominatorId} not run`,
  ]
    .filter(Boolean)
    .join(', ');
  const x = a && !a.skipped ? pick(a) : undefined;
  const y = b && !b.skipped ? pick(b) : undefined;
  return {
    what,
    value: x !== undefined && y !== undefined && y > 0 ? x / y : undefined,
    unit: 'x',
    bound,
    target,
    ...(missing ? { missing } : {}),
  };
}

/** A check of one figure of one row against a bound, n/a when the row or figure is missing. */
export function figureCheck(
  what: string,
  rows: Row[],
  id: string,
  pick: (row: Row) => number | null | undefined,
  unit: Check['unit'],
  bound: Check['bound'],
  target: number,
): Check {
  const row = rows.find((r) => r.id === id);
  const value = row && !row.skipped ? (pick(row) ?? undefined) : undefined;
  const missing = !row
    ? `${id} not run`
    : row.skipped
      ? `${id} skipped`
      : value === undefined
        ? 'no figure'
        : '';
  return { what, value, unit, bound, target, ...(missing ? { missing } : {}) };
}

/** The value of the figure labelled `label` of `row`. */
export function figure(row: Row, label: string): number | undefined {
  return row.figures?.find((f) => f.label === label)?.value ?? undefined;
}
