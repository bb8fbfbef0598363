/**
 * `npm run bench`: every benchmark of bench/, one after the other, each as its own process (so
 * none inherits another's heap or loaded modules), each printing its rows side by side with its
 * baseline and its must-show checks. Figures of different benchmarks are of different moments:
 * compare within one benchmark's table.
 *
 * Usage: node bench/all.ts [--list] [--bench name,name] [options of the benchmarks]
 *   --list     print the benchmarks and exit
 *   --bench    run only these (names as --list prints them, e.g. echo-latency,audit-writes)
 * Every other argument goes to each benchmark run; a benchmark refuses an option it does not
 * know, so pass a benchmark's own options with --bench naming it alone
 * (`npm run bench -- --bench echo-latency --only stdio,cold`).
 * Exit status: 1 when a benchmark failed to run (not when a target is missed: see the checks).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const HERE = import.meta.dirname;
/** Run separately: `npm run bench:soak` (100 000 calls; minutes on its own). */
const SEPARATE = new Set(['shim-soak']);
/** The data path first: the figures every other benchmark's "off" side is compared with. */
const FIRST = ['echo-latency', 'audit-writes'];

/** The runner's own options (--list, --bench), and the rest, in order, for each benchmark. */
function splitArgs(args: string[]): { list: boolean; bench: string | undefined; passed: string[] } {
  const out = { list: false, bench: undefined as string | undefined, passed: [] as string[] };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--list') out.list = true;
    else if (arg === '--bench') out.bench = args[++i] ?? '';
    else if (arg.startsWith('--bench=')) out.bench = arg.slice('--bench='.length);
    else out.passed.push(arg);
  }
  return out;
}

const { list, bench, passed } = splitArgs(process.argv.slice(2));
const all = fs
  .readdirSync(HERE)
  .filter((f) => f.endsWith('.bench.ts'))
  .map((f) => f.slice(0, -'.bench.ts'.length))
  .filter((name) => !SEPARATE.has(name))
  .sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));

function rank(name: string): number {
  const i = FIRST.indexOf(name);
  return i === -1 ? FIRST.length : i;
}

if (list) {
  process.stdout.write(`${all.join('\n')}\n`);
  process.exit(0);
}
const only = bench?.split(',').filter(Boolean);
const unknown = only?.filter((name) => !all.includes(name)) ?? [];
if (unknown.length) {
  process.stderr.write(`bench: no benchmark named ${unknown.join(', ')} (have: ${all.join(', ')})\n`);
  process.exit(2);
}
let failed = 0;
for (const name of only ?? all) {
  process.stdout.write(
    `\n=== ${name} (node bench/${name}.bench.ts${passed.length ? ` ${passed.join(' ')}` : ''})\n`,
  );
  const run = spawnSync(process.execPath, [path.join(HERE, `${name}.bench.ts`), ...passed], {
    stdio: 'inherit',
  });
  if (run.status !== 0) {
    failed++;
    process.stdout.write(`=== ${name} failed (${run.signal ?? `exit ${run.status}`})\n`);
  }
}
process.exit(failed ? 1 : 0);
