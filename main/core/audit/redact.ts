/**
 * Redaction by key name: the value of an object key that looks secret is replaced, whatever its
 * type. Values under other keys, and strings anywhere, are kept as they are. The content scanner
 * (content-scanner.ts) applies this together with secretlint's rules before a row is written.
 */

/** What replaces the value of a secret-looking key. */
export const REDACTED = '[redacted]';

/** What replaces a value nested deeper than {@link MAX_REDACT_DEPTH} levels. */
export const TRUNCATED = '[truncated]';

/** What replaces a reference back to an enclosing object or array (a cycle). */
export const CIRCULAR = '[circular]';

/** Nesting depth kept by {@link redactSecrets}: the root value is at depth 0. */
export const MAX_REDACT_DEPTH = 32;

/**
 * Object keys whose values are secret, matched case-insensitively anywhere in the key, so
 * `password`, `dbPassword`, `GITHUB_TOKEN`, `x-api-key`, `Authorization`, `client_secret`,
 * `privateKey` and `set-cookie` all match. `auth` does not match `author` or `authority`.
 * Keys that match here but are known to be harmless are exempted by {@link NON_SECRET_KEY_PATTERN}.
 */
export const SECRET_KEY_PATTERN = new RegExp(
  [
    'pass(?:word|wd|phrase)',
    'secret',
    'token',
    'api[-_. ]?key',
    'authori[sz]ation',
    'auth(?!or)',
    'credential',
    'private[-_. ]?key',
    'access[-_. ]?key',
    'cookie',
    'bearer',
    'jwt',
  ].join('|'),
  'i',
);

/**
 * Keys that {@link SECRET_KEY_PATTERN} matches but that hold counts or settings, not secrets:
 * LLM token counts and limits (`max_tokens`, `maxTokens`, `prompt_tokens`, `token_count`,
 * `tokenizer`). Matched case-insensitively against the whole key.
 */
export const NON_SECRET_KEY_PATTERN =
  /^(?:(?:max|min|num|total|prompt|completion|input|output|reasoning|cached)[-_. ]?tokens?|tokens?[-_. ]?(?:count|limit|budget|usage)|tokeni[sz](?:e|er|ed|ation))$/i;

/** True when the value under `key` should not be recorded. */
export function isSecretKey(key: string): boolean {
  return SECRET_KEY_PATTERN.test(key) && !NON_SECRET_KEY_PATTERN.test(key);
}

/**
 * A deep copy of a JSON-like value with the values of secret-looking keys replaced by "[redacted]".
 *
 * - Objects and arrays are copied; primitives are returned as they are. A value with a
 *   `toJSON` method (a Date, say) is first replaced by its result, as JSON.stringify would.
 * - Objects and arrays nested deeper than 32 levels become "[truncated]"; a reference back to an
 *   enclosing object or array becomes "[circular]". Shared, non-cyclic references are copied.
 * - Own keys such as `__proto__` stay own keys of the copy (never a prototype).
 * Never throws for JSON values; never mutates its input.
 * @param value typically the `arguments` of a `tools/call` request.
 */
export function redactSecrets(value: unknown): unknown {
  return copy(value, 0, new Set<object>());
}

function copy(input: unknown, depth: number, ancestors: Set<object>): unknown {
  if (input === null || typeof input !== 'object') return input;
  const toJSON = (input as { toJSON?: unknown }).toJSON;
  // Like JSON.stringify: toJSON once, and its result is taken as it is.
  const value: unknown = typeof toJSON === 'function' ? toJSON.call(input) : input;
  if (value === null || typeof value !== 'object') return value;
  if (depth > MAX_REDACT_DEPTH) return TRUNCATED;
  if (ancestors.has(value)) return CIRCULAR;
  ancestors.add(value);
  try {
    if (Array.isArray(value)) return value.map((item: unknown) => copy(item, depth + 1, ancestors));
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [
        key,
        isSecretKey(key) ? REDACTED : copy(item, depth + 1, ancestors),
      ]),
    );
  } finally {
    ancestors.delete(value);
  }
}
