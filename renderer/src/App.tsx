import { useEffect, useState } from 'react';
import { QueryClientProvider } from '@tanstack/react-query';
import type { ApprovalRequest } from '../../main/core/control/contract.ts';
import type { WardenApi } from '../../main/core/control/warden-api.ts';
import { ApprovalCard } from './components/ApprovalCard.tsx';
import { useLive, useRoute, type LiveState } from './data/live.ts';
import { createQueryClient } from './data/queries.ts';
import { ActivityPage } from './pages/Activity.tsx';
import { ApprovalsPage } from './pages/Approvals.tsx';
import { ClientsPage } from './pages/Clients.tsx';
import { PolicyPage } from './pages/Policy.tsx';
import { SecretsPage } from './pages/Secrets.tsx';
import { ServersPage } from './pages/Servers.tsx';

const PAGES = [
  ['approvals', 'Approvals'],
  ['servers', 'Servers'],
  ['activity', 'Activity'],
  ['clients', 'Clients'],
  ['secrets', 'Secrets'],
  ['policy', 'Policy'],
] as const;

/** The UI over `api`, with its own query cache (TanStack Query). */
export function App({ api }: { api: WardenApi }) {
  const [client] = useState(createQueryClient);
  return (
    <QueryClientProvider client={client}>
      <Routes api={api} />
    </QueryClientProvider>
  );
}

/** Routes by fragment: `#/approval/<id>` is the popup, `#/<page>` a dashboard page. */
function Routes({ api }: { api: WardenApi }) {
  const route = useRoute();
  const live = useLive(api);
  const popup = /^\/approval\/(.+)$/.exec(route);
  if (popup) return <Popup api={api} live={live} id={decodeFragment(popup[1]!)} />;
  const page = route.replace(/^\//, '').split('/')[0] ?? 'servers';
  return <Dashboard api={api} live={live} page={page} />;
}

/** A percent-encoded part of the fragment, decoded; a malformed one is kept as it is (it names nothing). */
function decodeFragment(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    return part;
  }
}

/** One approval, for the app's popup window; it stays readable after it was answered. */
function Popup({ api, live, id }: { api: WardenApi; live: LiveState; id: string }) {
  const pending = live.approvals.find((a) => a.id === id);
  const [shown, setShown] = useState<ApprovalRequest>();
  useEffect(() => {
    if (pending) setShown(pending);
  }, [pending]);
  const request = pending ?? shown;
  return (
    <main className="popup">
      {request ? (
        <ApprovalCard api={api} request={request} channel="popup" autoFocus resolved={!pending} />
      ) : (
        <p role="status">{live.status ? 'This request was answered or withdrawn.' : 'Loading…'}</p>
      )}
    </main>
  );
}

function Dashboard({ api, live, page }: { api: WardenApi; live: LiveState; page: string }) {
  const status = live.status;
  const up = status?.servers.filter((s) => s.sessions > 0).length ?? 0;
  return (
    <div className="dashboard">
      <nav aria-label="dashboard">
        <p className="brand">MCP Warden</p>
        <ul>
          {PAGES.map(([id, label]) => (
            <li key={id}>
              <a href={`#/${id}`} aria-current={page === id ? 'page' : undefined}>
                {label}
                {id === 'approvals' && live.approvals.length > 0 && (
                  <span className="count" aria-label={`${live.approvals.length} pending`}>
                    {live.approvals.length}
                  </span>
                )}
              </a>
            </li>
          ))}
        </ul>
      </nav>
      <div className="content">
        <header className="statusbar" role="status">
          {status ? (
            <>
              <span className={status.paused ? 'badge warn' : 'badge ok'}>
                {status.paused ? 'Paused' : 'Guarding'}
              </span>
              <span>
                {up} of {status.servers.length} servers running
              </span>
              <span>{status.pendingApprovals} pending approvals</span>
              <span>{status.policyVersion ?? 'no org policy'}</span>
              <button type="button" onClick={() => void (status.paused ? api.resume() : api.pause())}>
                {status.paused ? 'Resume all servers' : 'Pause all servers'}
              </button>
            </>
          ) : (
            <span>{live.error ?? 'Connecting…'}</span>
          )}
        </header>
        {live.error && status && (
          <p className="error" role="alert">
            {live.error}
          </p>
        )}
        {live.approvals.length > 0 && page !== 'approvals' && (
          <p className="banner">
            {live.approvals.length} call(s) wait for your approval. <a href="#/approvals">Review them</a>
          </p>
        )}
        {page === 'approvals' && <ApprovalsPage api={api} live={live} />}
        {page === 'servers' && <ServersPage api={api} live={live} />}
        {page === 'activity' && <ActivityPage api={api} />}
        {page === 'clients' && <ClientsPage api={api} />}
        {page === 'secrets' && <SecretsPage api={api} />}
        {page === 'policy' && <PolicyPage api={api} />}
        {!PAGES.some(([id]) => id === page) && <p>No page “{page}”.</p>}
      </div>
    </div>
  );
}
