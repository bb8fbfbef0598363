import type Database from 'better-sqlite3';
import { describeIdentity, identityHash, type ServerIdentity } from '../policy/identity.ts';

export interface ServerApproval {
  server: string;
  identityHash: string;
  identity: ServerIdentity;
  approvedAt: string;
  approvedBy: string;
}

/**
 * Server identities a person approved (table server_approvals in state.db). An approval binds
 * a config name to one exact identity: the same name with another command, argv or URL is not
 * approved.
 */
export class ServerApprovalStore {
  readonly #insert: Database.Statement;
  readonly #byServer: Database.Statement<
    [string],
    { server: string; identity_hash: string; identity: string; approved_at: string; approved_by: string }
  >;
  readonly #all: Database.Statement<
    [],
    { server: string; identity_hash: string; identity: string; approved_at: string; approved_by: string }
  >;
  readonly #one: Database.Statement<
    [string, string],
    { server: string; identity_hash: string; identity: string; approved_at: string; approved_by: string }
  >;
  readonly #remove: Database.Statement<[string, string]>;

  constructor(db: Database.Database) {
    this.#insert = db.prepare(
      `INSERT OR REPLACE INTO server_approvals (server, identity_hash, identity, approved_at, approved_by) VALUES (?, ?, ?, ?, ?)`,
    );
    this.#byServer = db.prepare(`SELECT * FROM server_approvals WHERE server = ? ORDER BY approved_at`);
    this.#all = db.prepare(`SELECT * FROM server_approvals ORDER BY server, approved_at`);
    this.#one = db.prepare(`SELECT * FROM server_approvals WHERE server = ? AND identity_hash = ?`);
    this.#remove = db.prepare(`DELETE FROM server_approvals WHERE server = ? AND identity_hash = ?`);
  }

  approve(server: string, identity: ServerIdentity, by: string): ServerApproval {
    const approval: ServerApproval = {
      server,
      identityHash: identityHash(identity),
      identity,
      approvedAt: new Date().toISOString(),
      approvedBy: by,
    };
    this.#insert.run(server, approval.identityHash, JSON.stringify(identity), approval.approvedAt, by);
    return approval;
  }

  /** The approval of exactly this server name and identity hash, if recorded. */
  get(server: string, identityHash: string): ServerApproval | undefined {
    const row = this.#one.get(server, identityHash);
    return row ? toApproval(row) : undefined;
  }

  /** Records an approval as it is (approve() stamps the time; this puts a stored one back). */
  put(approval: ServerApproval): void {
    this.#insert.run(
      approval.server,
      approval.identityHash,
      JSON.stringify(approval.identity),
      approval.approvedAt,
      approval.approvedBy,
    );
  }

  /** Forgets the approval of this server name and identity hash (nothing when there is none). */
  remove(server: string, identityHash: string): void {
    this.#remove.run(server, identityHash);
  }

  /** Approvals recorded for a server name (any identity), oldest first. */
  forServer(server: string): ServerApproval[] {
    return this.#byServer.all(server).map(toApproval);
  }

  all(): ServerApproval[] {
    return this.#all.all().map(toApproval);
  }

  isApproved(server: string, identity: ServerIdentity): boolean {
    const hash = identityHash(identity);
    return this.forServer(server).some((a) => a.identityHash === hash);
  }

  /** The exact command of the latest approved identity, for "it changed" messages. */
  lastApproved(server: string): string | undefined {
    const latest = this.forServer(server).at(-1);
    return latest ? describeIdentity(latest.identity) : undefined;
  }
}

function toApproval(row: {
  server: string;
  identity_hash: string;
  identity: string;
  approved_at: string;
  approved_by: string;
}): ServerApproval {
  return {
    server: row.server,
    identityHash: row.identity_hash,
    identity: JSON.parse(row.identity) as ServerIdentity,
    approvedAt: row.approved_at,
    approvedBy: row.approved_by,
  };
}
