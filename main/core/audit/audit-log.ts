import Database from 'better-sqlite3';
import fs from 'node:fs';
import path from 'node:path';
import { describeError, WardenError } from '../errors.ts';
import { applyMigrations } from './migrations.ts';
import { Outbox } from './outbox.ts';
import { redactSecrets } from './redact.ts';
import { WalCheckpointer, type WalCheckpointerOptions } from './wal-checkpointer.ts';
import { WriteBatch } from './write-batch.ts';

/** Whether the guard chain let a call through. */
export type AuditDecision = 'allow' | 'deny';

/**
 * How a call ended: `ok` a result; `tool_error` a result with `isError: true`; `error` a
 * JSON-RPC error or a lost upstream; `refused` denied by Warden, never forwarded;
 * `cancelled` the client cancelled it.
 */
export type AuditOutcome = 'ok' | 'tool_error' | 'error' | 'refused' | 'cancelled';

/** A `tools/call` as Warden decided on it, before it is forwarded. */
export interface AuditCallStart {
  /** When the call was received, ms since the epoch (Date.now()). */
  startedAt: number;
  /** The downstream session id. */
  sessionId: string;
  /** `clientInfo.name` / `clientInfo.version` from the client's initialize request. */
  clientName?: string;
  clientVersion?: string;
  /** The upstream server's name in the config. */
  server: string;
  tool: string;
  /** The JSON-RPC request id (stored as text). */
  requestId?: string | number;
  /** The call's `arguments`; stored as JSON after {@link redactSecrets}. */
  arguments?: unknown;
  decision: AuditDecision;
  /** Why: the deny reason, or which rule allowed it. */
  reason?: string;
  /** The org policy version in force, e.g. "org acme v6" (absent without org policy). */
  policyVersion?: string;
  /** The session's MCP protocol version (forwarded records only; not a column). */
  protocolVersion?: string;
}

/** How a recorded call ended. */
export interface AuditCallEnd {
  outcome: AuditOutcome;
  /** The error message or the tool's error text, when the outcome is not `ok`. */
  error?: string;
  /** From receipt to the answer, ms (fractional). */
  durationMs: number;
}

/** Options of {@link AuditLog.open}. */
export interface AuditLogOptions {
  /**
   * SQLite `PRAGMA synchronous` in WAL mode. `normal` (default): a row is committed when the
   * call returns and survives a crash or kill -9 of Warden, but the latest rows may be lost in a
   * power loss or OS crash. `full`: each commit is fsynced, so rows also survive a power loss
   * (slower: one fsync per call).
   */
  synchronous?: 'normal' | 'full';
  /** How long a write waits for another connection's lock, ms (SQLite busy_timeout). Default 5000. */
  busyTimeoutMs?: number;
  /** How the WAL is checkpointed off the event loop (see WalCheckpointer). */
  checkpoints?: WalCheckpointerOptions;
}

const INSERT_SQL = `
  INSERT INTO tool_calls (
    ts, ts_ms, session_id, client_name, client_version, server, tool, request_id, arguments,
    decision, reason, outcome, error, duration_ms, policy_version
  ) VALUES (
    @ts, @tsMs, @sessionId, @clientName, @clientVersion, @server, @tool, @requestId, @arguments,
    @decision, @reason, @outcome, @error, @durationMs, @policyVersion
  )`;

const UPDATE_SQL = `UPDATE tool_calls SET outcome = @outcome, error = @error, duration_ms = @durationMs WHERE id = @id`;

interface InsertParams {
  ts: string;
  tsMs: number;
  sessionId: string;
  clientName: string | null;
  clientVersion: string | null;
  server: string;
  tool: string;
  requestId: string | null;
  arguments: string | null;
  decision: AuditDecision;
  reason: string | null;
  outcome: AuditOutcome | null;
  error: string | null;
  durationMs: number | null;
  policyVersion: string | null;
}

interface UpdateParams {
  id: number;
  outcome: AuditOutcome;
  error: string | null;
  durationMs: number;
}

