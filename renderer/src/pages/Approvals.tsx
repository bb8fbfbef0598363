import type { WardenApi } from '../../../main/core/control/warden-api.ts';
import { ApprovalCard } from '../components/ApprovalCard.tsx';
import type { LiveState } from '../data/live.ts';

/** Every held call, each with its answers (the browser's stand-in for the app's popups). */
export function ApprovalsPage({ api, live }: { api: WardenApi; live: LiveState }) {
  return (
    <section aria-labelledby="approvals-title">
      <h1 id="approvals-title">Approvals</h1>
      {live.approvals.length === 0 ? (
        <p className="muted">No call is waiting for you.</p>
      ) : (
        live.approvals.map((request) => (
          <ApprovalCard key={request.id} api={api} request={request} channel="dashboard" />
        ))
      )}
    </section>
  );
}
