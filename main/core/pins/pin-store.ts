import type Database from 'better-sqlite3';
import { createTwoFilesPatch } from 'diff';
import { WardenError } from '../errors.ts';
import { definitionHash, pinnedFields, prettyDefinition, type PinKind } from './definition-hash.ts';

export interface PinRecord {
  server: string;
  kind: PinKind;
  name: string;
  hash: string;
  pinnedAt: string;
}

/** A definition that differs from its pin and waits for a person. */
export interface PinReview {
  server: string;
  kind: PinKind;
  name: string;
  status: 'new' | 'changed' | 'removed';
  /** Hash of the definition now offered (null when removed). */
  hash: string | null;
  /** Unified diff pinned -> offered. */
  diff: string | null;
  detectedAt: string;
}

export interface PinCheck {
  /** Names whose offered definition matches its pin. */
  visible: Set<string>;
  /** Reviews pending for this kind of this server after the check. */
  reviews: PinReview[];
  /** Pinned names no longer offered. */
  removed: string[];
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
}

/**
 * Pinned tool, prompt and resource-template definitions (tables tool_pins and pin_reviews in
 * state.db), against silent changes after approval ("rug pulls"; MCP security best practices).
 * The first time a server's definitions are seen they are all pinned; afterwards a new or
 * changed definition is hidden and recorded for review with a diff until a person approves it.
 */
export class PinStore {
  readonly #db: Database.Database;
  readonly #pinsOf: Database.Statement<[string, string], PinRow>;
  readonly #countFor: Database.Statement<[string, string], { n: number }>;
  readonly #upsertPin: Database.Statement;
  readonly #deletePin: Database.Statement;
  readonly #upsertReview: Database.Statement;
  readonly #deleteReview: Database.Statement;
  readonly #review: Database.Statement<[string, string, string], ReviewRow>;
  readonly #reviewsOf: Database.Statement<[string, string], ReviewRow>;

