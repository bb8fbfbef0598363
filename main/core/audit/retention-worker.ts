/**
 * The worker thread of AuditRetention (retention.ts): prunes the audit log with a connection of
 * its own (retention-prune.ts), so the deleting and vacuuming never run on the daemon's event
 * loop. workerData: { file, retentionDays, now, busyTimeoutMs }; posts the PruneResult, or
 * { error } with the message.
 */
import Database from 'better-sqlite3';
import { parentPort, workerData } from 'node:worker_threads';
import { pruneAuditLog } from './retention-prune.ts';

const data = workerData as { file: string; retentionDays: number; now: number; busyTimeoutMs: number };
let db: Database.Database | undefined;
try {
  db = new Database(data.file, { fileMustExist: true, timeout: data.busyTimeoutMs });
  parentPort!.postMessage(pruneAuditLog(db, data.retentionDays, data.now));
} catch (error) {
  parentPort!.postMessage({ error: error instanceof Error ? error.message : String(error) });
} finally {
  db?.close();
}
