import { createHash } from 'node:crypto';
import type { ClientLocation } from './locations.ts';

// What a protect plan is, and how a moved secret is named and referenced (protect.ts plans and
// applies; protect-check.ts validates; protect-describe.ts shows a plan).

/** What `protect` will do, shown before anything is written. */
export interface ProtectPlan {
  location: ClientLocation;
  launcher: string;
  servers: {
    name: string;
    /** The exact command line (or URL) Warden will run, secrets as `${secret:NAME}`. */
    target: string;
    /** Secrets moved to the keychain: entry key -> secret name. */
    moves: { where: 'env' | 'headers'; key: string; secret: string; value: string }[];
    wardenEntry: Record<string, unknown>;
  }[];
  /** What the person should know before applying (e.g. a moved value also elsewhere in the file). */
  warnings: string[];
  /** The client file's text as read (its exact bytes as UTF-8, byte order mark included). */
  clientBefore: string;
  clientAfter: string;
  wardenBefore: string;
  wardenAfter: string;
}

/** Whether an entry launches the connect shim. */
export function isShimEntry(entry: Record<string, unknown>): boolean {
  const args = Array.isArray(entry.args) ? (entry.args as unknown[]) : [];
  return typeof entry.command === 'string' && /mcp-warden/.test(entry.command) && args[0] === 'connect';
}

/**
 * The keychain name for a value moved out of `env.<key>` or `headers.<key>` of server `server`:
 * a valid secret name (secret-store.ts) that no other (server, key) pair gets, so two servers
 * never overwrite each other's secret.
 * - `<server>-<key in lower case>` when the server name is already lower-case letters, digits,
 *   ".", "_" and "-" and the key upper-case letters, digits and "_" (the usual environment
 *   variable): "github" + "GITHUB_TOKEN" -> "github-github_token".
 * - otherwise a readable part of the same kind with a hash of the exact pair after a ".":
 *   "My Notes" + "API_KEY" -> "my-notes-api_key.<12 hex digits>". (The text after the last
 *   "-" of a name of the first kind never holds a ".", so the two kinds never meet.)
 */
export function secretNameFor(server: string, key: string): string {
  const plain = `${server}-${key.toLowerCase()}`;
  if (/^[a-z0-9][a-z0-9_.-]*$/.test(server) && /^[A-Z0-9_]+$/.test(key) && plain.length <= 128) return plain;
  const hash = createHash('sha256')
    .update(JSON.stringify([server, key]))
    .digest('hex')
    .slice(0, 12);
  const readable =
    `${server}-${key}`
      .toLowerCase()
      .replace(/[^a-z0-9_.-]+/g, '-')
      .replace(/^[^a-z0-9]+/, '')
      .slice(0, 128 - hash.length - 1) || 'secret';
  return `${readable}.${hash}`;
}

/** Values shorter than this are looked for as whole strings only (a short one is in many words). */
export const MIN_SEARCHED = 8;

/** Replaces every other occurrence of a moved value in the entry (args, env, headers, URL) by its reference. */
export function referenceEverywhere(
  entry: Record<string, unknown>,
  moves: ProtectPlan['servers'][number]['moves'],
): void {
  const swap = (text: string): string => {
    for (const m of moves) {
      const ref = `\${secret:${m.secret}}`;
      if (text === m.value) return ref;
      if (m.value.length >= MIN_SEARCHED) text = text.split(m.value).join(ref);
    }
    return text;
  };
  if (Array.isArray(entry.args))
    entry.args = (entry.args as unknown[]).map((a) => (typeof a === 'string' ? swap(a) : a));
  for (const where of ['env', 'headers'] as const) {
    const record = entry[where];
    if (!isObject(record)) continue;
    for (const key of Object.keys(record))
      if (typeof record[key] === 'string') record[key] = swap(record[key]);
  }
  if (typeof entry.url === 'string') entry.url = swap(entry.url);
}

/** A JSON object (not null, not an array). */
export const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
