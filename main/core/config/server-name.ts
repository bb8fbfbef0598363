import { createHash } from 'node:crypto';

/**
 * Server names are the keys of `mcpServers`, as the user wrote them in a client config: Claude
 * Desktop, Cursor, VS Code and Claude Code accept any JSON key ("My Notes", "notes — ü", "a/b").
 * Warden keeps the name exactly as written and shows it as text; wherever a name becomes part of
 * something else it is encoded there: a URL path segment (`mcpEndpointPath`, the control API
 * client), a command line (`connectArgs`, `commandHint`), JSON in printed config snippets, a
 * keychain entry name (`secretNameFor`, OAuth). Policy globs match names as plain strings, not
 * paths (`nameGlob`), so "*" covers "a/b".
 *
 * The few names refused (see `serverNameProblem`) cannot be represented faithfully somewhere a
 * name must go, or would display as another name.
 */

/** Longest server name, in Unicode code points. Keeps endpoint paths, audit rows and log lines bounded. */
export const MAX_SERVER_NAME_LENGTH = 128;

/** What the rules above allow, in one sentence (config schema description, docs). */
export const SERVER_NAME_RULES =
  `any text of 1 to ${MAX_SERVER_NAME_LENGTH} characters except "." and "..", without control characters, ` +
  'line or paragraph separators, bidirectional formatting characters or unpaired surrogates';

const FORBIDDEN: [RegExp, string][] = [
  [/\p{Cc}/u, 'a control character'],
  [/[\p{Zl}\p{Zp}]/u, 'a line or paragraph separator'],
  // Trojan Source (CVE-2021-42574): they make a name display as another one in prompts.
  [/\p{Bidi_Control}/u, 'a bidirectional formatting character'],
  // Not well-formed Unicode: cannot be percent-encoded (URLs) or stored as UTF-8 (SQLite) as it is.
  [/\p{Cs}/u, 'an unpaired surrogate'],
];

/**
 * Why `name` cannot be a server name, or undefined when it can.
 * Refused: the empty name; more than MAX_SERVER_NAME_LENGTH code points; "." and ".." (URLs read
 * them as path steps, so `/mcp/..` cannot name a server); control characters (C0, DEL, C1: they
 * break log lines, terminals and HTTP headers); U+2028/U+2029; bidirectional formatting
 * characters (Unicode Bidi_Control); unpaired surrogates.
 * @returns a phrase that completes "the server name "…" …", naming the offending character.
 */
export function serverNameProblem(name: string): string | undefined {
  if (name.length === 0) return 'is empty';
  const length = [...name].length;
  if (length > MAX_SERVER_NAME_LENGTH)
    return `is ${length} characters long; at most ${MAX_SERVER_NAME_LENGTH} are allowed`;
  if (name === '.' || name === '..') return 'is a relative path step in URLs ("." and ".." cannot be used)';
  for (const [pattern, what] of FORBIDDEN) {
    const found = pattern.exec(name)?.[0];
    if (found !== undefined) return `contains ${what} (${codePoints(found)})`;
  }
  return undefined;
}

/**
 * The server name as it appears in messages: JSON-quoted, so spaces, quotes and any invisible
 * character are visible and the name's ends are clear.
 */
export function quoteName(name: string): string {
  return JSON.stringify(name);
}

/** The daemon's Streamable HTTP endpoint path of a server: `/mcp/<name, percent-encoded>`. */
export function mcpEndpointPath(name: string): string {
  return `/mcp/${encodeURIComponent(name)}`;
}

/**
 * The arguments a client config passes to the launcher to run the connect shim for `name`:
 * `connect <name>`, with `--` before a name that starts with "-" so it is not read as an option.
 */
export function connectArgs(name: string): string[] {
  return name.startsWith('-') ? ['connect', '--', name] : ['connect', name];
}

/**
 * The server's name where only secret-name characters may go (letters, digits, ".", "_", "-";
 * see secret-store.ts), e.g. the keychain entries `oauth.<name>.tokens`: the name itself when it
 * already is one (at most 96 characters), else a readable form with a hash of the exact name
 * ("My Notes" -> "My-Notes.<12 hex digits>"), so different names never share entries.
 */
export function secretSafeServerName(name: string): string {
  if (/^[A-Za-z0-9][A-Za-z0-9_.-]{0,95}$/.test(name)) return name;
  const hash = createHash('sha256').update(name).digest('hex').slice(0, 12);
  const readable =
    name
      .replace(/[^A-Za-z0-9_.-]+/g, '-')
      .replace(/^[^A-Za-z0-9]+/, '')
      .slice(0, 96 - hash.length - 1) || 'server';
  return `${readable}.${hash}`;
}

function codePoints(text: string): string {
  return [...text].map((c) => `U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`).join(' ');
}