/**
 * The audit log's writer: one row per `tools/call` in the SQLite table `tool_calls`
 * (see migrations.ts), on the per-call hot path of the proxy.
 *
 * The `record*` methods are each a single auto-committed statement on a prepared statement:
 * when they return, the row is committed and visible to other connections, so a call is
 * recorded durably before it is forwarded. The `queue*` methods are for what is not needed
 * before forwarding (outcomes, refusals): they join one transaction per turn of the event loop
 * (WriteBatch) and resolve once it has committed, so the caller delivers a result only after
 * its row is committed. The database runs in WAL mode, checkpointed by a worker thread, not by
 * the writes (WalCheckpointer); see {@link AuditLogOptions.synchronous} for what survives a
 * crash. One writer per file: the daemon (readers use AuditReader).
 *
 * With audit destinations in force (Outbox.setDestinations), a row that is complete (its
 * outcome, or a refusal) gets its outbox records (outbox.ts) in the same transaction as the
 * write, a savepoint inside the batch's: a record exists exactly when its row is committed.
 *
 * Errors are WardenErrors with code AUDIT_FAILED naming the file (disk full, file removed,
 * log closed, ...): the caller fails closed and does not forward a call it could not record.
 */
export class AuditLog {
  /** The database file. */
  readonly file: string;
  readonly #db: Database.Database;
  readonly #insert: Database.Statement<[InsertParams]>;
  readonly #update: Database.Statement<[UpdateParams]>;
  readonly #batch: WriteBatch;
  /** Runs a write and its outbox records in one transaction (or savepoint, inside the batch's). */
  readonly #withRecords: (write: () => number) => number;
  readonly #checkpointer: WalCheckpointer;
  /** Records for the forwarding destinations, written in each row's transaction (outbox.ts). */
  readonly outbox: Outbox;
  /** Called with the row id after each committed insert or outcome (live views); must not throw. */
  onRecord: ((id: number) => void) | undefined;

