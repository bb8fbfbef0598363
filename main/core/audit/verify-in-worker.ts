import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { WardenError } from '../errors.ts';
import type { VerifyKey, VerifyReport } from './verify.ts';

// The worker is this module's sibling, as .ts from the sources or .js from a build.
const WORKER_URL = new URL(`./verify-worker${path.extname(fileURLToPath(import.meta.url))}`, import.meta.url);

/**
 * verifyAuditLog in a worker thread, so a long log's recomputation never blocks the event loop.
 * @throws (rejects) WardenError AUDIT_FAILED with verifyAuditLog's message, or when no worker runs.
 */
export function verifyInWorker(file: string, key: VerifyKey): Promise<VerifyReport> {
  return new Promise((resolve, reject) => {
    const failed = (message: string): void => reject(new WardenError('AUDIT_FAILED', message));
    let worker: Worker;
    try {
      worker = new Worker(WORKER_URL, { workerData: { file, key } });
    } catch (error) {
      failed(
        `cannot verify the audit log at ${file}: ${error instanceof Error ? error.message : String(error)}`,
      );
      return;
    }
    worker.once('message', (message: { report: VerifyReport } | { error: string }) => {
      if ('error' in message) failed(message.error);
      else resolve(message.report);
    });
    worker.once('error', (error: Error) =>
      failed(`cannot verify the audit log at ${file}: ${error.message}`),
    );
    worker.once('exit', (code) => failed(`the verify worker ended (${code}) without a report`));
  });
}
