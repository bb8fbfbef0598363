import fs from 'node:fs';
import type Database from 'better-sqlite3';
import { openChangeContext } from '../change/context.ts';
import type { ChangeContext } from '../change/run-change.ts';
import { clientLocations, type ClientLocation } from '../clients/locations.ts';
import { loadConfig, parseConfig } from '../config/load.ts';
import type { WardenConfig } from '../config/schema.ts';
import type { WardenPaths } from '../paths.ts';
import { KeychainSecretStore } from '../secrets/secret-store.ts';
import { SecretBindingStore } from '../store/secret-bindings.ts';
import { openStateDb } from '../store/state-db.ts';
import { backupDirOf, clientsHandlers } from './handlers/clients.ts';
import { secretsHandlers } from './handlers/secrets.ts';
import { invokeOperation, type ControlHandlers } from './invoke.ts';
import { operationMethods, type ControlCaller, type OperationMethods } from './warden-api.ts';

/** The operations a CLI process can carry out itself when no daemon runs. */
export type LocalOperationName = 'secrets' | 'setSecret' | 'deleteSecret' | 'bindSecret' | CLIENT_OPS;
type CLIENT_OPS = 'clients' | 'previewProtect' | 'protect' | 'restore';

/** A caller of the local operations, with their WardenApi methods; `close` releases state.db. */
export type LocalControl = ControlCaller & OperationMethods<LocalOperationName> & { close(): void };

/**
 * The same handlers the daemon runs (control/handlers/secrets.ts, clients.ts), over this
 * process's own keychain access, state.db and config: what the CLI calls when no daemon runs
 * (nothing else then holds these files, and nothing live needs telling). Requests are validated
 * with the operations' schemas and answers with their output schemas, as over HTTP.
 * @param options.file a client config file that replaces the usual one of `options.client`
 *   (`clients protect --file`).
 */
export function localControl(
  paths: WardenPaths,
  options: { client?: string; file?: string } = {},
): LocalControl {
  let db: Database.Database | undefined;
  let bindings: SecretBindingStore | undefined;
  let change: { ctx: ChangeContext; close: () => void } | undefined;
  const changeContext = (): ChangeContext => (change ??= openChangeContext(paths)).ctx;
  const config = (): WardenConfig =>
    fs.existsSync(paths.configFile)
      ? loadConfig(paths, { createDefault: false })
      : parseConfig('{"mcpServers":{}}', paths.configFile);
  const locations = (): ClientLocation[] =>
    clientLocations().map((l) =>
      options.file !== undefined && l.id === options.client ? { ...l, file: options.file } : l,
    );
  const handlers: Pick<ControlHandlers, LocalOperationName> = {
    ...secretsHandlers({
      config,
      store: new KeychainSecretStore(),
      bindings: () => (bindings ??= new SecretBindingStore((db ??= openStateDb(paths.stateDb)))),
      changeContext,
      changed: () => undefined,
    }),
    ...clientsHandlers({
      wardenConfigFile: () => loadConfig(paths, { createDefault: true }).file,
      backupDir: backupDirOf(paths.dataDir),
      locations,
      changeContext,
      changed: () => undefined,
    }),
  };
  const caller: ControlCaller = {
    request: (name, parts) => invokeOperation(handlers, name, parts),
  };
  return Object.assign(operationMethods(caller, Object.keys(handlers) as LocalOperationName[]), caller, {
    close: () => {
      db?.close();
      change?.close();
    },
  });
}
