import { randomBytes } from 'node:crypto';
import { describeError, isWardenError } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { CheckpointKeyStore } from '../audit/checkpoint-key.ts';

/**
 * The keychain account of the audit arguments HMAC key, under the audit's own service
 * (CHECKPOINT_KEY_SERVICE, secrets/audit-key-store.ts), never among the user's secrets.
 */
export const AUDIT_HMAC_KEY_ACCOUNT = 'arguments-hmac-key';

/** Bytes of a generated key (HMAC-SHA-256's block is 64; 32 random bytes are its full strength). */
const KEY_BYTES = 32;

/**
 * The key of the audit log's arguments HMAC, from the OS keychain: read, or generated (32 random
 * bytes, base64) and stored on first use. Never kept in a file: without a keychain there is no
 * key, and the log says once that rows carry no arguments HMAC.
 * @returns a function for AuditRedaction's `hmacKey`: resolves with the key, or undefined when
 *   the keychain is unavailable or refused the key (logged as a warning); never rejects.
 */
export function auditHmacKey(store: CheckpointKeyStore, logger: Logger): () => Promise<Buffer | undefined> {
  return async () => {
    try {
      const stored = await store.get(AUDIT_HMAC_KEY_ACCOUNT);
      if (stored) {
        const key = Buffer.from(stored, 'base64');
        if (key.length >= KEY_BYTES) return key;
        logger.warn('the audit HMAC key in the keychain is too short; a new one replaces it');
      }
      const key = randomBytes(KEY_BYTES);
      await store.set(AUDIT_HMAC_KEY_ACCOUNT, key.toString('base64'));
      logger.info('generated the audit HMAC key and stored it in the OS keychain');
      return key;
    } catch (error) {
      logger.warn(
        { err: describeError(error) },
        isWardenError(error, 'KEYCHAIN_UNAVAILABLE')
          ? 'no OS keychain: audit rows carry no HMAC of their arguments (the key is never kept in a file)'
          : 'could not read or store the audit HMAC key: audit rows carry no HMAC of their arguments',
      );
      return undefined;
    }
  };
}