  private constructor(file: string, db: Database.Database, options: AuditLogOptions) {
    this.file = file;
    this.#db = db;
    this.#insert = db.prepare<[InsertParams]>(INSERT_SQL);
    this.#update = db.prepare<[UpdateParams]>(UPDATE_SQL);
    this.outbox = new Outbox(db);
    const inTransaction = db.transaction((writes: () => unknown[]) => writes());
    const withRecords = db.transaction((write: () => number) => write());
    // Alone: BEGIN IMMEDIATE .. COMMIT; inside the batch's transaction: a savepoint.
    this.#withRecords = (write) => withRecords.immediate(write);
    this.#batch = new WriteBatch((writes, count) => {
      // One statement commits by itself: BEGIN and COMMIT around it would only add two.
      const results = count === 1 ? writes() : inTransaction.immediate(writes);
      this.#checkpointer.wrote();
      return results;
    });
    this.#checkpointer = WalCheckpointer.start(file, db, options.checkpoints);
  }

  /**
   * Opens the audit log, creating its directory (mode 0700) and file (mode 0600) if needed,
   * switches it to WAL mode and applies pending migrations.
   * @param file path of the database file, e.g. `resolvePaths().auditDb`.
   * @throws WardenError AUDIT_FAILED naming the file when it cannot be created, opened or
   *   migrated (directory not writable, disk full, not an SQLite file, newer schema).
   */
  static open(file: string, options: AuditLogOptions = {}): AuditLog {
    const resolved = path.resolve(file);
    let db: Database.Database | undefined;
    try {
      fs.mkdirSync(path.dirname(resolved), { recursive: true, mode: 0o700 });
      // Create the file ourselves so it, and the -wal/-shm files SQLite derives from it, are private.
      fs.closeSync(fs.openSync(resolved, 'a', 0o600));
      db = new Database(resolved, { fileMustExist: true, timeout: options.busyTimeoutMs ?? 5000 });
      db.pragma('journal_mode = WAL');
      db.pragma(`synchronous = ${options.synchronous === 'full' ? 'FULL' : 'NORMAL'}`);
      applyMigrations(db);
      return new AuditLog(resolved, db, options);
    } catch (error) {
      db?.close();
      throw new WardenError(
        'AUDIT_FAILED',
        `cannot open the audit log at ${resolved}: ${describeError(error)}`,
        {
          cause: error,
        },
      );
    }
  }

  /**
   * Records a call that is about to be forwarded (outcome NULL until {@link recordOutcome}).
   * @returns the row id, for recordOutcome.
   * @throws WardenError AUDIT_FAILED when the row could not be committed.
   */
  recordCall(start: AuditCallStart): number {
    return this.#insertRow(start, null, null, null);
  }

  /**
   * Records how a call recorded by {@link recordCall} ended.
   * @throws WardenError AUDIT_FAILED when the update fails or no row has that id.
   */
  recordOutcome(id: number, end: AuditCallEnd): void {
    let changes: number;
    try {
      changes = this.#updateRow({
        id,
        outcome: end.outcome,
        error: end.error ?? null,
        durationMs: end.durationMs,
      });
      this.#checkpointer.wrote();
    } catch (error) {
      throw this.#failed(`cannot record the outcome of call #${id}`, error);
    }
    if (changes === 0) {
      throw new WardenError(
        'AUDIT_FAILED',
        `the audit log at ${this.file} has no call #${id} to record an outcome for`,
      );
    }
    this.onRecord?.(id);
  }

  /**
   * Queues how a call recorded by {@link recordCall} ended, for this turn's transaction.
   * @returns a promise that resolves once the outcome is committed.
   * @throws (rejects) WardenError AUDIT_FAILED when the transaction failed or no row has that id.
   */
  queueOutcome(id: number, end: AuditCallEnd): Promise<void> {
    const params: UpdateParams = {
      id,
      outcome: end.outcome,
      error: end.error ?? null,
      durationMs: end.durationMs,
    };
    return this.#batch
      .enqueue(() => this.#updateRow(params))
      .then(
        (changes) => {
          if (changes === 0) {
            throw new WardenError(
              'AUDIT_FAILED',
              `the audit log at ${this.file} has no call #${id} to record an outcome for`,
            );
          }
          this.onRecord?.(id);
        },
        (error: unknown) => {
          throw this.#failed(`cannot record the outcome of call #${id}`, error);
        },
      );
  }

  /**
   * Queues a call about to be forwarded (as {@link recordCall}) for this turn's transaction.
   * @returns a promise of the row id, resolved once the row is committed (forward only then).
   * @throws (rejects) WardenError AUDIT_FAILED when the transaction failed.
   */
  queueCall(start: AuditCallStart): Promise<number> {
    return this.#queueInsert(start, null, null, null);
  }

  /**
   * Queues a refused call (as {@link recordRefusal}) for this turn's transaction.
   * @returns a promise of the row id, resolved once the row is committed.
   * @throws (rejects) WardenError AUDIT_FAILED when the transaction failed.
   */
  queueRefusal(start: AuditCallStart, error: string, durationMs = 0): Promise<number> {
    return this.#queueInsert({ ...start, decision: 'deny' }, 'refused', error, durationMs);
  }

  #queueInsert(
    start: AuditCallStart,
    outcome: AuditOutcome | null,
    error: string | null,
    durationMs: number | null,
  ): Promise<number> {
    let params: InsertParams;
    try {
      params = insertParams(start, outcome, error, durationMs);
    } catch (cause) {
      return Promise.reject(this.#failed(`cannot record a call to ${start.server}/${start.tool}`, cause));
    }
    return this.#batch
      .enqueue(() => this.#insertParams(params, start.protocolVersion))
      .then(
        (id) => {
          this.onRecord?.(id);
          return id;
        },
        (cause: unknown) => {
          throw this.#failed(`cannot record a call to ${start.server}/${start.tool}`, cause);
        },
      );
  }

  /**
   * Records a call that Warden refused and did not forward, in one statement: decision `deny`,
   * outcome `refused`.
   * @param error the message the client was answered with.
   * @param durationMs from receipt to the refusal, ms (a person's deny after a wait; 0 default).
   * @returns the row id.
   * @throws WardenError AUDIT_FAILED when the row could not be committed.
   */
  recordRefusal(start: AuditCallStart, error: string, durationMs = 0): number {
    return this.#insertRow({ ...start, decision: 'deny' }, 'refused', error, durationMs);
  }

  /**
   * Commits what is queued, stops the checkpointer, checkpoints the WAL a last time and closes
   * the database. Further records throw. Idempotent.
   */
  close(): void {
    if (!this.#db.open) return;
    this.#batch.flush();
    this.#checkpointer.stop();
    try {
      this.#db.pragma('wal_checkpoint(TRUNCATE)');
    } catch {
      // A reader holds the WAL (or the disk is full): its rows stay in the WAL, which the
      // next open reads; closing the last connection checkpoints it.
    }
    this.#db.close();
  }

  #insertRow(
    start: AuditCallStart,
    outcome: AuditOutcome | null,
    error: string | null,
    durationMs: number | null,
  ): number {
    try {
      const params = insertParams(start, outcome, error, durationMs);
      const id = this.#insertParams(params, start.protocolVersion);
      this.#checkpointer.wrote();
      this.onRecord?.(id);
      return id;
    } catch (cause) {
      throw this.#failed(`cannot record a call to ${start.server}/${start.tool}`, cause);
    }
  }

  /** Inserts a row and, when it is complete (a refusal), its outbox records; returns its id. */
  #insertParams(params: InsertParams, protocolVersion: string | undefined): number {
    if (params.outcome === null) {
      // Not complete yet: its records come with the outcome, so it needs no transaction.
      const id = Number(this.#insert.run(params).lastInsertRowid);
      this.outbox.noteCall(id, protocolVersion);
      return id;
    }
    if (!this.outbox.active) return Number(this.#insert.run(params).lastInsertRowid);
    return this.#withRecords(() => {
      const id = Number(this.#insert.run(params).lastInsertRowid);
      this.outbox.enqueueCall(id, protocolVersion);
      return id;
    });
  }

  /** Writes an outcome and the row's outbox records; returns the rows changed (0: no such row). */
  #updateRow(params: UpdateParams): number {
    if (!this.outbox.active) return this.#update.run(params).changes;
    return this.#withRecords(() => {
      const changes = this.#update.run(params).changes;
      if (changes > 0) this.outbox.enqueueCall(params.id);
      return changes;
    });
  }

  #failed(what: string, cause: unknown): WardenError {
    return new WardenError(
      'AUDIT_FAILED',
      `${what} in the audit log at ${this.file}: ${describeError(cause)}`,
      {
        cause,
      },
    );
  }
}

/** The INSERT's parameters for a call and (for a refusal) how it ended. */
function insertParams(
  start: AuditCallStart,
  outcome: AuditOutcome | null,
  error: string | null,
  durationMs: number | null,
): InsertParams {
  return {
    ts: new Date(start.startedAt).toISOString(),
    tsMs: Math.trunc(start.startedAt),
    sessionId: start.sessionId,
    clientName: start.clientName ?? null,
    clientVersion: start.clientVersion ?? null,
    server: start.server,
    tool: start.tool,
    requestId: start.requestId === undefined ? null : String(start.requestId),
    arguments: serializeArguments(start.arguments),
    decision: start.decision,
    reason: start.reason ?? null,
    outcome,
    error,
    durationMs,
    policyVersion: start.policyVersion ?? null,
  };
}

/** Arguments as stored: redacted JSON text, or NULL when the call had none. */
function serializeArguments(value: unknown): string | null {
  if (value === undefined) return null;
  try {
    return JSON.stringify(redactSecrets(value)) ?? null;
  } catch (error) {
    // Arguments come from JSON, so this is a bug elsewhere; still record the call.
    return JSON.stringify(`[arguments not serializable: ${describeError(error)}]`);
  }
}
