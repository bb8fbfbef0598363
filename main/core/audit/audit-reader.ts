import Database from 'better-sqlite3';
import fs from 'node:fs';
import path from 'node:path';
import { describeError, WardenError } from '../errors.ts';
import type { AuditDecision, AuditOutcome } from './audit-log.ts';
import { schemaVersion } from '../db/migrations.ts';
import { outboxStatus, type OutboxDestinationStatus } from './outbox.ts';
import type { ToolCallRow } from './tool-call-row.ts';

/**
 * One recorded `tools/call`, as read back from the audit log. Absent values are `null`, so
 * every record has the same keys (JSON lines, CSV columns).
 */
export interface AuditRecord {
  /** Row id: increases with every call recorded, never reused. */
  id: number;
  /** When the call was received, ISO 8601 UTC with ms (e.g. "2025-06-01T12:00:00.000Z"). */
  ts: string;
  sessionId: string;
  clientName: string | null;
  clientVersion: string | null;
  server: string;
  tool: string;
  /** The JSON-RPC request id, as text. */
  requestId: string | null;
  /** The call's arguments with secrets redacted (parsed JSON); null when it had none. */
  arguments: unknown;
  decision: AuditDecision;
  reason: string | null;
  /** null while the call is in flight (or when Warden stopped before it ended). */
  outcome: AuditOutcome | null;
  error: string | null;
  /** From receipt to the answer, ms; null while in flight. */
  durationMs: number | null;
  /** The org policy version in force when the call was decided, e.g. "org acme v6". */
  policyVersion: string | null;
}

/** Filters of {@link AuditReader.query}; each given one narrows the result (AND). */
export interface AuditFilter {
  client?: string;
  server?: string;
  tool?: string;
  decision?: AuditDecision;
  /** `pending`: no outcome yet. */
  outcome?: AuditOutcome | 'pending';
  /** Received at or after, ms since the epoch. */
  sinceMs?: number;
  /** Received before, ms since the epoch. */
  untilMs?: number;
  /** Case-insensitive substring of tool, server, client, reason, error or the arguments' JSON. */
  text?: string;
  /** Only rows with an id below this. */
  beforeId?: number;
}

/** A row of `tool_calls` as SQLite returns it (the columns of COLUMNS). */
type AuditRow = ToolCallRow;

const COLUMNS =
  'id, ts, session_id, client_name, client_version, server, tool, request_id, arguments, decision, reason, outcome, error, duration_ms, policy_version';

/**
 * Read-only access to the audit log, for the CLI and tests. Opens its own read-only connection,
 * so it can read while the daemon writes (WAL mode): each query sees every row committed
 * before it started.
 */
export class AuditReader {
  /** The database file. */
  readonly file: string;
  readonly #db: Database.Database;
  readonly #latest: Database.Statement<[number], AuditRow>;
  readonly #after: Database.Statement<[number], AuditRow>;
  readonly #since: Database.Statement<[number], AuditRow>;
  readonly #byIds: Database.Statement<[string], AuditRow>;

