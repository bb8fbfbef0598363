import type { Logger } from '../log.ts';
import { AuditRetention } from './retention.ts';

/**
 * Starts the daemon's audit retention on `file`: a run a minute after start, then hourly, with
 * `retentionDays` read at each run; logs what each run removed, or why it failed.
 */
export function startRetention(file: string, retentionDays: () => number, logger: Logger): AuditRetention {
  return new AuditRetention(file, {
    retentionDays,
    onRun: (result) => {
      if (result instanceof Error)
        logger.warn({ err: result }, 'audit retention failed; it runs again in an hour');
      else if (result.deletedRows > 0) {
        logger.info(
          {
            prunedThrough: result.prunedThrough,
            deletedRows: result.deletedRows,
            freedPages: result.freedPages,
          },
          'audit retention removed old calls',
        );
      }
    },
  }).start();
}