  constructor(db: Database.Database) {
    this.#db = db;
    this.#pinsOf = db.prepare(`SELECT * FROM tool_pins WHERE server = ? AND kind = ?`);
    this.#countFor = db.prepare(`SELECT count(*) AS n FROM tool_pins WHERE server = ? AND kind = ?`);
    this.#upsertPin = db.prepare(
      `INSERT OR REPLACE INTO tool_pins (server, kind, name, hash, definition, pinned_at) VALUES (?, ?, ?, ?, ?, ?)`,
    );
    this.#deletePin = db.prepare(`DELETE FROM tool_pins WHERE server = ? AND kind = ? AND name = ?`);
    this.#upsertReview = db.prepare(
      `INSERT OR REPLACE INTO pin_reviews (server, kind, name, status, hash, definition, diff, detected_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.#deleteReview = db.prepare(`DELETE FROM pin_reviews WHERE server = ? AND kind = ? AND name = ?`);
    this.#review = db.prepare(`SELECT * FROM pin_reviews WHERE server = ? AND kind = ? AND name = ?`);
    this.#reviewsOf = db.prepare(`SELECT * FROM pin_reviews WHERE server = ? AND kind = ? ORDER BY name`);
  }

  /**
   * Checks offered definitions of one kind against the server's pins (see the class doc).
   * @param options.pinAllIfNone pin everything when the server has no pins of this kind yet
   *   (first use): trust on first use, per kind.
   */
  check(
    server: string,
    kind: PinKind,
    offered: Record<string, unknown>[],
    options: { pinAllIfNone: boolean },
  ): PinCheck {
    const now = new Date().toISOString();
    return this.#db.transaction((): PinCheck => {
      if (
        options.pinAllIfNone &&
        this.#countFor.get(server, kind)!.n === 0 &&
        this.#reviewsOf.all(server, kind).length === 0
      ) {
        for (const def of offered) this.#pin(server, kind, def, now);
        return { visible: new Set(offered.map(nameOf)), reviews: [], removed: [] };
      }
      const pins = new Map(this.#pinsOf.all(server, kind).map((p) => [p.name, p]));
      const visible = new Set<string>();
      const offeredNames = new Set<string>();
      for (const def of offered) {
        const name = nameOf(def);
        offeredNames.add(name);
        const hash = definitionHash(kind, def);
        const pin = pins.get(name);
        if (pin?.hash === hash) {
          visible.add(name);
          this.#deleteReview.run(server, kind, name);
          continue;
        }
        const before = pin
          ? prettyDefinition(kind, JSON.parse(pin.definition) as Record<string, unknown>)
          : '';
        const diff = createTwoFilesPatch(
          `pinned/${name}`,
          `offered/${name}`,
          before,
          prettyDefinition(kind, def),
        );
        this.#upsertReview.run(
          server,
          kind,
          name,
          pin ? 'changed' : 'new',
          hash,
          JSON.stringify(pinnedFields(kind, def)),
          diff,
          now,
        );
      }
      const removed = [...pins.keys()].filter((name) => !offeredNames.has(name));
      for (const name of removed) {
        if (!this.#review.get(server, kind, name))
          this.#upsertReview.run(server, kind, name, 'removed', null, null, null, now);
      }
      return { visible, reviews: this.#reviewsOf.all(server, kind).map(toReview), removed };
    })();
  }

  /**
   * Approves a pending review: the offered definition becomes the pin (new, changed), or the
   * pin is dropped (removed).
   * @throws WardenError NOT_FOUND when nothing of that name awaits review.
   */
  approve(server: string, kind: PinKind, name: string): void {
    this.#db.transaction(() => {
      const review = this.#review.get(server, kind, name);
      if (!review) {
        throw new WardenError(
          'NOT_FOUND',
          `no ${kind} "${name}" of server "${server}" awaits review (see \`mcp-warden pins list\`)`,
        );
      }
      if (review.status === 'removed') this.#deletePin.run(server, kind, name);
      else this.#upsertPin.run(server, kind, name, review.hash, review.definition, new Date().toISOString());
      this.#deleteReview.run(server, kind, name);
    })();
  }

  /** Pins, of one server or all. */
  pins(server?: string): PinRecord[] {
    const rows = this.#db.prepare<[], PinRow>(`SELECT * FROM tool_pins ORDER BY server, kind, name`).all();
    return rows
      .filter((r) => server === undefined || r.server === server)
      .map((r) => ({ server: r.server, kind: r.kind, name: r.name, hash: r.hash, pinnedAt: r.pinned_at }));
  }

  /** Pending reviews, of one server or all. */
  reviews(server?: string): PinReview[] {
    const rows = this.#db
      .prepare<[], ReviewRow>(`SELECT * FROM pin_reviews ORDER BY server, kind, name`)
      .all();
    return rows.filter((r) => server === undefined || r.server === server).map(toReview);
  }

  /** Deletes a server's pins and reviews. */
  forgetServer(server: string): void {
    this.#db.prepare(`DELETE FROM tool_pins WHERE server = ?`).run(server);
    this.#db.prepare(`DELETE FROM pin_reviews WHERE server = ?`).run(server);
  }

  #pin(server: string, kind: PinKind, def: Record<string, unknown>, now: string): void {
    this.#upsertPin.run(
      server,
      kind,
      nameOf(def),
      definitionHash(kind, def),
      JSON.stringify(pinnedFields(kind, def)),
      now,
    );
    this.#deleteReview.run(server, kind, nameOf(def));
  }
}

function nameOf(def: Record<string, unknown>): string {
  const name = def.name ?? def.uriTemplate;
  return typeof name === 'string' ? name : '';
}

function toReview(row: ReviewRow): PinReview {
  return {
    server: row.server,
    kind: row.kind,
    name: row.name,
    status: row.status,
    hash: row.hash,
    diff: row.diff,
    detectedAt: row.detected_at,
  };
}
