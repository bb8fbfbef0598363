import { journalDir } from '../../change/context.ts';
import type { ChangeContext } from '../../change/run-change.ts';
import { clientLocations } from '../../clients/locations.ts';
import type { ControlHandlers } from '../invoke.ts';
import { approvalsHandlers } from './approvals.ts';
import { auditHandlers } from './audit.ts';
import { auditChainHandlers } from './audit-chain.ts';
import { backupDirOf, clientsHandlers } from './clients.ts';
import type { DaemonContext } from './context.ts';
import { policyHandlers } from './policy.ts';
import { rulesPinsHandlers } from './rules-pins.ts';
import { secretsHandlers } from './secrets.ts';
import { statusHandlers } from './status.ts';

/**
 * Every operation's handler in the daemon, one area per file. The `satisfies` makes a missing
 * handler a type error: adding an operation to operations.ts asks for its handler in its area.
 */
export function daemonHandlers(context: DaemonContext): ControlHandlers {
  const { core } = context;
  // Changes made through the control API use the daemon's own keychain access and state.db.
  const changeContext = (): ChangeContext => ({
    journalDir: journalDir(core.dataDir),
    secrets: core.secrets.store,
    state: () => ({ approvals: core.serverApprovals, bindings: core.secretBindings }),
  });
  const changed = (): void => core.emit({ type: 'status.changed' });
  return {
    ...statusHandlers(context),
    ...approvalsHandlers(context),
    ...rulesPinsHandlers(context),
    ...policyHandlers(context),
    ...auditHandlers({ auditFile: core.audit.file }),
    ...auditChainHandlers(core.audit),
    ...clientsHandlers({
      wardenConfigFile: () => core.config.file,
      backupDir: backupDirOf(core.dataDir),
      locations: clientLocations,
      changeContext,
      changed,
    }),
    ...secretsHandlers({
      config: () => core.config,
      store: core.secrets.store,
      bindings: () => core.secretBindings,
      changeContext,
      changed,
    }),
  } satisfies ControlHandlers;
}
