import { describeError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { groupMembers, processIdentity } from './process-table.ts';
import { signalGroup, TREE_GRACE_MS, waitGroupGone, type ProcessTree } from './process-tree.ts';

/** A process group Warden started for an upstream server, as state.db remembers it. */
export interface ProcessGroupRecord {
  /** Process group id: the pid of the group's leader (the command Warden spawned). */
  pgid: number;
  /** processIdentity() of the leader when it was spawned (guards against pid reuse). */
  leaderIdentity: string;
  server: string;
  /** The command line as spawned (secret references unresolved). */
  command: string;
  /** The daemon that spawned it, and that daemon's processIdentity(). */
  daemonPid: number;
  daemonIdentity: string;
  /** ISO 8601 UTC. */
  startedAt: string;
}

/** Where the records of live upstream process groups are kept (state.db in the daemon). */
export interface ProcessGroupLedger {
  add(record: ProcessGroupRecord): void;
  remove(pgid: number): void;
  list(): ProcessGroupRecord[];
}

/** What endLeftovers found of the groups a previous daemon recorded. */
export interface LeftoverReport {
  /** Groups whose leader was still the recorded process: they were ended. */
  ended: ProcessGroupRecord[];
  /**
   * Groups whose leader is gone (or is now another process) but whose id some processes still
   * carry: not ended, since the id may have been reused; their pids, for the log.
   */
  notEnded: { record: ProcessGroupRecord; pids: number[] }[];
}

/**
 * The upstream process trees of one daemon. Each live tree is recorded in the ledger (so a
 * daemon that was killed with SIGKILL leaves a trace the next one can act on) until it is over.
 * `endAll()` ends every tree still running: the last step of pause and of the daemon's shutdown,
 * whatever path a session took to end.
 */
export class UpstreamProcesses {
  readonly #ledger: ProcessGroupLedger | undefined;
  readonly #log: Logger;
  readonly #live = new Set<ProcessTree>();
  #daemonIdentity: string | undefined;

  constructor(ledger: ProcessGroupLedger | undefined, logger: Logger) {
    this.#ledger = ledger;
    this.#log = logger;
  }

  /** How many trees are not over yet. */
  get size(): number {
    return this.#live.size;
  }

  /** Follows a tree until it is over; records it in the ledger meanwhile. */
  track(tree: ProcessTree, server: string, command: string): void {
    this.#live.add(tree);
    const identity = processIdentity(tree.pid);
    if (this.#ledger && identity) {
      this.#daemonIdentity ??= processIdentity(process.pid) ?? 'unknown';
      try {
        this.#ledger.add({
          pgid: tree.pid,
          leaderIdentity: identity,
          server,
          command,
          daemonPid: process.pid,
          daemonIdentity: this.#daemonIdentity,
          startedAt: new Date().toISOString(),
        });
      } catch (error) {
        this.#log.warn({ err: describeError(error), pgid: tree.pid }, 'could not record the process group');
      }
    }
    void tree.ended.then(() => {
      this.#live.delete(tree);
      try {
        this.#ledger?.remove(tree.pid);
      } catch (error) {
        this.#log.debug({ err: describeError(error), pgid: tree.pid }, 'could not forget the process group');
      }
    });
  }

  /** Ends every tree that is not over yet (see ProcessTree.end); resolves when all are. */
  async endAll(): Promise<void> {
    await Promise.all([...this.#live].map((tree) => tree.end()));
  }

  /**
   * Ends the process groups a previous daemon recorded and did not end (it was killed with
   * SIGKILL or crashed before it could). A group is ended only when its leader is still the very
   * process that was spawned (same processIdentity: pid and start time), so a pid the OS reused
   * is never signalled; groups whose leader is gone are reported, not ended. Records of a
   * daemon that still runs are left alone. Call once, when this daemon owns the port.
   */
  async endLeftovers(graceMs = TREE_GRACE_MS): Promise<LeftoverReport> {
    const report: LeftoverReport = { ended: [], notEnded: [] };
    if (!this.#ledger) return report;
    const records = this.#ledger.list();
    await Promise.all(
      records.map(async (record) => {
        if (record.daemonPid !== process.pid && processIdentity(record.daemonPid) === record.daemonIdentity)
          return;
        if (record.daemonPid === process.pid && [...this.#live].some((tree) => tree.pid === record.pgid))
          return;
        if (processIdentity(record.pgid) === record.leaderIdentity) {
          for (const signal of ['SIGTERM', 'SIGKILL'] as const) {
            if (!signalGroup(record.pgid, signal)) break;
            if (await waitGroupGone(record.pgid, graceMs)) break;
          }
          report.ended.push(record);
        } else {
          const pids = (groupMembers(record.pgid) ?? []).map((entry) => entry.pid);
          if (pids.length) report.notEnded.push({ record, pids });
        }
        this.#ledger!.remove(record.pgid);
      }),
    );
    for (const record of report.ended)
      this.#log.warn(
        { pgid: record.pgid, server: record.server, command: record.command, since: record.startedAt },
        'ended an upstream process group a previous Warden left running',
      );
    for (const { record, pids } of report.notEnded)
      this.#log.warn(
        { pgid: record.pgid, server: record.server, command: record.command, pids },
        'processes of an upstream a previous Warden started may still run; their leader is gone, so ' +
          'Warden cannot tell them from processes that reuse the id, and leaves them alone',
      );
    return report;
  }
}
