import type Database from 'better-sqlite3';
import type { ToolCallRow } from './tool-call-row.ts';
import {
  callRecordId,
  type ForwardedCall,
  type OutboxEntry,
  type OutboxKind,
  type OutboxRecords,
} from './outbox-records.ts';

/** Audit migration 6: the outbox, its per-destination status and the log's id. */
export const OUTBOX_MIGRATION_SQL = `
  CREATE TABLE outbox_meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
  );
  -- The log's id, part of every record id (receivers de-duplicate on it across devices).
  INSERT INTO outbox_meta (key, value) VALUES ('log_id', lower(hex(randomblob(16))));
  CREATE TABLE outbox (
    seq         INTEGER PRIMARY KEY,  -- the rowid: delivery order within a destination
    destination TEXT    NOT NULL,     -- a name of audit.destinations
    kind        TEXT    NOT NULL,     -- 'call' | 'checkpoint'
    record_id   TEXT    NOT NULL,     -- stable id the receiver de-duplicates on
    body        TEXT    NOT NULL,     -- the record, JSON
    created_ms  INTEGER NOT NULL      -- when it was enqueued, ms since the epoch
  );
  CREATE INDEX outbox_by_destination ON outbox (destination, seq);
  CREATE TABLE outbox_status (
    destination     TEXT PRIMARY KEY,
    delivered       INTEGER NOT NULL DEFAULT 0, -- records delivered, ever
    last_success_ms INTEGER,                    -- last delivery, ms since the epoch
    last_error_ms   INTEGER,                    -- last failed attempt
    last_error      TEXT,                       -- what it failed with
    failures        INTEGER NOT NULL DEFAULT 0  -- failed attempts since the last success
  );
`;

/** One queued record as a sender reads it. */
export interface OutboxItem {
  seq: number;
  kind: OutboxKind;
  recordId: string;
  /** The record (ForwardedCall or ForwardedCheckpoint by `kind`). */
  record: OutboxEntry['record'];
  createdMs: number;
}

/** Depth and delivery state of one destination (what `audit status` shows). */
export interface OutboxDestinationStatus {
  destination: string;
  /** Records waiting. */
  depth: number;
  /** When the oldest waiting record was enqueued, ms since the epoch; null when none wait. */
  oldestMs: number | null;
  delivered: number;
  lastSuccessMs: number | null;
  lastErrorMs: number | null;
  lastError: string | null;
  /** Failed attempts since the last success. */
  failures: number;
}

/** A `tool_calls` row as `SELECT *` returns it, with the columns a forwarded record takes. */
type CallRow = ToolCallRow & { ts_ms: number };

/** In-flight calls whose protocol version is kept until their outcome, at most (a bound, not a limit). */
const MAX_NOTED = 100_000;

/**
 * The durable outbox of the audit log (audit migration 6): one record per destination in force,
 * inserted in the same transaction as the audit row it describes, so a record exists exactly
 * when its row does (a rollback or a kill -9 before the commit loses both, after it neither).
 *
 * A call's record is written when its row is complete: with its outcome (AuditLog.queueOutcome,
 * recordOutcome) or, for a refusal, with the row. A row a crashed daemon left without an outcome
 * is forwarded once when the next daemon puts its destinations in force (`interruptedThrough`
 * in `outbox_meta` says up to which row this was done). Checkpoints come in through
 * {@link enqueue}.
 *
 * Senders (forward/) drain it with {@link take}, {@link delivered} and {@link failed}, each a
 * small statement or transaction on the same connection. Every method throws what SQLite threw.
 */
export class Outbox {
  readonly #db: Database.Database;
  readonly #insert: Database.Statement<[string, string, string, string, number]>;
  readonly #row: Database.Statement<[number], CallRow>;
  readonly #take: Database.Statement<
    [string, number],
    { seq: number; kind: OutboxKind; record_id: string; body: string; created_ms: number }
  >;
  readonly #delivered: Database.Transaction<
    (destination: string, seqs: readonly number[], now: number) => void
  >;
  #destinations: readonly string[] = [];
  #interruptedDone = false;
  readonly #versions = new Map<number, string>();
  #wakeScheduled = false;
  /** The log's id (`outbox_meta.log_id`). */
  readonly logId: string;
  /** Called (once per turn, after the writes) when records were enqueued; must not throw. */
  onEnqueued: (() => void) | undefined;

