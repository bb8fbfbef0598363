import type { AuditLog } from '../../audit/audit-log.ts';
import { verifyInWorker } from '../../audit/verify-in-worker.ts';
import { parseVerifierKey } from '../../audit/signed-note.ts';
import type { VerifyKey } from '../../audit/verify.ts';
import type { ControlHandlers } from '../invoke.ts';

/**
 * The chain state of the Activity page: `audit verify` of the daemon's own log (in a worker
 * thread: a long log takes seconds to recompute), with the signing key the daemon holds.
 */
export function auditChainHandlers(
  audit: Pick<AuditLog, 'file' | 'chainState'>,
): Pick<ControlHandlers, 'auditChain'> {
  return {
    auditChain: async () => {
      const { signing } = audit.chainState();
      const key: VerifyKey =
        signing.state === 'present'
          ? { publicKey: parseVerifierKey(signing.verifierKey).publicKey }
          : {
              missing:
                signing.state === 'pending'
                  ? 'the signing key is still being read from the keychain'
                  : signing.reason,
            };
      const report = await verifyInWorker(audit.file, key);
      return {
        ok: report.ok,
        verifiedThrough: report.verifiedThrough,
        prunedThrough: report.prunedThrough,
        uncheckedTail: report.uncheckedTail,
        inFlight: report.inFlight,
        checkpoints: report.checkpoints,
        signingKey: {
          present: signing.state === 'present',
          keyHash: signing.state === 'present' ? signing.keyHash : null,
          reason: 'missing' in key ? key.missing : null,
        },
        problems: report.problems.map(({ kind, message }) => ({ kind, message })),
      };
    },
  };
}
