import path from 'node:path';
import { clientLocations, type ClientLocation } from '../../core/clients/locations.ts';
import { inspectClient } from '../../core/clients/protect.ts';
import { WardenError } from '../../core/errors.ts';
import type { WardenPaths } from '../../core/paths.ts';
import { withControl } from '../control.ts';
import { confirm } from '../prompts.ts';

const out = (text: string) => void process.stdout.write(text + '\n');
const warn = (text: string) => void process.stderr.write(`mcp-warden: ${text}\n`);

function locate(id: string, file?: string): ClientLocation {
  const all = clientLocations();
  const location = all.find((l) => l.id === id);
  if (!location)
    throw new WardenError('USAGE', `unknown client "${id}"; one of: ${all.map((l) => l.id).join(', ')}`);
  return file ? { ...location, file: path.resolve(file) } : location;
}

const NO_TTY = 'not a terminal: review the preview, then run again with --yes';

/** `clients list`: the client configs found, their servers, which are protected, plaintext secrets. */
export async function listClients(options: { json?: boolean }): Promise<void> {
  const reports = await Promise.all(clientLocations().map(inspectClient));
  if (options.json) {
    return out(
      JSON.stringify(
        reports.map((r) => ({ ...r, servers: r.servers.map(({ entry: _entry, ...s }) => s) })),
        null,
        2,
      ),
    );
  }
  for (const r of reports) {
    if (!r.exists) continue;
    out(`${r.location.label} [${r.location.id}]: ${r.location.file}`);
    if (r.error) out(`  cannot read it: ${r.error}`);
    for (const s of r.servers) {
      const secrets = s.secrets.map((f) => `${f.where}.${f.key} (${f.reason})`).join(', ');
      out(
        `  ${s.name}: ${s.protected ? 'protected by Warden' : 'NOT protected'}${secrets ? `; plaintext secrets: ${secrets}` : ''}`,
      );
    }
  }
  if (!reports.some((r) => r.exists)) out('no MCP client configs found');
}

/** The options of `clients protect`. */
export interface ProtectOptions {
  server?: string[];
  file?: string;
  yes?: boolean;
}

/**
 * `clients protect <client>`: a preview of moving the client's servers behind Warden, then (asked
 * on a terminal, or with `yes`) the change.
 * @throws WardenError USAGE for an unknown client or no terminal without --yes; the change's errors.
 */
export async function protectClient(paths: WardenPaths, id: string, options: ProtectOptions): Promise<void> {
  const location = locate(id, options.file);
  const servers = options.server ? { servers: options.server } : {};
  const control = { local: options.file !== undefined, client: id, file: location.file };
  await withControl(
    paths,
    async (api) => {
      const preview = await api.request('previewProtect', { params: { id }, body: servers });
      if (!preview.servers.length) return out(`nothing to protect in ${preview.file}`);
      out(preview.diff ? `${preview.summary}\n\n${preview.diff}` : preview.summary);
      out(
        'These servers have not run under Warden before: each command above is shown in full. Approving lets Warden run them.',
      );
      if (!(await confirm('Apply these changes?', { yes: options.yes, refusal: NO_TTY })))
        return out('nothing was changed');
      const done = await api.request('protect', {
        params: { id },
        body: { clientSha256: preview.clientSha256, channel: 'cli', ...servers },
      });
      done.notes.forEach(warn);
      out(`protected ${done.servers.join(', ')}; backup of the original: ${done.backup}`);
      out('A running Warden picks up the new servers within seconds. Restart the client to use them.');
    },
    control,
  );
}

/**
 * `clients restore <client>`: puts a client config back as it was before `protect`.
 * @throws WardenError USAGE for an unknown client; the change's errors.
 */
export async function restoreClient(
  paths: WardenPaths,
  id: string,
  options: { file?: string },
): Promise<void> {
  const location = locate(id, options.file);
  const { report } = await withControl(paths, (api) => api.restore(id), {
    local: options.file !== undefined,
    client: id,
    file: location.file,
  });
  for (const line of report) out(line);
}
