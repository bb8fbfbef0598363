import type { AuditChainResponse } from '../../../main/core/control/contract.ts';
import type { WardenApi } from '../../../main/core/control/warden-api.ts';
import { useAuditChain } from '../data/queries.ts';

/** One line per fact: verified up to which row, the last checkpoint, the signing key. */
function describe(chain: AuditChainResponse): string[] {
  const from = chain.prunedThrough + 1;
  const lines = [
    chain.verifiedThrough >= from ? `Verified rows ${from}–${chain.verifiedThrough}` : 'No rows verified yet',
    `${chain.checkpoints.valid}/${chain.checkpoints.total} checkpoints valid`,
  ];
  if (chain.checkpoints.last) {
    lines.push(
      `last checkpoint: ${chain.checkpoints.last.treeSize} rows, ${new Date(chain.checkpoints.last.createdAt).toLocaleString()}`,
    );
  }
  if (chain.uncheckedTail)
    lines.push(`rows ${chain.uncheckedTail.from}–${chain.uncheckedTail.to} await a checkpoint`);
  if (chain.prunedThrough > 0) lines.push(`rows 1–${chain.prunedThrough} removed by retention`);
  return lines;
}

/** The audit log's tamper evidence, as `audit verify` finds it (the daemon's auditChain). */
export function ChainState({ api }: { api: WardenApi }) {
  const chain = useAuditChain(api);
  if (chain.error) {
    return (
      <p className="error" role="alert" aria-label="audit chain">
        Chain state unavailable: {chain.error}
      </p>
    );
  }
  if (!chain.data) return <p className="muted">Checking the audit chain…</p>;
  const data = chain.data;
  return (
    <section className="chain-state" aria-label="audit chain" data-ok={String(data.ok)}>
      <span className={data.ok ? 'badge ok' : 'badge bad'}>{data.ok ? 'chain intact' : 'chain broken'}</span>{' '}
      <span>{describe(data).join(' · ')}</span>{' '}
      <span className={data.signingKey.present ? 'badge ok' : 'badge bad'}>
        {data.signingKey.present ? `signing key ${data.signingKey.keyHash}` : 'no signing key'}
      </span>
      {!data.signingKey.present && data.signingKey.reason && (
        <div className="muted">{data.signingKey.reason}</div>
      )}
      {data.problems.length > 0 && (
        <ul className="error">
          {data.problems.map((p, i) => (
            <li key={i}>{p.message}</li>
          ))}
        </ul>
      )}
    </section>
  );
}
