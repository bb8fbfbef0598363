import { useState } from 'react';
import { useQueryClient, type QueryKey } from '@tanstack/react-query';
import type { WardenApi } from '../../../main/core/control/warden-api.ts';
import { message } from '../data/message.ts';
import { queryKeys, useEffectivePolicy, usePolicyStatus, useRules } from '../data/queries.ts';

/** The rules in force with their source, locked settings, org sync status, remembered approvals. */
export function PolicyPage({ api }: { api: WardenApi }) {
  const effective = useEffectivePolicy(api);
  const status = usePolicyStatus(api);
  const rules = useRules(api);
  const client = useQueryClient();
  const [error, setError] = useState<string>();
  const org = status.data?.org;
  const act = (what: Promise<unknown>, reread: QueryKey): void => {
    setError(undefined);
    what.then(
      () => void client.invalidateQueries({ queryKey: reread }),
      (e: unknown) => setError(message(e)),
    );
  };
  return (
    <section aria-labelledby="policy-title">
      <h1 id="policy-title">Policy</h1>
      {(error ?? effective.error ?? status.error) && (
        <p className="error" role="alert">
          {error ?? effective.error ?? status.error}
        </p>
      )}
      <h2>Org policy</h2>
      {org ? (
        <dl className="facts">
          <dt>URL</dt>
          <dd>
            <code>{org.url}</code>
          </dd>
          <dt>In force</dt>
          <dd>{org.version ? `${org.org ?? ''} version ${org.version}` : 'none yet'}</dd>
          <dt>Expires</dt>
          <dd>
            {org.expires ?? '—'} {org.inGrace && <span className="badge warn">expired, in grace period</span>}
          </dd>
          <dt>Last success</dt>
          <dd>{org.lastSuccess ?? 'never'}</dd>
          <dt>Last error</dt>
          <dd className={org.lastError ? 'warn' : ''}>{org.lastError ?? 'none'}</dd>
          <dt />
          <dd>
            <button type="button" onClick={() => act(api.syncPolicy(), queryKeys.policyStatus)}>
              Sync now
            </button>
          </dd>
        </dl>
      ) : (
        <p className="muted">No org policy is configured by a managed policy on this machine.</p>
      )}
      <h2>Locked settings</h2>
      {effective.data?.locked.length ? (
        <ul>
          {effective.data.locked.map((l) => (
            <li key={l.setting}>
              <span className="badge">locked</span> <code>{l.setting}</code>
              {typeof l.value === 'string' ? ` = ${l.value}` : ''}{' '}
              <span className="muted">by {l.source}</span>
            </li>
          ))}
        </ul>
      ) : (
        <p className="muted">Nothing is locked.</p>
      )}
      <h2>Rules in force</h2>
      <p className="muted">
        Sources: {status.data?.sources.map((s) => `${s.kind} (${s.origin})`).join(' > ') ?? '…'} &gt; built-in
        defaults. A deny from any source wins; then ask; then allow.
      </p>
      <table>
        <thead>
          <tr>
            <th>Source</th>
            <th>Kind</th>
            <th>Rule</th>
          </tr>
        </thead>
        <tbody>
          {effective.data?.rules.map((r, i) => (
            <tr key={i} data-action={r.action}>
              <td title={r.origin}>{r.source}</td>
              <td>{r.kind}</td>
              <td>{r.text}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <h2>Remembered approvals</h2>
      {rules.data?.length ? (
        <ul>
          {rules.data.map((r) => (
            <li key={r.id}>
              always allow <code>{r.tool}</code> of <code>{r.server}</code>
              {r.conditions?.length
                ? ` when ${r.conditions.map((c) => `${c.pointer} ${c.glob ?? c.regex}`).join(' and ')}`
                : ''}{' '}
              <span className="muted">
                ({r.createdBy}, {new Date(r.createdAt).toLocaleString()})
              </span>{' '}
              <button type="button" onClick={() => act(api.revokeRule(r.id), queryKeys.rules)}>
                Revoke
              </button>
            </li>
          ))}
        </ul>
      ) : (
        <p className="muted">None.</p>
      )}
    </section>
  );
}