  /** @param db the audit log's connection, migrated to version 6 or later. */
  constructor(db: Database.Database) {
    this.#db = db;
    this.logId = (
      db.prepare(`SELECT value FROM outbox_meta WHERE key = 'log_id'`).get() as { value: string }
    ).value;
    this.#insert = db.prepare(
      'INSERT INTO outbox (destination, kind, record_id, body, created_ms) VALUES (?, ?, ?, ?, ?)',
    );
    this.#row = db.prepare<[number], CallRow>('SELECT * FROM tool_calls WHERE id = ?');
    const remove = db.prepare<[string, number]>('DELETE FROM outbox WHERE destination = ? AND seq = ?');
    const succeeded = db.prepare<[string, number, number]>(
      `INSERT INTO outbox_status (destination, delivered, last_success_ms, failures) VALUES (?, ?, ?, 0)
       ON CONFLICT (destination) DO UPDATE SET
         delivered = delivered + excluded.delivered, last_success_ms = excluded.last_success_ms, failures = 0`,
    );
    this.#delivered = db.transaction((destination: string, seqs: readonly number[], now: number) => {
      for (const seq of seqs) remove.run(destination, seq);
      succeeded.run(destination, seqs.length, now);
    });
    this.#take = db.prepare(
      'SELECT seq, kind, record_id, body, created_ms FROM outbox WHERE destination = ? ORDER BY seq LIMIT ?',
    );
  }

  /** Whether any destination is in force: then every audit write runs in a transaction with its records. */
  get active(): boolean {
    return this.#destinations.length > 0;
  }

  /** The names of the destinations in force. */
  get destinations(): readonly string[] {
    return this.#destinations;
  }

  /**
   * Puts the destinations in force: records of later writes go to each of them. Records of
   * destinations no longer in force stay queued (and show in `audit status`) until it is back.
   * The first call (at daemon start, before any call is recorded) also enqueues, once, the rows
   * a stopped daemon left without an outcome.
   */
  setDestinations(names: readonly string[]): void {
    this.#destinations = [...new Set(names)];
    if (this.#interruptedDone) return;
    this.#interruptedDone = true;
    this.#db.transaction(() => this.#enqueueInterrupted()).immediate();
  }

  /**
   * Notes a call's protocol version when its row is inserted before it is forwarded (the row
   * has no column for it); its record takes it when the outcome is written.
   */
  noteCall(rowId: number, protocolVersion: string | undefined): void {
    if (protocolVersion === undefined || !this.active || this.#versions.size >= MAX_NOTED) return;
    this.#versions.set(rowId, protocolVersion);
  }

  /**
   * Enqueues the record of the complete row `rowId` for every destination. Must run inside the
   * transaction that wrote the row (the audit log's write batch).
   */
  enqueueCall(rowId: number, protocolVersion?: string): void {
    const version = protocolVersion ?? this.#versions.get(rowId);
    this.#versions.delete(rowId);
    if (!this.active) return;
    const row = this.#row.get(rowId);
    if (row) this.enqueue('call', callRecord(this.logId, row, version ?? null));
  }

  /**
   * Enqueues `record` of `kind` for every destination in force, in the caller's transaction
   * (call it inside the write transaction of what it describes). Does nothing without
   * destinations. The checkpoint writer's entry point: `enqueue('checkpoint', {...})` with
   * `recordId: checkpointRecordId(outbox.logId, treeSize)`.
   * @throws what SQLite threw (the caller's transaction then rolls back).
   */
  enqueue<K extends OutboxKind>(kind: K, record: OutboxRecords[K]): void {
    if (!this.active) return;
    const body = JSON.stringify(record);
    const now = Date.now();
    for (const destination of this.#destinations)
      this.#insert.run(destination, kind, record.recordId, body, now);
    this.#wake();
  }

  /** Up to `limit` of the oldest records waiting for `destination`, oldest first. */
  take(destination: string, limit: number): OutboxItem[] {
    return this.#take.all(destination, limit).map((row) => ({
      seq: row.seq,
      kind: row.kind,
      recordId: row.record_id,
      record: JSON.parse(row.body) as OutboxEntry['record'],
      createdMs: row.created_ms,
    }));
  }

  /** Deletes the delivered records `seqs` of `destination` and records the success, in one small transaction. */
  delivered(destination: string, seqs: readonly number[], now = Date.now()): void {
    this.#delivered.immediate(destination, seqs, now);
  }

  /** Records a failed attempt to deliver to `destination`. */
  failed(destination: string, error: string, now = Date.now()): void {
    this.#db
      .prepare(
        `INSERT INTO outbox_status (destination, last_error_ms, last_error, failures) VALUES (?, ?, ?, 1)
         ON CONFLICT (destination) DO UPDATE SET
           last_error_ms = excluded.last_error_ms, last_error = excluded.last_error, failures = failures + 1`,
      )
      .run(destination, now, error.slice(0, 2000));
  }

  /** Depth and delivery state of every destination that is in force, has records or was ever used. */
  status(): OutboxDestinationStatus[] {
    return outboxStatus(this.#db, this.#destinations);
  }

  #wake(): void {
    if (this.#wakeScheduled || !this.onEnqueued) return;
    this.#wakeScheduled = true;
    setImmediate(() => {
      this.#wakeScheduled = false;
      this.onEnqueued?.();
    });
  }

  #enqueueInterrupted(): void {
    const meta = this.#db.prepare(`SELECT value FROM outbox_meta WHERE key = 'interruptedThrough'`).get() as
      { value: string } | undefined;
    const from = meta ? Number(meta.value) : 0;
    const last =
      (this.#db.prepare('SELECT max(id) AS id FROM tool_calls').get() as { id: number | null }).id ?? 0;
    if (this.active) {
      const rows = this.#db
        .prepare<[number, number], CallRow>(
          'SELECT * FROM tool_calls WHERE id > ? AND id <= ? AND outcome IS NULL ORDER BY id',
        )
        .all(from, last);
      for (const row of rows) this.enqueue('call', callRecord(this.logId, row, null));
    }
    this.#db
      .prepare(
        `INSERT INTO outbox_meta (key, value) VALUES ('interruptedThrough', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`,
      )
      .run(String(last));
  }
}

