import { useState } from 'react';
import type { AuditExportFormat, AuditQuery } from '../../../main/core/control/contract.ts';
import type { WardenApi } from '../../../main/core/control/warden-api.ts';
import { ChainState } from '../components/ChainState.tsx';
import { message } from '../data/message.ts';
import { useAuditPage } from '../data/queries.ts';

const PAGE = 100;

/** The audit log: filters, search, live updates, paging back, export. */
export function ActivityPage({ api }: { api: WardenApi }) {
  const [filters, setFilters] = useState<AuditQuery>({});
  const [before, setBefore] = useState<number>();
  const [error, setError] = useState<string>();
  const query: AuditQuery = { ...filters, limit: PAGE, ...(before ? { before } : {}) };
  const page = useAuditPage(api, query);
  const set = (key: keyof AuditQuery, value: string): void => {
    setBefore(undefined);
    setFilters((f) => ({ ...f, [key]: value === '' ? undefined : value }));
  };
  const setTime = (key: 'since' | 'until', value: string): void =>
    set(key, value === '' ? '' : new Date(value).toISOString());
  const download = (format: AuditExportFormat): void => {
    setError(undefined);
    api.exportAudit(filters, format).then(
      (text) => {
        const url = URL.createObjectURL(
          new Blob([text], { type: format === 'csv' ? 'text/csv' : 'application/x-ndjson' }),
        );
        const a = document.createElement('a');
        a.href = url;
        a.download = `mcp-warden-audit.${format}`;
        a.click();
        setTimeout(() => URL.revokeObjectURL(url), 10_000);
      },
      (e: unknown) => setError(message(e)),
    );
  };
  const records = page.data?.records ?? [];
  return (
    <section aria-labelledby="activity-title">
      <h1 id="activity-title">Activity</h1>
      <ChainState api={api} />
      <form className="filters" onSubmit={(e) => e.preventDefault()} aria-label="filters">
        <label>
          Search
          <input
            type="search"
            name="q"
            placeholder="tool, server, arguments…"
            onChange={(e) => set('q', e.target.value)}
          />
        </label>
        <label>
          Client
          <input name="client" onChange={(e) => set('client', e.target.value)} />
        </label>
        <label>
          Server
          <input name="server" onChange={(e) => set('server', e.target.value)} />
        </label>
        <label>
          Tool
          <input name="tool" onChange={(e) => set('tool', e.target.value)} />
        </label>
        <label>
          Decision
          <select name="decision" onChange={(e) => set('decision', e.target.value)}>
            <option value="">any</option>
            <option value="allow">allow</option>
            <option value="deny">deny</option>
          </select>
        </label>
        <label>
          Outcome
          <select name="outcome" onChange={(e) => set('outcome', e.target.value)}>
            <option value="">any</option>
            {['ok', 'tool_error', 'error', 'refused', 'cancelled', 'input_required', 'pending'].map((o) => (
              <option key={o} value={o}>
                {o}
              </option>
            ))}
          </select>
        </label>
        <label>
          From
          <input type="datetime-local" name="since" onChange={(e) => setTime('since', e.target.value)} />
        </label>
        <label>
          To
          <input type="datetime-local" name="until" onChange={(e) => setTime('until', e.target.value)} />
        </label>
      </form>
      <div className="row">
        <span className="muted" role="status">
          {page.data ? `${page.data.total} matching call(s)` : 'Loading…'}
          {before ? ' (older page: live updates paused)' : ''}
        </span>
        <span className="spacer" />
        <button type="button" onClick={() => download('csv')}>
          Export CSV
        </button>
        <button type="button" onClick={() => download('jsonl')}>
          Export JSON lines
        </button>
      </div>
      {(error ?? page.error) && (
        <p className="error" role="alert">
          {error ?? page.error}
        </p>
      )}
      <table className="activity">
        <thead>
          <tr>
            <th>Time</th>
            <th>Client</th>
            <th>Server / tool</th>
            <th>Decision</th>
            <th>Outcome</th>
            <th>Duration</th>
            <th>Why</th>
          </tr>
        </thead>
        <tbody>
          {records.map((r) => (
            <tr key={r.id} data-decision={r.decision} data-outcome={r.outcome ?? 'pending'}>
              <td title={r.ts}>{new Date(r.ts).toLocaleString()}</td>
              <td>{r.clientName ?? '—'}</td>
              <td>
                <code>
                  {r.server}/{r.tool}
                </code>
                <details>
                  <summary>arguments</summary>
                  <pre>{JSON.stringify(r.arguments, null, 2)}</pre>
                </details>
              </td>
              <td>
                <span className={r.decision === 'allow' ? 'badge ok' : 'badge bad'}>{r.decision}</span>
              </td>
              <td>{r.outcome ?? 'pending'}</td>
              <td>{r.durationMs === null ? '' : `${r.durationMs.toFixed(1)} ms`}</td>
              <td>
                {r.reason}
                {r.error && <div className="muted">{r.error}</div>}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <div className="row">
        {before && (
          <button type="button" onClick={() => setBefore(undefined)}>
            Newest
          </button>
        )}
        {records.length === PAGE && (
          <button type="button" onClick={() => setBefore(records.at(-1)!.id)}>
            Older
          </button>
        )}
      </div>
    </section>
  );
}
