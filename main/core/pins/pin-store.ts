import type Database from 'better-sqlite3';
import type * as Diff from 'diff';
import { WardenError } from '../errors.ts';
import { definitionHash, pinnedFields, prettyDefinition, type PinKind } from './definition-hash.ts';
import { reviewHash } from './review-hash.ts';
import { lazyModule } from '../lazy-module.ts';

/** diff, loaded by the first diff shown. */
const diff = lazyModule<typeof Diff>('diff', 'the text differ');

/** A pinned definition: the one a person approved (or the one seen on first use). */
export interface PinRecord {
  /** The server's name in the config. */
  server: string;
  kind: PinKind;
  /** The definition's `name`. */
  name: string;
  /** {@link definitionHash} of the pinned definition (hex SHA-256). */
  hash: string;
  /** When it was pinned, ISO 8601 UTC. */
  pinnedAt: string;
}

/**
 * A definition that differs from its pin and waits for a person: `new` offered but never
 * pinned, `changed` offered with another hash than its pin, `removed` pinned but no longer
 * offered.
 */
export interface PinReview {
  server: string;
  kind: PinKind;
  name: string;
  status: 'new' | 'changed' | 'removed';
  /** {@link definitionHash} of the definition now offered; null when removed. */
  hash: string | null;
  /** {@link definitionHash} of the pinned definition; null when new. */
  pinnedHash: string | null;
  /**
   * Unified diff (`--- pinned` / `+++ offered`) of the pinned fields as sorted, indented JSON:
   * every line added when new, every line removed when removed.
   */
  diff: string | null;
  /** When this status and hash were first seen, ISO 8601 UTC (kept while they stay the same). */
  detectedAt: string;
}

/** The outcome of {@link PinStore.check} for one list of one server. */
export interface PinCheck {
  /** Names whose every offered definition matches its pin: these may be shown and called. */
  visible: Set<string>;
  /**
   * Reviews pending for the offered names and the removed ones, sorted by name: each offered
   * name not in `visible` has one.
   */
  reviews: PinReview[];
  /** Pinned names no longer offered, sorted (they hide nothing; each has a `removed` review). */
  removed: string[];
}

/** Options of {@link PinStore}. */
export interface PinStoreOptions {
  /** The clock for `pinnedAt` and `detectedAt`. Default: the system clock. */
  now?: () => Date;
}

interface PinRow {
  server: string;
  kind: PinKind;
  name: string;
  hash: string;
  definition: string;
  pinned_at: string;
}

interface ReviewRow {
  server: string;
  kind: PinKind;
  name: string;
  status: PinReview['status'];
  hash: string | null;
  definition: string | null;
  diff: string | null;
  detected_at: string;
  /** The pin's hash (joined from tool_pins), null when nothing is pinned. */
  pinned_hash: string | null;
}

/** Reviews with the hash of their pin, if any. */
const REVIEWS_SQL = `
  SELECT r.*, p.hash AS pinned_hash FROM pin_reviews r
  LEFT JOIN tool_pins p ON p.server = r.server AND p.kind = r.kind AND p.name = r.name`;

type Key = [server: string, kind: string, name: string];

const UPSERT_REVIEW_SQL = `
  INSERT INTO pin_reviews (server, kind, name, status, hash, definition, diff, detected_at)
  VALUES (@server, @kind, @name, @status, @hash, @definition, @diff, @detectedAt)
  ON CONFLICT (server, kind, name) DO UPDATE SET
    detected_at = CASE
      WHEN pin_reviews.status = excluded.status AND pin_reviews.hash IS excluded.hash
      THEN pin_reviews.detected_at ELSE excluded.detected_at END,
    status = excluded.status,
    hash = excluded.hash,
    definition = excluded.definition,
    diff = excluded.diff`;

/**
 * Pinned tool, prompt and resource-template definitions (tables `tool_pins` and `pin_reviews`
 * in state.db): Warden's defence against a server that changes a definition after it was
 * approved (a "rug pull"), following the MCP security best practices' advice to detect tool
 * definition changes and have a person review them before they are used.
 *
 * Trust on first use, per kind: the first list of a kind seen from a server is pinned as it
 * is. Afterwards a definition whose {@link definitionHash} differs from its pin, or that was
 * never pinned, is hidden and recorded for review with a diff until a person approves it
 * ({@link PinStore.approve}); a pinned definition no longer offered is recorded as removed.
 * Every method runs in one SQLite transaction and throws what better-sqlite3 throws
 * (`SqliteError`) when the database fails.
 */
