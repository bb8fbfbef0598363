import { connectControlClient } from '../../core/control/connect.ts';
import { WardenError } from '../../core/errors.ts';
import type { WardenPaths } from '../../core/paths.ts';

const out = (text: string) => void process.stdout.write(text + '\n');

/** `rules list`: the remembered "always allow" decisions of the running daemon. */
export async function listRules(paths: WardenPaths, options: { json?: boolean }): Promise<void> {
  const list = await (await connectControlClient(paths)).rules();
  if (options.json) return out(JSON.stringify(list, null, 2));
  if (!list.length) return out('no remembered decisions');
  for (const r of list) {
    const when = r.conditions?.map((c) => `${c.pointer} ${c.glob ?? `~/${c.regex}/`}`).join(' and ');
    out(
      `#${r.id}  allow ${r.server}/${r.tool}${when ? ` when ${when}` : ''}  (${r.createdBy}, ${r.createdAt})`,
    );
  }
}

/**
 * `rules revoke <id>`: forgets a remembered decision.
 * @throws WardenError USAGE when the id is not a number.
 */
export async function revokeRule(paths: WardenPaths, id: string): Promise<void> {
  if (!/^\d+$/.test(id)) throw new WardenError('USAGE', `rule ids are numbers, got "${id}"`);
  await (await connectControlClient(paths)).revokeRule(Number(id));
  out(`revoked #${id}`);
}
