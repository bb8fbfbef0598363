import type Database from 'better-sqlite3';
import type { ProcessGroupLedger, ProcessGroupRecord } from '../process/upstream-processes.ts';

interface Row {
  pgid: number;
  leader_identity: string;
  server: string;
  command: string;
  daemon_pid: number;
  daemon_identity: string;
  started_at: string;
}

/**
 * The process groups of running upstream servers (table upstream_process_groups in state.db):
 * a row from spawn until the whole group is gone, so a daemon that was killed before it could
 * end them leaves a record the next start acts on (UpstreamProcesses.endLeftovers).
 */
export class ProcessGroupStore implements ProcessGroupLedger {
  readonly #put: Database.Statement;
  readonly #delete: Database.Statement<[number]>;
  readonly #all: Database.Statement<[], Row>;

  constructor(db: Database.Database) {
    this.#put = db.prepare(
      `INSERT OR REPLACE INTO upstream_process_groups
         (pgid, leader_identity, server, command, daemon_pid, daemon_identity, started_at)
       VALUES (@pgid, @leaderIdentity, @server, @command, @daemonPid, @daemonIdentity, @startedAt)`,
    );
    this.#delete = db.prepare(`DELETE FROM upstream_process_groups WHERE pgid = ?`);
    this.#all = db.prepare(`SELECT * FROM upstream_process_groups ORDER BY started_at`);
  }

  add(record: ProcessGroupRecord): void {
    this.#put.run(record);
  }

  remove(pgid: number): void {
    this.#delete.run(pgid);
  }

  list(): ProcessGroupRecord[] {
    return this.#all.all().map((row) => ({
      pgid: row.pgid,
      leaderIdentity: row.leader_identity,
      server: row.server,
      command: row.command,
      daemonPid: row.daemon_pid,
      daemonIdentity: row.daemon_identity,
      startedAt: row.started_at,
    }));
  }
}
