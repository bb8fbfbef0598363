import { createRequire } from 'node:module';
import { CHECKPOINT_KEY_SERVICE, type CheckpointKeyStore } from '../audit/checkpoint-key.ts';
import { WardenError } from '../errors.ts';
import { keychainError } from './secret-store.ts';

interface Keytar {
  getPassword(service: string, account: string): Promise<string | null>;
  setPassword(service: string, account: string, password: string): Promise<void>;
}

/**
 * The store of the audit log's own keys (the checkpoint signing key, the arguments HMAC key): the
 * OS keychain through keytar, under CHECKPOINT_KEY_SERVICE, apart from the user's secrets, so no
 * `${secret:…}` reference can hand one to a server and `secrets list`/`delete` never see them.
 * Errors are WardenError KEYCHAIN_UNAVAILABLE saying how to fix it.
 */
export class KeychainAuditKeyStore implements CheckpointKeyStore {
  async get(account: string): Promise<string | undefined> {
    const keytar = loadKeytar();
    try {
      return (await keytar.getPassword(CHECKPOINT_KEY_SERVICE, account)) ?? undefined;
    } catch (error) {
      throw keychainError(error);
    }
  }

  async set(account: string, value: string): Promise<void> {
    const keytar = loadKeytar();
    try {
      await keytar.setPassword(CHECKPOINT_KEY_SERVICE, account, value);
    } catch (error) {
      throw keychainError(error);
    }
  }
}

function loadKeytar(): Keytar {
  try {
    return createRequire(import.meta.url)('keytar') as Keytar;
  } catch (error) {
    throw new WardenError(
      'KEYCHAIN_UNAVAILABLE',
      `the OS keychain module (keytar) is not installed or could not load (${String(error).split('\n')[0]})`,
      { cause: error },
    );
  }
}
