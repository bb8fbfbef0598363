import { ProtocolErrorCode, UriTemplate } from '@modelcontextprotocol/server';
import { commandHint } from '../command-hint.ts';
import { WardenError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { definitionHash, type PinKind } from '../pins/definition-hash.ts';
import type { PinStore } from '../pins/pin-store.ts';
import { JsonRpcError } from './jsonrpc.ts';

/** The list methods whose entries are pinned: the kind of pin and the result's array. */
export const PINNED_LIST_METHODS: Readonly<Record<string, { kind: PinKind; key: string }>> = {
  'tools/list': { kind: 'tool', key: 'tools' },
  'prompts/list': { kind: 'prompt', key: 'prompts' },
  'resources/templates/list': { kind: 'resourceTemplate', key: 'resourceTemplates' },
};

const LIST_OF: Record<PinKind, { method: string; key: string; label: string }> = {
  tool: { method: 'tools/list', key: 'tools', label: 'tools' },
  prompt: { method: 'prompts/list', key: 'prompts', label: 'prompts' },
  resourceTemplate: {
    method: 'resources/templates/list',
    key: 'resourceTemplates',
    label: 'resource templates',
  },
};

const KIND_LABEL: Record<PinKind, string> = {
  tool: 'tool',
  prompt: 'prompt',
  resourceTemplate: 'resource template',
};

/** At most this many pages are read for one complete list. */
export const MAX_LIST_PAGES = 1000;

/** Sends one request of Warden's own upstream; resolves with its result (UpstreamSupervisor.request). */
export type OwnRequest = (
  method: string,
  params: Record<string, unknown> | undefined,
) => Promise<Record<string, unknown>>;

export interface PinnedListsOptions {
  /** The server's name in the config. */
  server: string;
  /** Checks complete lists against the pins (only `check` is used). */
  pins: Pick<PinStore, 'check'>;
  request: OwnRequest;
  /** Why the config hides an entry (tool allow and deny lists), or undefined. */
  configBlock?: (kind: PinKind, name: string) => string | undefined;
  /** Called after each check of a complete list with the names a client may see, in list order. */
  onChecked?: (kind: PinKind, shown: string[]) => void;
  logger: Logger;
}

/** What Warden knows of one complete list (every page) of one kind. */
interface Snapshot {
  /** The definitions offered under each name, in list order (a name may be offered twice). */
  offered: Map<string, Record<string, unknown>[]>;
  /** Hashes of the definitions offered under each name. */
  hashes: Map<string, Set<string>>;
  /** Names whose every offered definition matches its pin. */
  visible: Set<string>;
}

/**
 * Pins, hiding and reviews on complete lists, for one upstream session: tools (`tools/list`),
 * prompts (`prompts/list`) and resource templates (`resources/templates/list`), following MCP
 * 2025-11-25 server/utilities/pagination.
 *
 * A page a client asks for is judged against the server's complete list: when the client asks
 * for the first page, Warden reads the remaining pages itself (following `nextCursor`) and
 * checks the whole list against the pins (PinStore.check) before answering; a later page whose
 * entries all belong to that list is judged by it, else Warden reads the complete list again.
 * So a definition is new, changed or removed only against the complete list, never against one
 * page. Each page shows exactly its own entries minus the hidden ones (an entry is shown only
 * when its own definition is the pinned one), with the server's `nextCursor` unchanged.
 *
 * Requests for a single entry are checked by {@link hiddenReason} (prompts/get, tools/call)
 * and {@link hiddenResourceReason} (resources/read of a URI a hidden resource template covers).
 */
export class PinnedLists {
  readonly #opts: PinnedListsOptions;
  readonly #snapshots = new Map<PinKind, Snapshot>();
  readonly #reading = new Map<PinKind, Promise<Snapshot>>();
  /** Bumped when a list changes: a reading begun before keeps nothing. */
  readonly #generation = new Map<PinKind, number>();

  constructor(options: PinnedListsOptions) {
    this.#opts = options;
  }

  /**
   * One page of a client's listing, with the entries it may not see removed.
   * @param kind the pinned kind of the list method.
   * @param cursor the `cursor` param of the client's request (undefined for the first page).
   * @param result the server's result for that page.
   * @returns `result` itself when nothing is hidden, else a copy without the hidden entries.
   * @throws WardenError LIST_INCOMPLETE when the complete list cannot be read; what
   *   PinStore.check throws when the state database fails.
   */
  async page(
    kind: PinKind,
    cursor: unknown,
    result: Record<string, unknown>,
  ): Promise<Record<string, unknown>> {
    const { key } = LIST_OF[kind];
    const items = result[key];
    if (!Array.isArray(items)) return result;
    const entries = items as unknown[];
    let snapshot: Snapshot;
    if (cursor === undefined) {
      const generation = this.#generationOf(kind);
      const next = typeof result.nextCursor === 'string' ? result.nextCursor : undefined;
      const rest = next === undefined ? [] : await this.#readPages(kind, next);
      snapshot = this.#check(kind, [...entries, ...rest], generation);
    } else {
      const known = this.#snapshots.get(kind);
      snapshot = known && this.#belongs(kind, known, entries) ? known : await this.#refresh(kind);
    }
    const shown = entries.filter((entry) => this.#shows(kind, snapshot, entry));
    if (shown.length < entries.length && !this.#belongs(kind, snapshot, entries)) {
      this.#opts.logger.warn(
        { kind },
        `server "${this.#opts.server}" served a ${LIST_OF[kind].method} page whose entries differ from its complete list; those are hidden`,
      );
    }
    return shown.length === entries.length ? result : { ...result, [key]: shown };
  }

  /**
   * A `resources/list` page without the resources a hidden resource template covers.
   * @throws WardenError LIST_INCOMPLETE when the resource templates cannot be read.
   */
  async resourcesPage(result: Record<string, unknown>): Promise<Record<string, unknown>> {
    const items = result.resources;
    if (!Array.isArray(items)) return result;
    await this.ensure('resourceTemplate');
    const shown = (items as unknown[]).filter((item) => {
      const uri = (item as { uri?: unknown } | null)?.uri;
      return typeof uri !== 'string' || this.hiddenResourceReason(uri) === undefined;
    });
    return shown.length === items.length ? result : { ...result, resources: shown };
  }

  /**
   * Makes sure the complete list of `kind` is known, reading it (every page) when it is not.
   * A server that does not implement the list method (-32601) offers none of that kind.
   * @throws WardenError LIST_INCOMPLETE when it cannot be read.
   */
  async ensure(kind: PinKind): Promise<void> {
    // A list that changes while it is read is read again (a few times; then it stays unverified).
    for (let attempt = 0; attempt < 3 && !this.#snapshots.has(kind); attempt++) await this.#refresh(kind);
  }

  /** Forgets what is known of `kind` (the server said its list changed). @returns whether anything was known. */
  invalidate(kind: PinKind): boolean {
    this.#generation.set(kind, this.#generationOf(kind) + 1);
    this.#reading.delete(kind);
    return this.#snapshots.delete(kind);
  }

  /**
   * Why a client may not use the entry `name` of `kind` now, or undefined when it may: denied by
   * the config, new or changed since it was pinned and awaiting review, or not verified (the
   * list could not be read). A name the complete list lacks is not hidden (see {@link notOffered}).
   */
  hiddenReason(kind: PinKind, name: string): string | undefined {
    const { server } = this.#opts;
    const config = this.#opts.configBlock?.(kind, name);
    if (config) return config;
    const snapshot = this.#snapshots.get(kind);
    if (!snapshot) return `the ${LIST_OF[kind].label} of server "${server}" could not be verified`;
    if (snapshot.offered.has(name) && !snapshot.visible.has(name)) return awaitsReview(server, kind, name);
    return undefined;
  }

  /** Why `name` cannot be used because the server's complete list lacks it, or undefined. */
  notOffered(kind: PinKind, name: string): string | undefined {
    const snapshot = this.#snapshots.get(kind);
    if (!snapshot || snapshot.offered.has(name)) return undefined;
    return `${KIND_LABEL[kind]} "${name}" is not offered by server "${this.#opts.server}"`;
  }

  /**
   * Why `resources/read` (or subscribe) of `uri` is refused, or undefined: the URI is covered
   * by a resource template that awaits review (RFC 6570 match with the SDK's UriTemplate; a
   * template that does not parse covers every URI starting with its text before the first `{`).
   * Call {@link ensure}('resourceTemplate') first; unverified templates refuse every URI.
   */
  hiddenResourceReason(uri: string): string | undefined {
    const snapshot = this.#snapshots.get('resourceTemplate');
    const { server } = this.#opts;
    if (!snapshot) return `the resource templates of server "${server}" could not be verified`;
    for (const [name, definitions] of snapshot.offered) {
      if (snapshot.visible.has(name)) continue;
      for (const definition of definitions) {
        const template = definition.uriTemplate;
        if (typeof template === 'string' && (template === uri || covers(template, uri)))
          return `the URI "${uri}" matches a hidden resource template: ${awaitsReview(server, 'resourceTemplate', name)}`;
      }
    }
    return undefined;
  }

  /** The definition offered under `name` when it may be used (its pin matches), else undefined. */
  definition(kind: PinKind, name: string): Record<string, unknown> | undefined {
    const snapshot = this.#snapshots.get(kind);
    if (!snapshot?.visible.has(name)) return undefined;
    return snapshot.offered.get(name)?.at(-1);
  }

  /** Reads the complete list from its first page and checks it; one reading per kind at a time. */
  #refresh(kind: PinKind): Promise<Snapshot> {
    const current = this.#reading.get(kind);
    if (current) return current;
    const generation = this.#generationOf(kind);
    const reading = this.#readPages(kind, undefined)
      .then((entries) => this.#check(kind, entries, generation))
      .finally(() => {
        if (this.#reading.get(kind) === reading) this.#reading.delete(kind);
      });
    this.#reading.set(kind, reading);
    return reading;
  }

  #generationOf(kind: PinKind): number {
    return this.#generation.get(kind) ?? 0;
  }

  /**
   * Reads pages of `kind` starting at `cursor` (undefined: the first page) until one has no
   * `nextCursor`.
   * @throws WardenError LIST_INCOMPLETE on a server error, a page without its array, a cursor
   *   seen twice (a loop) or more than MAX_LIST_PAGES pages.
   */
  async #readPages(kind: PinKind, cursor: string | undefined): Promise<unknown[]> {
    const { method, key, label } = LIST_OF[kind];
    const { server } = this.#opts;
    const entries: unknown[] = [];
    const seen = new Set<string>();
    let next = cursor;
    for (let page = 0; ; page++) {
      if (next !== undefined) {
        if (seen.has(next))
          throw incomplete(server, label, `it returned the cursor "${next}" twice in one listing (a loop)`);
        seen.add(next);
      }
      if (page >= MAX_LIST_PAGES)
        throw incomplete(server, label, `it returned more than ${MAX_LIST_PAGES} pages`);
      let result: Record<string, unknown>;
      try {
        result = await this.#opts.request(method, next === undefined ? undefined : { cursor: next });
      } catch (error) {
        // A server without this list offers nothing of the kind (MCP: -32601 Method not found).
        if (
          page === 0 &&
          cursor === undefined &&
          error instanceof JsonRpcError &&
          error.code === (ProtocolErrorCode.MethodNotFound as number)
        )
          return [];
        throw incomplete(server, label, error instanceof Error ? error.message : String(error), error);
      }
      const items = result[key];
      if (!Array.isArray(items)) throw incomplete(server, label, `a page has no "${key}" array`);
      entries.push(...(items as unknown[]));
      if (typeof result.nextCursor !== 'string') return entries;
      next = result.nextCursor;
    }
  }

  /**
   * Checks a complete list against the pins (recording reviews) and keeps what it found, unless
   * the list changed since the reading began (`generation`): then the next use reads it again.
   */
  #check(kind: PinKind, entries: unknown[], generation: number): Snapshot {
    const definitions = entries.filter(isNamed);
    const check = this.#opts.pins.check(this.#opts.server, kind, definitions, { pinAllIfNone: true });
    for (const review of check.reviews) {
      this.#opts.logger.warn(
        { kind, name: review.name, status: review.status },
        `${kind} definition ${review.status} since it was pinned; hidden until a person reviews it`,
      );
    }
    const snapshot: Snapshot = { offered: new Map(), hashes: new Map(), visible: check.visible };
    for (const definition of definitions) {
      const name = definition.name;
      snapshot.offered.set(name, [...(snapshot.offered.get(name) ?? []), definition]);
      const hashes = snapshot.hashes.get(name) ?? new Set<string>();
      hashes.add(definitionHash(kind, definition));
      snapshot.hashes.set(name, hashes);
    }
    if (generation !== this.#generationOf(kind)) return snapshot;
    this.#snapshots.set(kind, snapshot);
    const shown = [...snapshot.offered.keys()].filter(
      (name) => snapshot.visible.has(name) && !this.#opts.configBlock?.(kind, name),
    );
    this.#opts.onChecked?.(kind, shown);
    return snapshot;
  }

  /** True when every named entry of a page is a definition of the complete list. */
  #belongs(kind: PinKind, snapshot: Snapshot, entries: unknown[]): boolean {
    return entries
      .filter(isNamed)
      .every((entry) => snapshot.hashes.get(entry.name)?.has(definitionHash(kind, entry)) === true);
  }

  /** An entry is shown when its name's pins match, its own definition is the pinned one, and the config allows it. */
  #shows(kind: PinKind, snapshot: Snapshot, entry: unknown): boolean {
    if (!isNamed(entry)) return false;
    if (!snapshot.visible.has(entry.name) || this.#opts.configBlock?.(kind, entry.name)) return false;
    // Every definition offered under a visible name matches its pin, so membership is equality.
    return snapshot.hashes.get(entry.name)?.has(definitionHash(kind, entry)) === true;
  }
}

function isNamed(entry: unknown): entry is Record<string, unknown> & { name: string } {
  return (
    typeof entry === 'object' &&
    entry !== null &&
    !Array.isArray(entry) &&
    typeof (entry as { name?: unknown }).name === 'string'
  );
}

function awaitsReview(server: string, kind: PinKind, name: string): string {
  return (
    `${KIND_LABEL[kind]} "${name}" of server "${server}" is new or changed since it was approved and awaits review ` +
    `(see \`mcp-warden pins list --diff\`, approve with \`${commandHint(['mcp-warden', 'pins', 'approve', ...(kind === 'tool' ? [] : ['--kind', kind])], [server, name])}\`)`
  );
}

function incomplete(server: string, label: string, why: string, cause?: unknown): WardenError {
  return new WardenError(
    'LIST_INCOMPLETE',
    `could not read the complete list of ${label} of server "${server}" to check it against its pins: ${why}`,
    cause === undefined ? undefined : { cause },
  );
}

function covers(template: string, uri: string): boolean {
  try {
    return new UriTemplate(template).match(uri) !== null;
  } catch {
    const literal = template.split('{', 1)[0] ?? '';
    return uri.startsWith(literal);
  }
}
