import type Database from 'better-sqlite3';
import { WardenError } from '../errors.ts';
import type { RememberedGrant } from '../policy/engine.ts';
import type { ArgumentCondition } from '../config/policy-schema.ts';

/** A persisted "always allow" a person gave in answer to an approval request. */
export interface RememberedRule {
  id: number;
  server: string;
  tool: string;
  conditions: ArgumentCondition[] | null;
  createdAt: string;
  createdBy: string;
  approvalId: string | null;
}

interface Row {
  id: number;
  server: string;
  tool: string;
  conditions: string | null;
  created_at: string;
  created_by: string;
  approval_id: string | null;
}

/** Remembered "always allow" decisions (table remembered_rules in state.db); they survive restarts. */
export class RememberedRuleStore {
  readonly #insert: Database.Statement;
  readonly #all: Database.Statement<[], Row>;
  readonly #delete: Database.Statement<[number]>;
  #cache: RememberedGrant[] | undefined;

  constructor(db: Database.Database) {
    this.#insert = db.prepare(
      `INSERT INTO remembered_rules (server, tool, conditions, created_at, created_by, approval_id) VALUES (?, ?, ?, ?, ?, ?)`,
    );
    this.#all = db.prepare(`SELECT * FROM remembered_rules ORDER BY id`);
    this.#delete = db.prepare(`DELETE FROM remembered_rules WHERE id = ?`);
  }

  /**
   * Stores a rule. Path conditions come from ApprovalBroker#answer with their directories
   * already resolved to real paths (pinPathConditions), and are stored as they are.
   * @throws better-sqlite3's error when the database cannot be written.
   */
  add(rule: {
    server: string;
    tool: string;
    conditions?: ArgumentCondition[];
    createdBy: string;
    approvalId?: string;
  }): RememberedRule {
    const createdAt = new Date().toISOString();
    const conditions = rule.conditions?.length ? rule.conditions : null;
    const info = this.#insert.run(
      rule.server,
      rule.tool,
      conditions ? JSON.stringify(conditions) : null,
      createdAt,
      rule.createdBy,
      rule.approvalId ?? null,
    );
    this.#cache = undefined;
    return {
      id: Number(info.lastInsertRowid),
      server: rule.server,
      tool: rule.tool,
      conditions,
      createdAt,
      createdBy: rule.createdBy,
      approvalId: rule.approvalId ?? null,
    };
  }

  list(): RememberedRule[] {
    return this.#all.all().map((row) => ({
      id: row.id,
      server: row.server,
      tool: row.tool,
      conditions: row.conditions ? (JSON.parse(row.conditions) as ArgumentCondition[]) : null,
      createdAt: row.created_at,
      createdBy: row.created_by,
      approvalId: row.approval_id,
    }));
  }

  /**
   * Deletes a remembered rule.
   * @throws WardenError NOT_FOUND when there is no rule with this id.
   */
  revoke(id: number): void {
    if (this.#delete.run(id).changes === 0)
      throw new WardenError('NOT_FOUND', `no remembered rule #${id} (see \`mcp-warden rules list\`)`);
    this.#cache = undefined;
  }

  /** The rules as grants for the policy engine (cached until the next change). */
  grants(): RememberedGrant[] {
    this.#cache ??= this.list().map((r) => ({
      id: String(r.id),
      server: r.server,
      tool: r.tool,
      scope: 'always' as const,
      ...(r.conditions ? { conditions: r.conditions } : {}),
    }));
    return this.#cache;
  }
}
