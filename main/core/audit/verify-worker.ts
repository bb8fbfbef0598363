/**
 * The worker thread of verifyInWorker (verify-in-worker.ts): runs verifyAuditLog on a read-only
 * connection of its own. workerData: { file, key }; posts { report } or { error }.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { verifyAuditLog, type VerifyKey } from './verify.ts';

const data = workerData as { file: string; key: { publicKey: Uint8Array } | { missing: string } };
try {
  const key: VerifyKey = 'publicKey' in data.key ? { publicKey: Buffer.from(data.key.publicKey) } : data.key;
  parentPort!.postMessage({ report: verifyAuditLog(data.file, key) });
} catch (error) {
  parentPort!.postMessage({ error: error instanceof Error ? error.message : String(error) });
}
