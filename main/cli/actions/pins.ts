import { commandHint } from '../../core/command-hint.ts';
import { connectControlClient } from '../../core/control/connect.ts';
import { WardenError } from '../../core/errors.ts';
import type { WardenPaths } from '../../core/paths.ts';
import { reviewHash } from '../../core/pins/review-hash.ts';
import { confirm } from '../prompts.ts';

const out = (text: string) => void process.stdout.write(text + '\n');

/** `pins list`: the pinned definitions, the changes awaiting review and tools offered twice. */
export async function listPins(
  paths: WardenPaths,
  options: { diff?: boolean; json?: boolean },
): Promise<void> {
  const data = await (await connectControlClient(paths)).pins();
  if (options.json) return out(JSON.stringify(data, null, 2));
  out(`${data.pins.length} pinned definition(s)`);
  for (const p of data.pins) out(`  ${p.server} ${p.kind} ${p.name}  ${p.hash.slice(0, 12)}  ${p.pinnedAt}`);
  out(
    data.reviews.length
      ? `${data.reviews.length} awaiting review (hidden until approved):`
      : 'nothing awaits review',
  );
  for (const r of data.reviews) {
    const hash = reviewHash(r);
    // Options before the names: a name starting with "-" follows a "--".
    const command = commandHint(
      [
        'mcp-warden',
        'pins',
        'approve',
        ...(r.kind === 'tool' ? [] : ['--kind', r.kind]),
        ...(options.diff && hash ? ['--hash', hash] : []),
      ],
      [r.server, r.name],
    );
    out(`  ${r.server} ${r.kind} ${r.name}: ${r.status} (${r.detectedAt}); approve with \`${command}\``);
    if (!options.diff) continue;
    if (hash) out(`    ${r.status === 'removed' ? 'pinned' : 'offered'} sha256 ${hash}`);
    if (r.diff) out(indent(r.diff));
  }
  for (const s of data.shadows)
    out(
      `warning: client "${s.client}" is offered tool "${s.tool}" by several servers: ${s.servers.join(', ')}`,
    );
}

/**
 * `pins approve <server> <name>`: approves a definition awaiting review, by the hash the person
 * reviewed, or shown here first and confirmed on a terminal.
 * @throws WardenError USAGE for a malformed hash or no terminal to confirm on; NOT_FOUND when
 *   nothing of that name awaits review; CONFLICT when the review has no hash.
 */
export async function approvePin(
  paths: WardenPaths,
  server: string,
  name: string,
  options: { kind: string; hash?: string },
): Promise<void> {
  const control = await connectControlClient(paths);
  let hash = options.hash;
  if (hash !== undefined && !/^[0-9a-f]{64}$/.test(hash))
    throw new WardenError(
      'USAGE',
      `--hash takes the 64-hex-digit sha256 shown by \`mcp-warden pins list --diff\`, got "${hash}"`,
    );
  if (hash === undefined) {
    const review = (await control.pins()).reviews.find(
      (r) => r.server === server && r.kind === options.kind && r.name === name,
    );
    if (!review)
      throw new WardenError(
        'NOT_FOUND',
        `no ${options.kind} "${name}" of server "${server}" awaits review; \`mcp-warden pins list\` shows what does`,
      );
    hash = reviewHash(review) ?? undefined;
    if (!hash)
      throw new WardenError(
        'CONFLICT',
        `the review of ${options.kind} "${name}" has no hash; it cannot be approved`,
      );
    out(`${options.kind} "${name}" of server "${server}": ${review.status} (${review.detectedAt})`);
    if (review.diff) out(indent(review.diff));
    out(`${review.status === 'removed' ? 'pinned' : 'offered'} sha256 ${hash}`);
    const question = review.status === 'removed' ? 'Approve the removal?' : 'Approve this definition?';
    const refusal = `not a terminal: review the diff above and pass --hash ${hash} to approve exactly this definition`;
    if (!(await confirm(question, { refusal }))) return out('not approved');
  }
  await control.approvePin(server, options.kind, name, hash);
  out(`approved the reviewed definition of ${options.kind} "${name}" of server "${server}" (sha256 ${hash})`);
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((l) => `    ${l}`)
    .join('\n');
}
