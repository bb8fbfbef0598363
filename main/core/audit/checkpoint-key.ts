import { randomBytes } from 'node:crypto';
import { describeError, WardenError } from '../errors.ts';

/**
 * The keychain service of the checkpoint signing keys: apart from `mcp-warden` (the user's
 * secrets), so `secrets list` never shows them and `secrets delete` cannot remove one.
 */
export const CHECKPOINT_KEY_SERVICE = 'mcp-warden-audit';

/** The keychain account of a device's key: one key per audit log's device id. */
export function checkpointKeyAccount(deviceId: string): string {
  return `checkpoint-key/${deviceId}`;
}

/**
 * Where the device's Ed25519 seed comes from; the real one is the OS keychain
 * (secrets/audit-key-store.ts).
 */
export interface CheckpointKeyStore {
  /** @returns the base64 seed, or undefined when none is stored. */
  get(account: string): Promise<string | undefined>;
  set(account: string, value: string): Promise<void>;
}

/** The device's key, or why there is none. */
export type CheckpointKey = { seed: Buffer } | { missing: string };

/**
 * The device's 32-byte Ed25519 seed from the keychain; with `create`, a new one is generated and
 * stored there on first use. Never written anywhere else: without a keychain there is no key.
 * @returns `{ missing }` saying why when there is no keychain, no key (without `create`), or the
 *   stored value is not a seed. Never throws.
 */
export async function loadCheckpointKey(
  store: CheckpointKeyStore,
  deviceId: string,
  options: { create: boolean },
): Promise<CheckpointKey> {
  const account = checkpointKeyAccount(deviceId);
  try {
    const stored = await store.get(account);
    if (stored !== undefined) {
      const seed = Buffer.from(stored, 'base64');
      if (seed.length !== 32) {
        return { missing: `the keychain entry ${CHECKPOINT_KEY_SERVICE}/${account} is not an Ed25519 seed` };
      }
      return { seed };
    }
    if (!options.create) {
      return {
        missing: `the keychain holds no checkpoint key for device ${deviceId} (${CHECKPOINT_KEY_SERVICE}/${account})`,
      };
    }
    const seed = randomBytes(32);
    await store.set(account, seed.toString('base64'));
    return { seed };
  } catch (error) {
    return { missing: error instanceof WardenError ? error.message : describeError(error) };
  }
}
