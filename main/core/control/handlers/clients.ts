import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { ChangeContext } from '../../change/run-change.ts';
import { type ClientLocation } from '../../clients/locations.ts';
import { applyProtect, describePlan, inspectClient, planProtect } from '../../clients/protect.ts';
import { restoreClient } from '../../clients/restore.ts';
import { WardenError } from '../../errors.ts';
import { launcher } from '../../launcher.ts';
import type { ClientConfig, ProtectPreview } from '../contract.ts';
import type { ControlHandlers } from '../invoke.ts';
import { notesOf } from './secrets.ts';

/** What the clients handlers use: the daemon's own, or a CLI process's (local-api.ts). */
export interface ClientsPorts {
  /** Warden's config file, which protect adds the client's servers to. */
  wardenConfigFile(): string;
  /** Where backups of client configs are kept (`<dataDir>/backups`). */
  backupDir: string;
  /** The client configs this handler may change (the CLI's `--file` replaces one's file). */
  locations(): ClientLocation[];
  changeContext(): ChangeContext;
  /** Tells live views (status.changed). */
  changed(): void;
}

type ClientsHandlers = Pick<ControlHandlers, 'clients' | 'previewProtect' | 'protect' | 'restore'>;

/**
 * Client configs: what is found, a preview of protect, protect (checked against the preview's
 * sha256 of the client file), restore. The CLI's `clients` commands and the dashboard both come
 * here.
 */
export function clientsHandlers(ports: ClientsPorts): ClientsHandlers {
  const locate = (id: string): ClientLocation => {
    const all = ports.locations();
    const location = all.find((l) => l.id === id);
    if (!location)
      throw new WardenError('NOT_FOUND', `no client "${id}" (known: ${all.map((l) => l.id).join(', ')})`);
    return location;
  };
  return {
    clients: () => listClients(ports),
    previewProtect: async ({ params: { id }, body }) => previewProtect(ports, locate(id), body?.servers),
    protect: async ({ params: { id }, body }) => {
      const location = locate(id);
      const plan = await planProtect(location, ports.wardenConfigFile(), launcher(), body.servers);
      if (sha256(plan.clientBefore) !== body.clientSha256)
        throw new WardenError('CONFLICT', `${location.file} changed since the preview; preview it again`);
      if (!plan.servers.length) throw new WardenError('CONFLICT', `nothing to protect in ${location.file}`);
      const { backup, outcome } = await applyProtect(plan, {
        wardenConfigFile: ports.wardenConfigFile(),
        ctx: ports.changeContext(),
        backupDir: ports.backupDir,
        approvedBy: `${body.channel === 'cli' ? 'clients' : 'dashboard'} protect ${id}`,
      });
      ports.changed();
      return { servers: plan.servers.map((s) => s.name), backup, notes: notesOf(outcome) };
    },
    restore: async ({ params: { id } }) => {
      const report = await restoreClient(locate(id), {
        ctx: ports.changeContext(),
        backupDir: ports.backupDir,
      });
      ports.changed();
      return { report };
    },
  };
}

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

async function listClients(ports: ClientsPorts): Promise<ClientConfig[]> {
  const dir = ports.backupDir;
  const backups = fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith('.json')) : [];
  const list: ClientConfig[] = [];
  for (const location of ports.locations()) {
    const report = await inspectClient(location);
    list.push({
      id: location.id,
      client: location.client,
      label: location.label,
      scope: location.scope,
      file: location.file,
      exists: report.exists,
      ...(report.error ? { error: report.error } : {}),
      hasBackup: backups.some((f) => f.startsWith(`${location.id}--`)),
      servers: report.servers.map((s) => ({
        name: s.name,
        target:
          typeof s.entry.url === 'string'
            ? s.entry.url
            : [s.entry.command, ...((s.entry.args as unknown[] | undefined) ?? [])].map(String).join(' '),
        protected: s.protected,
        secrets: s.secrets.map((f) => ({ where: f.where, key: f.key, why: f.reason })),
      })),
    });
  }
  return list;
}

async function previewProtect(
  ports: ClientsPorts,
  location: ClientLocation,
  servers: string[] | undefined,
): Promise<ProtectPreview> {
  const wardenConfigFile = ports.wardenConfigFile();
  const plan = await planProtect(location, wardenConfigFile, launcher(), servers);
  const text = describePlan(plan, wardenConfigFile);
  const split = text.indexOf('\n\n');
  return {
    file: location.file,
    summary: split < 0 ? text : text.slice(0, split),
    servers: plan.servers.map((s) => ({
      name: s.name,
      target: s.target,
      moves: s.moves.map((m) => ({ where: m.where, key: m.key, secret: m.secret })),
    })),
    diff: split < 0 ? '' : text.slice(split + 2),
    clientSha256: sha256(plan.clientBefore),
  };
}

/** The backups folder under a data dir. */
export const backupDirOf = (dataDir: string): string => path.join(dataDir, 'backups');
