import type { Logger } from '../log.ts';
import type { AuditLog } from './audit-log.ts';
import { loadCheckpointKey, type CheckpointKeyStore } from './checkpoint-key.ts';

/**
 * Loads the device's checkpoint key from `store` (the OS keychain) (generating it on first use) and hands
 * it to the audit log; where there is no keychain, logs a warning saying so, and the log writes
 * its checkpoints unsigned (never a key in a file). Runs in the background: the first
 * checkpoints wait for it.
 */
export function startCheckpointSigning(
  audit: AuditLog,
  logger: Logger,
  store: CheckpointKeyStore,
): Promise<void> {
  return loadCheckpointKey(store, audit.chainState().deviceId, { create: true }).then((key) => {
    if ('missing' in key) {
      logger.warn(`audit checkpoints are not signed: ${key.missing}`);
    }
    audit.useCheckpointKey(key);
  });
}
