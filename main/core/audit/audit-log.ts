import Database from 'better-sqlite3';
import fs from 'node:fs';
import path from 'node:path';
import { describeError, WardenError } from '../errors.ts';
import { AuditRedaction, type RedactedCall, type RedactedText } from './audit-redaction.ts';
import { AuditChain, storedText } from './chain.ts';
import type { ChainedRow } from './chain-hash.ts';
import type { CheckpointKey } from './checkpoint-key.ts';
import { ChainCheckpoints, type CheckpointOptions, type SigningState } from './checkpoints.ts';
import { applyMigrations } from './migrations.ts';
import { Outbox } from './outbox.ts';
import { checkpointRecordId } from './outbox-records.ts';
import { redactSecrets } from './redact.ts';
import { WalCheckpointer, type WalCheckpointerOptions } from './wal-checkpointer.ts';
import { WriteBatch } from './write-batch.ts';
import type { AuditDecision, AuditOutcome } from './tool-call-row.ts';

export type { AuditDecision, AuditOutcome } from './tool-call-row.ts';

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
  /**
   * The call's `arguments`; stored as JSON after redaction: by the content scanner and key names
   * (queue* methods, see AuditRedaction), by key names only ({@link redactSecrets}: record*).
   */
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
  /** Secrets found in the result before it went to the client (result masking): rules, never values. */
  resultSecrets?: { rules: string[]; action: 'mask' | 'block' | 'allow' };
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
  /** Redaction of what the queue* methods write (default: the content scanner, no HMAC key). */
  redaction?: AuditRedaction;
  /** When the hash chain's signed checkpoints are written (see ChainCheckpoints). */
  chain?: CheckpointOptions;
  /**
   * `false` writes rows without the hash chain, only to measure what it costs
   * (bench/chain.bench.ts): `audit verify` fails on such a log. Never set by the daemon.
   */
  hashChain?: false;
}

// Positional parameters, each list in its statement's order: better-sqlite3 binds an array of
// values faster than an object of named ones, which it looks up by name one by one (this
// INSERT: 11-19 µs positional, 21-28 µs named, measured in one run).
const INSERT_SQL = `
  INSERT INTO tool_calls (
    ts, ts_ms, session_id, client_name, client_version, server, tool, request_id, arguments,
    decision, reason, outcome, error, duration_ms, policy_version,
    sensitive_data_detected, pii_detected, arguments_hmac
  ) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`;

/** The INSERT's values, in INSERT_SQL's order. */
function insertValues(p: InsertParams): InsertValues {
  return [
    p.ts,
    p.tsMs,
    p.sessionId,
    p.clientName,
    p.clientVersion,
    p.server,
    p.tool,
    p.requestId,
    p.arguments,
    p.decision,
    p.reason,
    p.outcome,
    p.error,
    p.durationMs,
    p.policyVersion,
    p.sensitive,
    p.pii,
    p.argumentsHmac,
  ];
}
type InsertValues = (string | number | null)[];

// Only a row not yet in the chain: a row in the chain is final (chain.ts). The flags only go up.
const UPDATE_SET = `
    outcome = ?, error = ?, duration_ms = ?,
    sensitive_data_detected = max(sensitive_data_detected, ?),
    pii_detected = max(pii_detected, ?),
    result_secret_rules = ?, result_secret_action = ?`;
const UPDATE_SQL = `UPDATE tool_calls SET ${UPDATE_SET} WHERE id = ? AND chain_seq IS NULL`;
const UPDATE_CHAINED_SQL = `UPDATE tool_calls SET ${UPDATE_SET}, chain_seq = ?, chain_hash = ? WHERE id = ? AND chain_seq IS NULL`;

/** UPDATE_SQL's values; with `leaf`, UPDATE_CHAINED_SQL's (its chain position and hash too). */
function updateValues(p: UpdateParams, leaf?: { seq: number; leaf: Buffer }): UpdateValues {
  const set: UpdateValues = [
    p.outcome,
    p.error,
    p.durationMs,
    p.sensitive,
    p.pii,
    p.resultRules,
    p.resultAction,
  ];
  if (leaf) set.push(leaf.seq, leaf.leaf);
  set.push(p.id);
  return set;
}
type UpdateValues = (string | number | Buffer | null)[];

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
  sensitive: 0 | 1;
  pii: 0 | 1;
  argumentsHmac: string | null;
}

