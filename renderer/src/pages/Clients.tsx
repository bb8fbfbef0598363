import { useState } from 'react';
import { useQueryClient } from '@tanstack/react-query';
import type { ProtectPreview } from '../../../main/core/control/contract.ts';
import type { WardenApi } from '../../../main/core/control/warden-api.ts';
import { message } from '../data/message.ts';
import { queryKeys, useClients } from '../data/queries.ts';

/** Client configs found on this machine; protect (with a preview first) and restore. */
export function ClientsPage({ api }: { api: WardenApi }) {
  const clients = useClients(api);
  const client = useQueryClient();
  const reload = (): void => void client.invalidateQueries({ queryKey: queryKeys.clients });
  const [preview, setPreview] = useState<{ id: string; plan: ProtectPreview }>();
  const [note, setNote] = useState<string>();
  const [error, setError] = useState<string>();
  const run = <T,>(what: Promise<T>, then: (value: T) => void): void => {
    setError(undefined);
    setNote(undefined);
    what.then(then, (e: unknown) => setError(message(e)));
  };
  const found = clients.data?.filter((c) => c.exists) ?? [];
  const missing = clients.data?.filter((c) => !c.exists) ?? [];
  return (
    <section aria-labelledby="clients-title">
      <h1 id="clients-title">Clients</h1>
      {(error ?? clients.error) && (
        <p className="error" role="alert">
          {error ?? clients.error}
        </p>
      )}
      {note && <p role="status">{note}</p>}
      {found.map((c) => (
        <article key={c.id} className="card" aria-label={`client ${c.id}`}>
          <header className="row">
            <h2>{c.label}</h2>
            <code className="muted">{c.file}</code>
            <span className="spacer" />
            {c.servers.some((s) => !s.protected) && (
              <button
                type="button"
                onClick={() => run(api.previewProtect(c.id), (plan) => setPreview({ id: c.id, plan }))}
              >
                Preview protect
              </button>
            )}
            {c.hasBackup && (
              <button
                type="button"
                onClick={() =>
                  run(api.restore(c.id), (r) => {
                    setNote(r.report.join(' '));
                    reload();
                  })
                }
              >
                Restore original
              </button>
            )}
          </header>
          {c.error && <p className="error">{c.error}</p>}
          <ul>
            {c.servers.map((s) => (
              <li key={s.name}>
                <span className={s.protected ? 'badge ok' : 'badge warn'}>
                  {s.protected ? 'through Warden' : 'direct'}
                </span>{' '}
                <strong>{s.name}</strong> <code>{s.target}</code>
                {s.secrets.length > 0 && (
                  <span className="warn">
                    {' '}
                    plaintext secret(s): {s.secrets.map((f) => `${f.where}.${f.key} (${f.why})`).join(', ')}
                  </span>
                )}
              </li>
            ))}
          </ul>
          {preview?.id === c.id && (
            <div className="preview">
              <pre>{preview.plan.summary}</pre>
              <pre className="diff">{preview.plan.diff}</pre>
              <div className="row">
                <button
                  type="button"
                  className="allow"
                  onClick={() =>
                    run(api.protect(c.id, preview.plan.clientSha256), (r) => {
                      setPreview(undefined);
                      setNote(
                        `Protected ${r.servers.join(', ')}. Backup: ${r.backup}. Restart ${c.label} to use them.`,
                      );
                      reload();
                    })
                  }
                >
                  Protect {preview.plan.servers.length} server(s)
                </button>
                <button type="button" onClick={() => setPreview(undefined)}>
                  Cancel
                </button>
              </div>
            </div>
          )}
        </article>
      ))}
      {clients.data && found.length === 0 && <p className="muted">No client config found on this machine.</p>}
      {missing.length > 0 && (
        <details>
          <summary>Also looked at</summary>
          <ul>
            {missing.map((c) => (
              <li key={c.id}>
                {c.label}: <code>{c.file}</code>
              </li>
            ))}
          </ul>
        </details>
      )}
    </section>
  );
}
