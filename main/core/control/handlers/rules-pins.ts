import type { ControlHandlers } from '../invoke.ts';
import type { DaemonContext } from './context.ts';

/** Remembered decisions and pinned definitions. */
export function rulesPinsHandlers({
  core,
}: DaemonContext): Pick<ControlHandlers, 'rules' | 'revokeRule' | 'pins' | 'approvePin'> {
  return {
    rules: () => core.remembered.list(),
    revokeRule: ({ params }) => {
      core.remembered.revoke(params.id);
      return { ok: true };
    },
    pins: () => ({ pins: core.pins.pins(), reviews: core.pins.reviews(), shadows: core.shadows.shadows() }),
    approvePin: ({ params, body }) => {
      core.pins.approve(params.server, params.kind, params.name, { hash: body.hash });
      core.emit({ type: 'status.changed' });
      return { ok: true };
    },
  };
}