interface UpdateParams {
  id: number;
  outcome: AuditOutcome;
  error: string | null;
  durationMs: number;
  sensitive: 0 | 1;
  pii: 0 | 1;
  resultRules: string | null;
  resultAction: string | null;
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
 * What the queue* methods write is redacted first (AuditRedaction: the content scanner, key
 * names, the arguments HMAC, the sensitive_data_detected / pii_detected flags; issue 13 item 3);
 * the record* methods redact by key name only (tools and tests; the daemon uses queue*).
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
  readonly #insert: Database.Statement<InsertValues>;
  readonly #update: Database.Statement<UpdateValues>;
  readonly #updateChained: Database.Statement<UpdateValues>;
  readonly #batch: WriteBatch;
  readonly #checkpointer: WalCheckpointer;
  readonly #redaction: AuditRedaction;
  readonly #chain: AuditChain | undefined;
  readonly #chainCheckpoints: ChainCheckpoints | undefined;
  /** Runs a final write: in a transaction when `atomic` (several statements), with the chain's rollback. */
  readonly #final: (write: () => number, atomic: boolean) => number;
  /** Records for the forwarding destinations, written in each row's transaction (outbox.ts). */
  readonly outbox: Outbox;
  /** Called with the row id after each committed insert or outcome (live views); must not throw. */
  onRecord: ((id: number) => void) | undefined;