  private constructor(file: string, db: Database.Database) {
    this.file = file;
    this.#db = db;
    this.#latest = db.prepare<[number], AuditRow>(
      `SELECT * FROM (SELECT ${COLUMNS} FROM tool_calls ORDER BY id DESC LIMIT ?) ORDER BY id`,
    );
    this.#after = db.prepare<[number], AuditRow>(
      `SELECT ${COLUMNS} FROM tool_calls WHERE id > ? ORDER BY id`,
    );
    this.#since = db.prepare<[number], AuditRow>(
      `SELECT ${COLUMNS} FROM tool_calls WHERE ts_ms >= ? ORDER BY id`,
    );
    this.#byIds = db.prepare<[string], AuditRow>(
      `SELECT ${COLUMNS} FROM tool_calls WHERE id IN (SELECT value FROM json_each(?)) ORDER BY id`,
    );
  }

  /**
   * Opens an existing audit log read-only.
   * @throws WardenError AUDIT_FAILED when the file does not exist or holds no audit log yet
   *   ("no audit log at <file> yet: ..."), or cannot be read.
   */
  static open(file: string): AuditReader {
    const resolved = path.resolve(file);
    const notYet = new WardenError(
      'AUDIT_FAILED',
      `no audit log at ${resolved} yet: start \`mcp-warden serve\` and make a call`,
    );
    if (!fs.existsSync(resolved)) throw notYet;
    let db: Database.Database | undefined;
    try {
      db = new Database(resolved, { readonly: true, fileMustExist: true });
      if (schemaVersion(db) === 0) {
        db.close();
        throw notYet;
      }
      return new AuditReader(resolved, db);
    } catch (error) {
      if (error === notYet) throw error;
      db?.close();
      throw new WardenError(
        'AUDIT_FAILED',
        `cannot read the audit log at ${resolved}: ${describeError(error)}`,
        {
          cause: error,
        },
      );
    }
  }

  /** The last `n` records, oldest first. */
  latest(n: number): AuditRecord[] {
    return this.#read(() => this.#latest.all(Math.max(0, Math.trunc(n))).map(toRecord));
  }

  /** Records with an id greater than `id`, oldest first (for following the log). */
  after(id: number): AuditRecord[] {
    return this.#read(() => this.#after.all(id).map(toRecord));
  }

  /** The records with these ids that exist, oldest first (to see in-flight calls end). */
  byIds(ids: readonly number[]): AuditRecord[] {
    if (ids.length === 0) return [];
    return this.#read(() => this.#byIds.all(JSON.stringify(ids)).map(toRecord));
  }

  /**
   * Every record, oldest first, one at a time (for export). While the generator is not
   * finished, this reader runs no other query.
   * @param options.since only calls received at or after this instant, ms since the epoch.
   */
  *iterate(options: { since?: number } = {}): Generator<AuditRecord, void, undefined> {
    const rows = this.#read(() => this.#since.iterate(options.since ?? Number.MIN_SAFE_INTEGER));
    try {
      for (;;) {
        const next = this.#read(() => rows.next());
        if (next.done) return;
        yield toRecord(next.value);
      }
    } finally {
      // A consumer that stops early must not leave the statement (and the connection) busy.
      rows.return?.();
    }
  }

  /**
   * One page of records matching `filter`, newest first, and how many match in all.
   * @param limit rows per page (1..1000).
   */
  query(filter: AuditFilter, limit: number): { records: AuditRecord[]; total: number } {
    const { where, params } = whereClause(filter);
    const paged = filter.beforeId === undefined ? where : [...where, 'id < @beforeId'];
    const sql = (clauses: string[]): string => (clauses.length ? `WHERE ${clauses.join(' AND ')}` : '');
    return this.#read(() => {
      const rows = this.#db
        .prepare<Record<string, unknown>, AuditRow>(
          `SELECT ${COLUMNS} FROM tool_calls ${sql(paged)} ORDER BY id DESC LIMIT @limit`,
        )
        .all({ ...params, beforeId: filter.beforeId, limit: Math.min(1000, Math.max(1, limit)) });
      const { n } = this.#db
        .prepare<Record<string, unknown>, { n: number }>(`SELECT count(*) AS n FROM tool_calls ${sql(where)}`)
        .get(params)!;
      return { records: rows.map(toRecord), total: n };
    });
  }

  /**
   * Every record matching `filter`, oldest first, one at a time (for export). While the
   * generator is not finished, this reader runs no other query.
   */
  *iterateFiltered(filter: AuditFilter): Generator<AuditRecord, void, undefined> {
    const { where, params } = whereClause(filter);
    const rows = this.#read(() =>
      this.#db
        .prepare<Record<string, unknown>, AuditRow>(
          `SELECT ${COLUMNS} FROM tool_calls ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id`,
        )
        .iterate(params),
    );
    try {
      for (;;) {
        const next = this.#read(() => rows.next());
        if (next.done) return;
        yield toRecord(next.value);
      }
    } finally {
      rows.return?.();
    }
  }

  /** Closes the connection. Idempotent. */
  /**
   * The forwarding outbox per destination: records waiting, delivered, last success and error
   * (empty for a log older than the outbox, schema version 6).
   * @param inForce destination names to list even without records.
   */
  outbox(inForce: readonly string[] = []): OutboxDestinationStatus[] {
    const hasOutbox = this.#db
      .prepare(`SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'outbox_status'`)
      .get();
    return hasOutbox ? outboxStatus(this.#db, inForce) : [];
  }

  close(): void {
    if (this.#db.open) this.#db.close();
  }

  #read<T>(query: () => T): T {
    try {
      return query();
    } catch (error) {
      throw new WardenError(
        'AUDIT_FAILED',
        `cannot read the audit log at ${this.file}: ${describeError(error)}`,
        {
          cause: error,
        },
      );
    }
  }
}

function whereClause(filter: AuditFilter): { where: string[]; params: Record<string, unknown> } {
  const where: string[] = [];
  const params: Record<string, unknown> = {};
  const equal = (column: string, key: string, value: string | undefined): void => {
    if (value === undefined) return;
    where.push(`${column} = @${key}`);
    params[key] = value;
  };
  equal('client_name', 'client', filter.client);
  equal('server', 'server', filter.server);
  equal('tool', 'tool', filter.tool);
  equal('decision', 'decision', filter.decision);
  if (filter.outcome === 'pending') where.push('outcome IS NULL');
  else equal('outcome', 'outcome', filter.outcome);
  if (filter.sinceMs !== undefined) {
    where.push('ts_ms >= @sinceMs');
    params.sinceMs = filter.sinceMs;
  }
  if (filter.untilMs !== undefined) {
    where.push('ts_ms < @untilMs');
    params.untilMs = filter.untilMs;
  }
  if (filter.text) {
    // LIKE is case-insensitive for ASCII in SQLite; % and _ in the text are matched literally.
    params.text = `%${filter.text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    where.push(
      `(${['tool', 'server', 'client_name', 'reason', 'error', 'arguments'].map((c) => `${c} LIKE @text ESCAPE '\\'`).join(' OR ')})`,
    );
  }
  return { where, params };
}

function toRecord(row: AuditRow): AuditRecord {
  return {
    id: row.id,
    ts: row.ts,
    sessionId: row.session_id,
    clientName: row.client_name,
    clientVersion: row.client_version,
    server: row.server,
    tool: row.tool,
    requestId: row.request_id,
    arguments: row.arguments === null ? null : parseArguments(row.arguments),
    decision: row.decision,
    reason: row.reason,
    outcome: row.outcome,
    error: row.error,
    durationMs: row.duration_ms,
    policyVersion: row.policy_version,
  };
}

function parseArguments(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}
