import type { SigningState } from '../../audit/checkpoints.ts';
import { formatCommandLine } from '../../command-line.ts';
import { WardenError } from '../../errors.ts';
import { identityHash } from '../../policy/identity.ts';
import { WARDEN_VERSION } from '../../version.ts';
import type { ServerEntry } from '../contract.ts';
import { EventLoopDelay } from '../event-loop-delay.ts';
import type { ControlHandlers } from '../invoke.ts';
import type { DaemonContext } from './context.ts';

type StatusHandlers = Pick<
  ControlHandlers,
  | 'status'
  | 'measureEventLoop'
  | 'version'
  | 'servers'
  | 'approveServer'
  | 'restartServer'
  | 'pause'
  | 'resume'
>;

/**
 * Status, servers, pause and resume: the daemon's state and its servers'; and the event-loop
 * delay of this process over the window measureEventLoop opened (EventLoopDelay).
 */
export function statusHandlers(
  { core, runtime }: DaemonContext,
  eventLoop: EventLoopDelay = new EventLoopDelay(),
): StatusHandlers {
  const servers = (): ServerEntry[] =>
    [...core.config.servers.values()].map((server) => {
      const admission = core.admit(server);
      return {
        name: server.name,
        kind: server.kind,
        target: server.kind === 'stdio' ? formatCommandLine(server) : server.url,
        envKeys: server.kind === 'stdio' ? Object.keys(server.env) : Object.keys(server.headers),
        identityHash: identityHash(admission.identity),
        allowed: admission.allowed,
        ...(admission.allowed ? {} : { reason: admission.reason }),
        trusted: admission.allowed ? admission.trusted : false,
        sessions: runtime.sessionsFor(server.name),
        breaker: runtime.breakerState(server.name),
        ...(runtime.warmStatus ? { warm: runtime.warmStatus(server.name) } : {}),
        sandbox: core.sandbox.describe(server),
      };
    });
  return {
    status: () => ({
      version: WARDEN_VERSION,
      pid: process.pid,
      config: core.config.file,
      servers: servers(),
      pendingApprovals: core.broker.list().length,
      paused: core.paused,
      policyVersion: core.policyVersion() ?? null,
      eventLoop: eventLoop.figures(),
      auditSigning: auditSigning(core.audit.chainState().signing),
    }),
    measureEventLoop: () => eventLoop.start(),
    version: () => ({ version: WARDEN_VERSION, pid: process.pid, api: 'v1' }),
    servers,
    approveServer: ({ params, body }) => {
      core.approveServer(params.name, body.identityHash, 'control-api');
      return { ok: true };
    },
    restartServer: async ({ params: { name } }) => {
      if (!core.config.servers.has(name))
        throw new WardenError('NOT_FOUND', `no server "${name}" in ${core.config.file}`);
      await runtime.restart(name);
      core.emit({ type: 'status.changed' });
      return { ok: true };
    },
    pause: async () => {
      core.setPaused(true);
      await runtime.pauseAll();
      return { ok: true };
    },
    resume: () => {
      core.setPaused(false);
      return { ok: true };
    },
  };
}

/** The status's view of the checkpoint signing key (audit/checkpoints.ts). */
function auditSigning(signing: SigningState): { state: SigningState['state']; reason: string | null } {
  return { state: signing.state, reason: signing.state === 'missing' ? signing.reason : null };
}