  private constructor(file: string, db: Database.Database, options: AuditLogOptions) {
    this.file = file;
    this.#db = db;
    this.#insert = db.prepare<InsertValues>(INSERT_SQL);
    this.#update = db.prepare<UpdateValues>(UPDATE_SQL);
    this.#redaction = options.redaction ?? new AuditRedaction();
    this.outbox = new Outbox(db);
    this.#updateChained = db.prepare<UpdateValues>(UPDATE_CHAINED_SQL);
    if (options.hashChain !== false) {
      this.#chain = AuditChain.open(db);
      this.#chainCheckpoints = new ChainCheckpoints(db, this.#chain, options.chain);
      // The org holds the device's signed tree heads: each checkpoint goes out with the calls.
      this.#chainCheckpoints.onWritten = (checkpoint) =>
        this.outbox.enqueue('checkpoint', {
          recordId: checkpointRecordId(this.outbox.logId, checkpoint.treeSize),
          origin: checkpoint.origin,
          treeSize: checkpoint.treeSize,
          rootHash: checkpoint.rootHash.toString('base64'),
          note: checkpoint.note,
          ts: new Date(checkpoint.createdMs).toISOString(),
        });
    }
    const inTransaction = db.transaction((writes: () => unknown[]) => writes());
    this.#batch = new WriteBatch((writes, count, atomic) => {
      // One statement commits by itself: BEGIN and COMMIT around it would only add two.
      const results = this.#chained(() =>
        count === 1 && !atomic ? writes() : inTransaction.immediate(writes),
      );
      this.#checkpointer.wrote();
      return results;
    });
    const finalTransaction = db.transaction((write: () => number) => write());
    // A final write and its chain append commit together; without the chain it is one statement.
    this.#final = (write, atomic) =>
      this.#chained(() => (atomic ? finalTransaction.immediate(write) : write()));
    this.#checkpointer = WalCheckpointer.start(file, db, options.checkpoints);
  }

  /**
   * Sets the key that signs the chain's checkpoints (or why there is none: then they are written
   * unsigned, and `audit verify` says so). Checkpoints wait for this; see checkpoint-key.ts.
   */
  useCheckpointKey(key: CheckpointKey): void {
    this.#chainCheckpoints?.useKey(key);
  }

  /** The chain's size and signing state, for status. */
  chainState(): { size: number; deviceId: string; signing: SigningState } {
    if (!this.#chain || !this.#chainCheckpoints) {
      return { size: 0, deviceId: '', signing: { state: 'missing', reason: 'the hash chain is off' } };
    }
    return {
      size: this.#chain.size,
      deviceId: this.#chain.deviceId,
      signing: this.#chainCheckpoints.signing(),
    };
  }

  /** Runs a commit; on a rollback puts the chain back; after it, a checkpoint when one is due. */
  #chained<T>(commit: () => T): T {
    const chain = this.#chain;
    if (!chain) return commit();
    const mark = chain.mark();
    let result: T;
    try {
      result = commit();
    } catch (error) {
      chain.restore(mark);
      throw error;
    }
    this.#chainCheckpoints?.afterCommit();
    return result;
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
      // A new file frees the pages retention empties in steps (retention.ts); no effect on an old one.
      db.pragma('auto_vacuum = INCREMENTAL');
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
      changes = this.#final(
        () => this.#finish(id, updateParams(id, end, { ...NOTHING_FOUND, text: end.error ?? null })),
        this.#finishIsAtomic(id),
      );
      this.#checkpointer.wrote();
    } catch (error) {
      throw this.#failed(`cannot record the outcome of call #${id}`, error);
    }
    if (changes === 0) {
      throw new WardenError(
        'AUDIT_FAILED',
        `the audit log at ${this.file} has no call #${id} in flight to record an outcome for (no such call, or its outcome is recorded: final, in the hash chain)`,
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
    const error = end.error ?? null;
    // Without text to scan it joins this turn's batch at once (no scan to wait for).
    if (error === null) return this.#enqueueOutcome(updateParams(id, end, NOTHING_FOUND));
    return this.#redaction.text(error).then(
      (redacted) => this.#enqueueOutcome(updateParams(id, end, redacted)),
      // Fail closed: the outcome is recorded, its text is not.
      (cause: unknown) =>
        this.#enqueueOutcome(
          updateParams(id, end, {
            text: `[not recorded: ${describeError(cause)}]`,
            sensitiveDataDetected: true,
            piiDetected: false,
          }),
        ),
    );
  }

  #enqueueOutcome(params: UpdateParams): Promise<void> {
    const id = params.id;
    return this.#batch
      .enqueue(() => this.#finish(id, params), this.#finishIsAtomic(id))
      .then(
        (changes) => {
          if (changes === 0) {
            throw new WardenError(
              'AUDIT_FAILED',
              `the audit log at ${this.file} has no call #${id} in flight to record an outcome for (no such call, or its outcome is recorded: final, in the hash chain)`,
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
   * Queues a call about to be forwarded (as {@link recordCall}) for this turn's transaction, once
   * redacted.
   * @returns a promise of the row id, resolved once the row is committed (forward only then).
   * @throws (rejects) WardenError AUDIT_FAILED when the transaction failed, or when redaction
   *   threw: the call is then recorded as refused (no arguments, the reason in `error`) and must
   *   not be forwarded.
   */
  queueCall(start: AuditCallStart): Promise<number> {
    return this.#queueInsert(start, null, null, null);
  }

  /**
   * The outcome's UPDATE, and the row joins the chain (its content is now final): one statement
   * carrying the leaf when the row's content is remembered (chain.ts), else the UPDATE and then
   * the append. 0 changes: no such row, or its outcome is already recorded (final).
   */
  #finish(id: number, params: UpdateParams): number {
    const chain = this.#chain;
    const next = chain?.leafAtOutcome(id, params);
    if (chain && next) {
      const changes = this.#updateChained.run(...updateValues(params, next)).changes;
      if (changes > 0) chain.appended(id, next.leaf);
      if (changes > 0 && this.outbox.active) this.outbox.enqueueCall(id);
      return changes;
    }
    const changes = this.#update.run(...updateValues(params)).changes;
    if (changes > 0) chain?.append(id);
    if (changes > 0 && this.outbox.active) this.outbox.enqueueCall(id);
    return changes;
  }

  /**
   * Whether #finish(id) runs several statements that must commit together: the chain is on and
   * the row not remembered (UPDATE, then the append), or audit destinations are in force (the
   * row's outbox records).
   */
  #finishIsAtomic(id: number): boolean {
    return (this.#chain !== undefined && !this.#chain.remembers(id)) || this.outbox.active;
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
    return this.#redaction.call(start.arguments, start.reason ?? null, error).then(
      (redacted) => this.#enqueueInsert(start, outcome, durationMs, redacted),
      (cause: unknown) => this.#unredactable(start, outcome, durationMs, cause),
    );
  }

  /**
   * A call whose redaction threw (fail closed): recorded as refused, without its arguments, with
   * the reason; the promise then rejects with that reason, so a call about to be forwarded is not.
   * A refusal is recorded as refused without its text.
   */
  async #unredactable(
    start: AuditCallStart,
    outcome: AuditOutcome | null,
    durationMs: number | null,
    cause: unknown,
  ): Promise<number> {
    const why = describeError(cause);
    const redacted: RedactedCall = {
      arguments: null,
      reason: null,
      error: `refused: ${why}`,
      argumentsHmac: null,
      sensitiveDataDetected: true,
      piiDetected: false,
    };
    const id = await this.#enqueueInsert(
      { ...start, decision: 'deny' },
      'refused',
      durationMs ?? 0,
      redacted,
    );
    if (outcome === 'refused') return id;
    throw new WardenError('AUDIT_FAILED', `${why}; the call was refused (audit row #${id})`, { cause });
  }

  #enqueueInsert(
    start: AuditCallStart,
    outcome: AuditOutcome | null,
    durationMs: number | null,
    redacted: RedactedCall,
  ): Promise<number> {
    let params: InsertParams;
    try {
      params = { ...insertParams(start, outcome, redacted.error, durationMs), ...redactedParams(redacted) };
    } catch (cause) {
      return Promise.reject(this.#failed(`cannot record a call to ${start.server}/${start.tool}`, cause));
    }
    return this.#batch
      .enqueue(() => this.#insertWrite(params, start.protocolVersion), this.#insertIsAtomic(params))
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
    try {
      this.#chainCheckpoints?.close();
    } catch {
      // The rows are committed; the tail after the last checkpoint is reported by `audit verify`.
    }
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
      const id = this.#final(
        () => this.#insertWrite(params, start.protocolVersion),
        this.#insertIsAtomic(params),
      );
      this.#checkpointer.wrote();
      this.onRecord?.(id);
      return id;
    } catch (cause) {
      throw this.#failed(`cannot record a call to ${start.server}/${start.tool}`, cause);
    }
  }

  /**
   * Inserts a row. One in flight is remembered by the chain (it joins with its outcome) and by the
   * outbox (its protocol version); a complete one (a refusal) joins the chain and gets its outbox
   * records in the same transaction (see {@link #insertIsAtomic}). Returns its id.
   */
  #insertWrite(params: InsertParams, protocolVersion: string | undefined): number {
    const id = Number(this.#insert.run(...insertValues(params)).lastInsertRowid);
    if (params.outcome === null) {
      this.#chain?.remember(id, storedRow(id, params));
      this.outbox.noteCall(id, protocolVersion);
    } else {
      this.#chain?.append(id);
      if (this.outbox.active) this.outbox.enqueueCall(id, protocolVersion);
    }
    return id;
  }

  /** Whether #insertWrite(params) runs several statements that must commit together. */
  #insertIsAtomic(params: InsertParams): boolean {
    return params.outcome !== null && (this.#chain !== undefined || this.outbox.active);
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
    sensitive: 0,
    pii: 0,
    argumentsHmac: null,
  };
}

