import type { ControlHandlers } from '../invoke.ts';
import type { DaemonContext } from './context.ts';

/** Held calls: the list, answers, and the event stream that announces them. */
export function approvalsHandlers({
  core,
}: DaemonContext): Pick<ControlHandlers, 'approvals' | 'answer' | 'events'> {
  return {
    approvals: () => core.broker.list(),
    answer: ({ params, body }) => {
      core.broker.answer(params.id, {
        choice: body.choice,
        argumentsHash: body.argumentsHash,
        by: body.channel ?? 'control-api',
        ...(body.conditions ? { conditions: body.conditions } : {}),
        ...(body.reason ? { reason: body.reason } : {}),
      });
      return { ok: true };
    },
    events: (send) => {
      const unsubscribeCore = core.onEvent(send);
      const unsubscribe = core.broker.subscribe((event) =>
        send(
          event.type === 'requested'
            ? { type: 'approval.requested', request: event.request }
            : { type: 'approval.resolved', id: event.id, outcome: event.outcome },
        ),
      );
      return () => {
        unsubscribe();
        unsubscribeCore();
      };
    },
  };
}
