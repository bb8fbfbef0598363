import { loadCheckpointKey } from '../../core/audit/checkpoint-key.ts';
import { KeychainAuditKeyStore } from '../../core/secrets/audit-key-store.ts';
import { parseVerifierKey, signerFromSeed } from '../../core/audit/signed-note.ts';
import { readDeviceId, verifyAuditLog, type VerifyKey, type VerifyReport } from '../../core/audit/verify.ts';
import { describeError, WardenError } from '../../core/errors.ts';

/** The options of `audit verify`. */
export interface VerifyOptions {
  json?: boolean;
  /** A verifier key (`<name>+<hash>+<key>`) to check the signatures with instead of the keychain's. */
  key?: string;
}

/**
 * `mcp-warden audit verify`: recomputes the hash chain of `dbFile` and checks every checkpoint
 * against the device's key (from the keychain, or `--key`); prints the report and sets exit
 * code 1 on any problem.
 * @throws WardenError USAGE for a `--key` that is not a verifier key; AUDIT_FAILED when the file
 *   cannot be read.
 */
export async function auditVerify(dbFile: string, options: VerifyOptions): Promise<void> {
  const report = verifyAuditLog(dbFile, await verifyKey(dbFile, options.key));
  process.stdout.write(options.json ? JSON.stringify(report, null, 2) + '\n' : formatReport(report));
  if (!report.ok) process.exitCode = 1;
}

async function verifyKey(dbFile: string, text: string | undefined): Promise<VerifyKey> {
  if (text !== undefined) {
    try {
      return { publicKey: parseVerifierKey(text).publicKey };
    } catch (error) {
      throw new WardenError('USAGE', `--key: ${describeError(error)}`);
    }
  }
  const deviceId = readDeviceId(dbFile);
  if (deviceId === undefined) return { missing: 'the audit log has no device id yet' };
  const key = await loadCheckpointKey(new KeychainAuditKeyStore(), deviceId, { create: false });
  return 'seed' in key ? { publicKey: signerFromSeed('key', key.seed).publicKey } : key;
}

/**
 * The text report: `N/N checkpoints valid, rows 1..K verified` and what is not yet checked, or
 * `FAILED:` and each problem.
 */
export function formatReport(report: VerifyReport): string {
  const lines: string[] = [];
  const from = report.prunedThrough + 1;
  const rows =
    report.verifiedThrough >= from ? `rows ${from}..${report.verifiedThrough} verified` : 'no rows verified';
  lines.push(
    `${report.ok ? '' : 'FAILED: '}${report.checkpoints.valid}/${report.checkpoints.total} checkpoints valid, ${rows}`,
  );
  if (report.prunedThrough > 0) lines.push(`rows 1..${report.prunedThrough} were removed by retention`);
  for (const problem of report.problems) lines.push(`- ${problem.message}`);
  if (report.uncheckedTail) {
    lines.push(
      `rows ${report.uncheckedTail.from}..${report.uncheckedTail.to} are chained but not yet covered by a signed checkpoint`,
    );
  }
  if (report.inFlight > 0)
    lines.push(
      `${report.inFlight} calls are not in the chain yet (in flight, or left in flight by a stopped Warden)`,
    );
  if (report.checkpoints.last) {
    lines.push(
      `last checkpoint #${report.checkpoints.last.id}: tree size ${report.checkpoints.last.treeSize}, ${report.checkpoints.last.createdAt}`,
    );
  }
  return lines.join('\n') + '\n';
}