export class PinStore {
  readonly #db: Database.Database;
  readonly #now: () => Date;
  readonly #pinsOf: Database.Statement<[string, string], PinRow>;
  readonly #countPins: Database.Statement<[string, string], { n: number }>;
  readonly #countReviews: Database.Statement<[string, string], { n: number }>;
  readonly #upsertPin: Database.Statement<[...Key, string, string, string]>;
  readonly #deletePin: Database.Statement<Key>;
  readonly #upsertReview: Database.Statement<[ReviewRowParams]>;
  readonly #deleteReview: Database.Statement<Key>;
  readonly #review: Database.Statement<Key, ReviewRow>;
  readonly #reviewsOf: Database.Statement<[string, string], ReviewRow>;
  readonly #listPins: Database.Statement<[{ server: string | null }], PinRow>;
  readonly #listReviews: Database.Statement<[{ server: string | null }], ReviewRow>;
  readonly #forgetPins: Database.Statement<[string]>;
  readonly #forgetReviews: Database.Statement<[string]>;

  /** @param db the state database, migrated (`openStateDb` in store/state-db.ts). */
  constructor(db: Database.Database, options: PinStoreOptions = {}) {
    this.#db = db;
    this.#now = options.now ?? (() => new Date());
    this.#pinsOf = db.prepare(`SELECT * FROM tool_pins WHERE server = ? AND kind = ?`);
    this.#countPins = db.prepare(`SELECT count(*) AS n FROM tool_pins WHERE server = ? AND kind = ?`);
    this.#countReviews = db.prepare(`SELECT count(*) AS n FROM pin_reviews WHERE server = ? AND kind = ?`);
    this.#upsertPin = db.prepare(
      `INSERT OR REPLACE INTO tool_pins (server, kind, name, hash, definition, pinned_at) VALUES (?, ?, ?, ?, ?, ?)`,
    );
    this.#deletePin = db.prepare(`DELETE FROM tool_pins WHERE server = ? AND kind = ? AND name = ?`);
    this.#upsertReview = db.prepare(UPSERT_REVIEW_SQL);
    this.#deleteReview = db.prepare(`DELETE FROM pin_reviews WHERE server = ? AND kind = ? AND name = ?`);
    this.#review = db.prepare(`${REVIEWS_SQL} WHERE r.server = ? AND r.kind = ? AND r.name = ?`);
    this.#reviewsOf = db.prepare(`${REVIEWS_SQL} WHERE r.server = ? AND r.kind = ? ORDER BY r.name`);
    this.#listPins = db.prepare(
      `SELECT * FROM tool_pins WHERE @server IS NULL OR server = @server ORDER BY server, kind, name`,
    );
    this.#listReviews = db.prepare(
      `${REVIEWS_SQL} WHERE @server IS NULL OR r.server = @server ORDER BY r.server, r.kind, r.name`,
    );
    this.#forgetPins = db.prepare(`DELETE FROM tool_pins WHERE server = ?`);
    this.#forgetReviews = db.prepare(`DELETE FROM pin_reviews WHERE server = ?`);
  }

  /**
   * Checks one complete list (`tools`, `prompts` or `resourceTemplates`, every page) that a
   * server offers against its pins, and records what differs for review.
   *
   * - First use: with `pinAllIfNone`, when the server has no pins and no reviews of this kind,
   *   every offered definition is pinned and visible.
   * - Same hash as the pin: visible; a stale review of that name is deleted.
   * - Pinned with another hash: hidden; review `changed` with the diff pinned -> offered.
   * - Not pinned: hidden; review `new` (the diff adds every line).
   * - Pinned but not offered: review `removed`, listed in `removed`.
   *
   * Reviews are upserted: the latest offered definition wins, `detectedAt` stays while the
   * status and hash do. A name offered twice is visible only if both definitions match the
   * pin. Items without a string `name` can be neither pinned nor shown: they are left out.
   * A partial list (one page) would report the pins on other pages as removed.
   */
  check(
    server: string,
    kind: PinKind,
    offered: readonly Record<string, unknown>[],
    options: { pinAllIfNone: boolean },
  ): PinCheck {
    const now = this.#now().toISOString();
    return this.#db.transaction((): PinCheck => {
      const byName = new Map<string, { def: Record<string, unknown>; hash: string }[]>();
      for (const def of offered) {
        const name = nameOf(def);
        if (name === undefined) continue;
        const entry = { def, hash: definitionHash(kind, def) };
        byName.set(name, [...(byName.get(name) ?? []), entry]);
      }

      if (
        options.pinAllIfNone &&
        this.#countPins.get(server, kind)!.n === 0 &&
        this.#countReviews.get(server, kind)!.n === 0
      ) {
        for (const [name, [first]] of byName)
          if (first) this.#pin([server, kind, name], kind, first.def, now);
      }

      const pins = new Map(this.#pinsOf.all(server, kind).map((p) => [p.name, p]));
      const visible = new Set<string>();
      for (const [name, entries] of byName) {
        const pin = pins.get(name);
        // Without a pin every entry differs, and entries is never empty.
        const latest = entries.filter((e) => e.hash !== pin?.hash).at(-1);
        if (!latest) {
          visible.add(name);
          this.#deleteReview.run(server, kind, name);
          continue;
        }
        const before = pin ? prettyDefinition(kind, parseDefinition(pin.definition)) : '';
        this.#upsertReview.run({
          server,
          kind,
          name,
          status: pin ? 'changed' : 'new',
          hash: latest.hash,
          definition: JSON.stringify(pinnedFields(kind, latest.def)),
          diff: reviewDiff(before, prettyDefinition(kind, latest.def)),
          detectedAt: now,
        });
      }

      const removed = [...pins.keys()].filter((name) => !byName.has(name)).sort();
      for (const name of removed) {
        const pinned = prettyDefinition(kind, parseDefinition(pins.get(name)!.definition));
        this.#upsertReview.run({
          server,
          kind,
          name,
          status: 'removed',
          hash: null,
          definition: null,
          diff: reviewDiff(pinned, ''),
          detectedAt: now,
        });
      }

      const relevant = new Set([...byName.keys(), ...removed]);
      const reviews = this.#reviewsOf
        .all(server, kind)
        .filter((r) => relevant.has(r.name))
        .map(toReview);
      return { visible, reviews, removed };
    })();
  }

  /**
   * Approves the pending review of one definition: for `new` and `changed` the offered
   * definition it recorded becomes the pin, for `removed` the pin is deleted; then the review
   * is deleted. The next {@link check} shows a definition equal to the approved one.
   * @param options.hash the hash the person saw (see {@link reviewHash}): the review's `hash`
   *   for `new` and `changed`, its `pinnedHash` for `removed`. When the review now holds
   *   another definition (the server changed it again meanwhile), nothing is approved.
   * @throws WardenError NOT_FOUND when nothing of that name awaits review; CONFLICT when
   *   `options.hash` is not the pending review's.
   */
  approve(server: string, kind: PinKind, name: string, options: { hash: string }): void {
    this.#db.transaction(() => {
      const review = this.#review.get(server, kind, name);
      if (!review) {
        throw new WardenError(
          'NOT_FOUND',
          `no ${kind} "${name}" of server "${server}" awaits review; \`mcp-warden pins list\` shows what does`,
        );
      }
      if (options.hash !== reviewHash(toReview(review))) {
        throw new WardenError(
          'CONFLICT',
          `the ${kind} "${name}" of server "${server}" changed again since it was shown; review the new diff (\`mcp-warden pins list --diff\`) and approve again`,
        );
      }
      if (review.status === 'removed') {
        this.#deletePin.run(server, kind, name);
      } else if (review.hash !== null && review.definition !== null) {
        this.#upsertPin.run(server, kind, name, review.hash, review.definition, this.#now().toISOString());
      } else {
        throw new WardenError(
          'STORE_FAILED',
          `the review of ${kind} "${name}" of server "${server}" has no definition; it cannot be approved`,
        );
      }
      this.#deleteReview.run(server, kind, name);
    })();
  }

  /** Pins of one server, or of all servers, sorted by server, kind and name. */
  pins(server?: string): PinRecord[] {
    return this.#listPins.all({ server: server ?? null }).map((r) => ({
      server: r.server,
      kind: r.kind,
      name: r.name,
      hash: r.hash,
      pinnedAt: r.pinned_at,
    }));
  }

  /** Pending reviews of one server, or of all servers, sorted by server, kind and name. */
  reviews(server?: string): PinReview[] {
    return this.#listReviews.all({ server: server ?? null }).map(toReview);
  }

  /**
   * Deletes a server's pins and reviews of every kind (e.g. when it is removed from the
   * config): the next time it is used is a first use again.
   */
  forgetServer(server: string): void {
    this.#db.transaction(() => {
      this.#forgetPins.run(server);
      this.#forgetReviews.run(server);
    })();
  }

  #pin(key: Key, kind: PinKind, def: Record<string, unknown>, now: string): void {
    this.#upsertPin.run(...key, definitionHash(kind, def), JSON.stringify(pinnedFields(kind, def)), now);
  }
}

interface ReviewRowParams {
  server: string;
  kind: PinKind;
  name: string;
  status: PinReview['status'];
  hash: string | null;
  definition: string | null;
  diff: string;
  detectedAt: string;
}

function nameOf(def: unknown): string | undefined {
  if (typeof def !== 'object' || def === null) return undefined;
  const name = (def as { name?: unknown }).name;
  return typeof name === 'string' ? name : undefined;
}

function parseDefinition(json: string): Record<string, unknown> {
  return JSON.parse(json) as Record<string, unknown>;
}

function reviewDiff(pinned: string, offered: string): string {
  return diff().createTwoFilesPatch('pinned', 'offered', pinned, offered);
}

function toReview(row: ReviewRow): PinReview {
  return {
    server: row.server,
    kind: row.kind,
    name: row.name,
    status: row.status,
    hash: row.hash,
    pinnedHash: row.pinned_hash,
    diff: row.diff,
    detectedAt: row.detected_at,
  };
}
