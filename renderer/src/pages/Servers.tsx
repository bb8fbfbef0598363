import { useState } from 'react';
import { useQueryClient } from '@tanstack/react-query';
import type { PinsResponse, ServerEntry } from '../../../main/core/control/contract.ts';
import type { WardenApi } from '../../../main/core/control/warden-api.ts';
import { reviewHash } from '../../../main/core/pins/review-hash.ts';
import type { LiveState } from '../data/live.ts';
import { message } from '../data/message.ts';
import { queryKeys, usePins } from '../data/queries.ts';

/** Servers: status, whether they may run, their tools with pin state, reviews with diffs. */
export function ServersPage({ api, live }: { api: WardenApi; live: LiveState }) {
  const pins = usePins(api);
  const client = useQueryClient();
  const reloadPins = (): void => void client.invalidateQueries({ queryKey: queryKeys.pins });
  const [error, setError] = useState<string>();
  const act = (what: Promise<unknown>): void => {
    setError(undefined);
    what.then(
      () => {
        reloadPins();
        live.refresh();
      },
      (e: unknown) => {
        setError(message(e));
        // A definition that changed since it was shown: show the new one (and its hash).
        reloadPins();
      },
    );
  };
  return (
    <section aria-labelledby="servers-title">
      <h1 id="servers-title">Servers</h1>
      {(error ?? pins.error) && (
        <p className="error" role="alert">
          {error ?? pins.error}
        </p>
      )}
      {live.status?.servers.map((server) => (
        <ServerCard key={server.name} server={server} pins={pins.data} api={api} act={act} />
      ))}
      {pins.data && pins.data.shadows.length > 0 && (
        <>
          <h2>Tool names offered by more than one server</h2>
          <ul>
            {pins.data.shadows.map((s) => (
              <li key={`${s.client}/${s.tool}`}>
                <code>{s.tool}</code> from {s.servers.join(', ')} to {s.client}
              </li>
            ))}
          </ul>
        </>
      )}
    </section>
  );
}

function ServerCard({
  server,
  pins,
  api,
  act,
}: {
  server: ServerEntry;
  pins: PinsResponse | undefined;
  api: WardenApi;
  act: (what: Promise<unknown>) => void;
}) {
  const reviews = pins?.reviews.filter((r) => r.server === server.name) ?? [];
  const pinned = pins?.pins.filter((p) => p.server === server.name) ?? [];
  return (
    <article className="card" aria-label={`server ${server.name}`}>
      <header className="row">
        <h2>{server.name}</h2>
        <span className={server.allowed ? 'badge ok' : 'badge bad'}>
          {server.allowed ? 'allowed' : 'refused'}
        </span>
        {server.trusted && <span className="badge">trusted</span>}
        <span className="muted">
          {server.sessions} session(s), circuit {server.breaker}
        </span>
        <span className="spacer" />
        {!server.allowed && (
          <button type="button" onClick={() => act(api.approveServer(server.name, server.identityHash))}>
            Approve this command
          </button>
        )}
        <button
          type="button"
          disabled={server.sessions === 0}
          onClick={() => act(api.restartServer(server.name))}
        >
          Restart
        </button>
      </header>
      <p>
        <span className="muted">{server.kind === 'stdio' ? 'Runs' : 'Connects to'}</span>{' '}
        <code>{server.target}</code>
        {server.envKeys.length > 0 && <span className="muted"> with {server.envKeys.join(', ')} set</span>}
      </p>
      {server.reason && <p className="warn">{server.reason}</p>}
      {server.sandbox && (
        <p
          className={
            server.sandbox.state === 'unsandboxed' || server.sandbox.state === 'refused' ? 'warn' : ''
          }
          aria-label={`sandbox of ${server.name}`}
        >
          <span className="muted">OS sandbox</span> {server.sandbox.state}
          {server.sandbox.violations > 0 && <strong> · {server.sandbox.violations} violation(s)</strong>}
          {server.sandbox.reason && <span className="muted"> · {server.sandbox.reason}</span>}
        </p>
      )}
      {reviews.length > 0 && (
        <>
          <h3>Changed definitions to review</h3>
          {reviews.map((r) => {
            // The hash shown is the one sent: a definition that changed since is refused (409).
            const hash = reviewHash(r);
            return (
              <div key={`${r.kind}/${r.name}`} className="review">
                <p>
                  <span className="badge warn">{r.status}</span> {r.kind} <code>{r.name}</code>{' '}
                  <span className="muted">since {new Date(r.detectedAt).toLocaleString()}</span>{' '}
                  {r.status !== 'removed' && hash && (
                    <button type="button" onClick={() => act(api.approvePin(r.server, r.kind, r.name, hash))}>
                      Approve {r.name}
                    </button>
                  )}
                </p>
                {r.diff && <pre className="diff">{r.diff}</pre>}
                {hash && (
                  <p className="muted">
                    {r.status === 'removed' ? 'pinned' : 'offered'} sha256 <code>{hash}</code>
                  </p>
                )}
              </div>
            );
          })}
        </>
      )}
      {pinned.length > 0 && (
        <details>
          <summary>{pinned.length} pinned definitions</summary>
          <table>
            <thead>
              <tr>
                <th>Kind</th>
                <th>Name</th>
                <th>Pinned</th>
                <th>sha256</th>
              </tr>
            </thead>
            <tbody>
              {pinned.map((p) => (
                <tr key={`${p.kind}/${p.name}`}>
                  <td>{p.kind}</td>
                  <td>
                    <code>{p.name}</code>
                  </td>
                  <td>{new Date(p.pinnedAt).toLocaleString()}</td>
                  <td>
                    <code>{p.hash.slice(0, 12)}</code>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </details>
      )}
    </article>
  );
}
