import type * as Diff from 'diff';
import { jsonc, parseJsonc } from './jsonc-file.ts';
import { MIN_SEARCHED, type ProtectPlan } from './protect-plan.ts';
import { lazyModule } from '../lazy-module.ts';

/** diff, loaded by the first diff shown. */
const diff = lazyModule<typeof Diff>('diff', 'the text differ');

/** The plan as a person reviews it: both diffs, secret values replaced by their names. */
export function describePlan(plan: ProtectPlan, wardenConfigFile: string): string {
  const moves = plan.servers.flatMap((s) => s.moves.map((m) => ({ ...m, server: s.name })));
  const hide = (text: string): string =>
    moves.reduce(
      (t, m) =>
        [m.value, JSON.stringify(m.value).slice(1, -1)]
          .filter((v) => v.length >= MIN_SEARCHED)
          .reduce((u, v) => u.split(v).join(`[moved to keychain as ${m.secret}]`), t),
      text,
    );
  const lines = [
    `Protect ${plan.servers.length} server(s) of ${plan.location.label} (${plan.location.file}):`,
  ];
  for (const s of plan.servers) {
    lines.push(`  ${s.name}: Warden will run exactly: ${s.target}`);
    for (const m of s.moves) lines.push(`    ${m.where}.${m.key} -> OS keychain as "${m.secret}"`);
  }
  for (const w of plan.warnings) lines.push(`  warning: ${w}`);
  lines.push(
    '',
    hide(
      diff().createTwoFilesPatch(
        plan.location.file,
        plan.location.file,
        redactLiterals(plan.clientBefore, plan),
        plan.clientAfter,
        'now',
        'protected',
      ),
    ),
  );
  lines.push(
    hide(
      diff().createTwoFilesPatch(
        wardenConfigFile,
        wardenConfigFile,
        plan.wardenBefore,
        plan.wardenAfter,
        'now',
        'protected',
      ),
    ),
  );
  return lines.join('\n');
}

/** The client text with each moved value's string literal replaced by a placeholder, however it is escaped. */
function redactLiterals(text: string, plan: ProtectPlan): string {
  const doc = parseJsonc(text, plan.location.file);
  const bom = text.startsWith('\uFEFF') ? 1 : 0;
  const ranges: { offset: number; length: number; secret: string }[] = [];
  for (const s of plan.servers)
    for (const m of s.moves) {
      const node = jsonc().findNodeAtLocation(doc.tree, [plan.location.key, s.name, m.where, m.key]);
      if (node) ranges.push({ offset: node.offset + bom, length: node.length, secret: m.secret });
    }
  ranges.sort((a, b) => b.offset - a.offset);
  let out = text;
  for (const r of ranges)
    out = `${out.slice(0, r.offset)}"[moved to keychain as ${r.secret}]"${out.slice(r.offset + r.length)}`;
  return out;
}
