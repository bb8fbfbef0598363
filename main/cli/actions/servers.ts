import { connectControlClient } from '../../core/control/connect.ts';
import { WardenError } from '../../core/errors.ts';
import type { WardenPaths } from '../../core/paths.ts';
import { confirm } from '../prompts.ts';

const out = (text: string) => void process.stdout.write(text + '\n');

/** `servers list`: the configured servers, whether they may run, their sessions and breakers. */
export async function listServers(paths: WardenPaths): Promise<void> {
  for (const s of await (await connectControlClient(paths)).servers()) {
    out(
      `${s.name} (${s.kind})  ${s.allowed ? `allowed${s.trusted ? ', trusted' : ''}` : 'NOT ALLOWED'}  sessions ${s.sessions}  breaker ${s.breaker}${s.warm && s.kind === 'stdio' ? `  warm ${s.warm.state}${s.warm.reason ? ` (${s.warm.reason})` : ''}` : ''}`,
    );
    out(`  ${s.target}`);
    if (s.reason) out(`  ${s.reason}`);
    if (s.sandbox) {
      const count = s.sandbox.violations
        ? `, ${s.sandbox.violations} violation${s.sandbox.violations > 1 ? 's' : ''}`
        : '';
      out(`  sandbox ${s.sandbox.state}${count}${s.sandbox.reason ? `: ${s.sandbox.reason}` : ''}`);
    }
  }
}

/**
 * `servers approve <name>`: approves a server's exact command (or URL), shown in full first and
 * confirmed on a terminal unless `yes`.
 * @throws WardenError NOT_FOUND for a server not in the config; USAGE without a terminal or --yes.
 */
export async function approveServer(
  paths: WardenPaths,
  name: string,
  options: { yes?: boolean },
): Promise<void> {
  const control = await connectControlClient(paths);
  const entry = (await control.servers()).find((s) => s.name === name);
  if (!entry) throw new WardenError('NOT_FOUND', `no server "${name}" in the config`);
  out(`Server "${name}" will run exactly:\n  ${entry.target}`);
  if (entry.envKeys.length)
    out(
      `with ${entry.kind === 'stdio' ? 'environment' : 'headers'}: ${entry.envKeys.join(', ')} (values not shown)`,
    );
  if (!options.yes) {
    if (!(await confirm('Approve?', { refusal: 'not a terminal: pass --yes to approve' })))
      return out('not approved');
  }
  await control.approveServer(name, entry.identityHash);
  out(`approved "${name}"`);
}