/**
 * Depth and delivery state per destination, read from the outbox tables of `db` (any
 * connection, read-only is enough), sorted by name.
 * @param inForce destinations to list even when they have no row yet.
 */
export function outboxStatus(
  db: Database.Database,
  inForce: readonly string[] = [],
): OutboxDestinationStatus[] {
  const depths = db
    .prepare(
      'SELECT destination, count(*) AS depth, min(created_ms) AS oldest FROM outbox GROUP BY destination',
    )
    .all() as { destination: string; depth: number; oldest: number }[];
  const states = db.prepare('SELECT * FROM outbox_status').all() as {
    destination: string;
    delivered: number;
    last_success_ms: number | null;
    last_error_ms: number | null;
    last_error: string | null;
    failures: number;
  }[];
  const names = new Set([
    ...inForce,
    ...depths.map((d) => d.destination),
    ...states.map((s) => s.destination),
  ]);
  return [...names].sort().map((destination) => {
    const depth = depths.find((d) => d.destination === destination);
    const state = states.find((s) => s.destination === destination);
    return {
      destination,
      depth: depth?.depth ?? 0,
      oldestMs: depth?.oldest ?? null,
      delivered: state?.delivered ?? 0,
      lastSuccessMs: state?.last_success_ms ?? null,
      lastErrorMs: state?.last_error_ms ?? null,
      lastError: state?.last_error ?? null,
      failures: state?.failures ?? 0,
    };
  });
}

function callRecord(logId: string, row: CallRow, protocolVersion: string | null): ForwardedCall {
  return {
    recordId: callRecordId(logId, row.id),
    logId,
    rowId: row.id,
    ts: row.ts,
    tsMs: row.ts_ms,
    sessionId: row.session_id,
    clientName: row.client_name,
    clientVersion: row.client_version,
    server: row.server,
    tool: row.tool,
    requestId: row.request_id,
    arguments: row.arguments,
    decision: row.decision,
    reason: row.reason,
    outcome: row.outcome,
    error: row.error,
    durationMs: row.duration_ms,
    policyVersion: row.policy_version,
    protocolVersion,
  };
}
