import type { WarmStatus } from '../../bridge/warm-upstreams.ts';
import type { WardenCore } from '../../runtime/warden-core.ts';

/** What the gateway tells the control API about live sessions. */
export interface ControlRuntime {
  sessionsFor(server: string): number;
  breakerState(server: string): string;
  /** The server's warm upstream (absent: the runtime keeps none). */
  warmStatus?(server: string): WarmStatus;
  /** Ends every session (their upstream processes stop); new ones are refused while paused. */
  pauseAll(): Promise<void>;
  /** Restarts the upstream of every session of `server`; resolves to how many. */
  restart(server: string): Promise<number>;
}

/** What the daemon's handlers work on: the assembled Warden and the gateway's live sessions. */
export interface DaemonContext {
  core: WardenCore;
  runtime: ControlRuntime;
}
