import path from 'node:path';
import type Database from 'better-sqlite3';
import type { WardenPaths } from '../paths.ts';
import { KeychainSecretStore, type SecretStore } from '../secrets/secret-store.ts';
import { SecretBindingStore } from '../store/secret-bindings.ts';
import { ServerApprovalStore } from '../store/server-approvals.ts';
import { openStateDb } from '../store/state-db.ts';
import type { ChangeContext } from './steps.ts';

/** Where changes are journaled: `<dataDir>/journal`. */
export const journalDir = (dataDir: string): string => path.join(dataDir, 'journal');

/**
 * A change context for a process of its own (a CLI command): the keychain, and state.db opened
 * only when a step needs it.
 * @returns the context and `close`, which closes state.db if it was opened.
 */
export function openChangeContext(
  paths: Pick<WardenPaths, 'dataDir' | 'stateDb'>,
  secrets: SecretStore = new KeychainSecretStore(),
): { ctx: ChangeContext; close: () => void } {
  let db: Database.Database | undefined;
  let stores: ReturnType<ChangeContext['state']> | undefined;
  const ctx: ChangeContext = {
    journalDir: journalDir(paths.dataDir),
    secrets,
    state: () => {
      if (!stores) {
        db = openStateDb(paths.stateDb);
        stores = { approvals: new ServerApprovalStore(db), bindings: new SecretBindingStore(db) };
      }
      return stores;
    },
  };
  return { ctx, close: () => db?.close() };
}
