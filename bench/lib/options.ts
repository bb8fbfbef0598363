import { parseArgs } from 'node:util';

/** The bench's command-line options, checked. */
export interface BenchOptions {
  /** Measured calls per row (the 16-client rows share them out). */
  calls: number;
  /** Calls before measuring, per row (per client in the 16-client rows, at least 5 each). */
  warmup: number;
  /** Spawns per side of the cold-start rows. */
  runs: number;
  /** Rounds the sequential rows of a group take turns in (interleaved.ts). */
  rounds: number;
  /** Concurrent clients of the throughput rows. */
  clients: number;
  /** Print the report as JSON on stdout instead of the table. */
  json: boolean;
  /** Row ids or groups to run (empty: all), from --only a,b,c. */
  only: string[];
}

/**
 * Parses `argv` (process.argv.slice(2) by default) for the options the bench scripts share, with
 * the defaults given. `--only` takes comma-separated row ids or group names (`stdio`, `http`, ...).
 * @throws Error naming the option whose value is not a positive integer, or an unknown option.
 */
export function benchOptions(
  defaults: { calls: number; warmup: number; runs?: number; clients?: number; rounds?: number },
  argv: string[] = process.argv.slice(2),
): BenchOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      calls: { type: 'string', default: String(defaults.calls) },
      warmup: { type: 'string', default: String(defaults.warmup) },
      runs: { type: 'string', default: String(defaults.runs ?? 10) },
      clients: { type: 'string', default: String(defaults.clients ?? 16) },
      rounds: { type: 'string', default: String(defaults.rounds ?? 1) },
      only: { type: 'string', default: '' },
      json: { type: 'boolean', default: false },
    },
  });
  const count = (name: 'calls' | 'warmup' | 'runs' | 'clients' | 'rounds', min: number): number => {
    const n = Number(values[name]);
    if (!Number.isInteger(n) || n < min)
      throw new Error(`--${name} must be an integer >= ${min}, not "${values[name]}"`);
    return n;
  };
  return {
    calls: count('calls', 1),
    warmup: count('warmup', 0),
    runs: count('runs', 1),
    clients: count('clients', 1),
    rounds: count('rounds', 1),
    json: values.json,
    only: values.only
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
  };
}

/**
 * Does `--only` select `id`: a row id ("stdio.shim") or a group ("stdio")? A row is selected by
 * its id or its group (the part before the first dot), a group by its name or any of its rows.
 */
export function selected(options: Pick<BenchOptions, 'only'>, id: string): boolean {
  if (!options.only.length) return true;
  const group = id.split('.')[0]!;
  return options.only.some((name) => name === id || name === group || name.startsWith(`${id}.`));
}