/** The columns of a row that come from its redaction. */
function redactedParams(
  redacted: RedactedCall,
): Pick<InsertParams, 'arguments' | 'reason' | 'error' | 'sensitive' | 'pii' | 'argumentsHmac'> {
  return {
    arguments: redacted.arguments,
    reason: redacted.reason,
    error: redacted.error,
    sensitive: redacted.sensitiveDataDetected ? 1 : 0,
    pii: redacted.piiDetected ? 1 : 0,
    argumentsHmac: redacted.argumentsHmac,
  };
}

const NOTHING_FOUND: RedactedText = { text: null, sensitiveDataDetected: false, piiDetected: false };

/** The UPDATE's parameters for how a call ended, its error text as `error` gives it. */
function updateParams(id: number, end: AuditCallEnd, error: RedactedText): UpdateParams {
  const secrets = end.resultSecrets;
  return {
    id,
    outcome: end.outcome,
    error: error.text,
    durationMs: end.durationMs,
    sensitive: error.sensitiveDataDetected || (secrets?.rules.length ?? 0) > 0 ? 1 : 0,
    pii: error.piiDetected ? 1 : 0,
    resultRules: secrets?.rules.length ? secrets.rules.join(',') : null,
    resultAction: secrets?.rules.length ? secrets.action : null,
  };
}

/** A row's chained columns as SQLite will return them (chain.ts, storedText). */
function storedRow(id: number, params: InsertParams): ChainedRow {
  return {
    id,
    ts: params.ts,
    ts_ms: params.tsMs,
    session_id: storedText(params.sessionId),
    client_name: storedText(params.clientName),
    client_version: storedText(params.clientVersion),
    server: storedText(params.server),
    tool: storedText(params.tool),
    request_id: storedText(params.requestId),
    arguments: storedText(params.arguments),
    decision: params.decision,
    reason: storedText(params.reason),
    outcome: params.outcome,
    error: storedText(params.error),
    duration_ms: params.durationMs,
    policy_version: storedText(params.policyVersion),
    sensitive_data_detected: params.sensitive,
    pii_detected: params.pii,
    arguments_hmac: params.argumentsHmac,
    result_secret_rules: null,
    result_secret_action: null,
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
