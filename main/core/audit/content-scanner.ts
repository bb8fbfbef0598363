/**
 * The one content scanner: finds secret values anywhere in a JSON value and replaces each by
 * `[REDACTED:<rule>]`, and tells whether personal data is in it. Used by the audit log before a
 * row is built (arguments, error text) and by the bridge on what goes to the client (results).
 *
 * What counts as a secret:
 * - what secretlint's recommended rules find (GitHub, Slack, AWS, GCP, npm, OpenAI, Anthropic
 *   tokens, private keys, basic-auth URLs, ...), rule = the secretlint rule id without its
 *   `@secretlint/secretlint-rule-` prefix (`github`, `slack`, `privatekey`);
 * - PEM private keys of any size (secretlint's rule misses short ones, Ed25519), rule `privatekey`;
 * - the exact values given in {@link ScanOptions.exactValues} (the secrets Warden injected into
 *   a server), also JSON-escaped, URL-encoded and base64-encoded, rule = `injected:<NAME>`;
 * - with {@link ScanOptions.keyNames}, every value under an object key that looks secret
 *   (redact.ts, {@link isSecretKey}), replaced by "[redacted]" as before, rule = `key-name`.
 * Personal data (emails, phone numbers in international form, card numbers that pass the Luhn
 * check, IBANs with a valid checksum) is only detected (pii.ts), never replaced.
 */
import { lazyImport } from '../lazy-module.ts';
import { findPii, type PiiKind } from './pii.ts';
import { CIRCULAR, isSecretKey, MAX_REDACT_DEPTH, REDACTED, TRUNCATED } from './redact.ts';
import { mayHoldSecret } from './secret-prefilter.ts';

/**
 * secretlint and its recommended rules, loaded by the first scan. Its profiler is turned off:
 * on by default, it puts a performance mark per rule and scan into Node's global performance
 * timeline and a PerformanceObserver entry into its own arrays, none of them ever cleared, which
 * in a daemon scanning every call grows memory without bound and costs milliseconds a call
 * (secretlint/secretlint#1633 is where `setEnabled(false)` comes from).
 */
const secretlint = lazyImport('@secretlint/core', 'the secret scanner', async () => {
  const [core, preset, profiler] = await Promise.all([
    import('@secretlint/core'),
    import('@secretlint/secretlint-rule-preset-recommend'),
    import('@secretlint/profiler'),
  ]);
  profiler.secretLintProfiler.setEnabled(false);
  return { lintSource: core.lintSource, recommendedRules: preset.creator };
});

/** The rule name of a value found under a secret-looking key. */
export const KEY_NAME_RULE = 'key-name';

/** Strings shorter than this are not given to secretlint (no credential is this short). */
const MIN_SCANNED_LENGTH = 8;

/**
 * A PEM private key of any size, from its BEGIN line to its END line (or to the end of the text
 * when cut off): secretlint's rule wants 100 characters of body, which an Ed25519 key has not.
 */
const PEM_PRIVATE_KEY =
  /-----BEGIN[ A-Z0-9]*PRIVATE KEY(?: BLOCK)?-----(?:[\s\S]*?-----END[ A-Z0-9]*PRIVATE KEY(?: BLOCK)?-----|[\s\S]*$)/g;

/** Exact values shorter than this are not looked for (they would match ordinary text). */
export const MIN_EXACT_VALUE_LENGTH = 4;

/** What replaces a secret found in a string. */
export function redactionMark(rule: string): string {
  return `[REDACTED:${rule}]`;
}

/** Options of {@link scanJson}. */
export interface ScanOptions {
  /** Secret values to find exactly, as [name, value] pairs (the secrets injected into a server); a name may repeat. */
  exactValues?: Iterable<readonly [name: string, value: string]>;
  /** Also redact the values of secret-looking object keys (the audit log: yes; results: no). */
  keyNames?: boolean;
  /** Also detect personal data (default true). */
  pii?: boolean;
}

/** What {@link scanJson} found and the value with every secret replaced. */
export interface ScanResult {
  /**
   * A copy of the input with each secret replaced; when nothing was found in a plain JSON value
   * (no `toJSON`, no cycle, within the depth cap, and with `keyNames` no secret-looking key),
   * the input itself, not copied: the caller must not change it.
   */
  value: unknown;
  /** The rules that matched, unique, sorted ("github", "injected:GH_TOKEN", "key-name"). */
  rules: string[];
  /** Whether any secret was found (rules is not empty). */
  sensitiveDataDetected: boolean;
  /** The kinds of personal data found, unique, sorted. */
  pii: PiiKind[];
  /** Whether any personal data was found. */
  piiDetected: boolean;
}

interface Slot {
  /** Sets the string at this place in the copy. */
  set(text: string): void;
  text: string;
}

/**
 * Scans a JSON value (the `arguments` of a call, a tool result, an error text).
 *
 * The value is copied as redact.ts copies it (`toJSON` applied, depth capped at
 * {@link MAX_REDACT_DEPTH} with "[truncated]", cycles become "[circular]"); object keys,
 * numbers, booleans and null are kept; only strings change. Plain JSON in which nothing is
 * found is not copied at all (read once, {@link ScanResult.value} is the input). All strings are scanned in one
 * secretlint run; a match that spans two strings redacts its part of each.
 * @throws WardenError INTERNAL when secretlint cannot be loaded; whatever secretlint throws.
 *   The caller fails closed (the audit log refuses the call; the bridge blocks the result).
 */
export async function scanJson(input: unknown, options: ScanOptions = {}): Promise<ScanResult> {
  const keyNames = options.keyNames === true;
  // Plain JSON (what arrives on the wire) is only read: its strings are scanned where they
  // are, and it is copied only when a secret is found in it.
  const texts: string[] = [];
  if (!collectTexts(input, 0, texts, keyNames)) return copiedAndReplaced(input, keyNames, options);
  const pii = options.pii === false ? [] : findPii(texts);
  const found = await findSecrets(texts, options.exactValues);
  if (found.size === 0) return scanned(input, new Set(), pii);
  return copiedAndReplaced(input, keyNames, options, { texts, pii, found });
}

/**
 * The copy of `input` (copyInto) with the secrets replaced: those `read.found` in
 * `read.texts` (what collectTexts read from the same value, in the same order), or, without
 * them, those found in the copy's own strings (and its personal data, unless `options.pii` is
 * false).
 */
async function copiedAndReplaced(
  input: unknown,
  keyNames: boolean,
  options: ScanOptions,
  read?: { texts: string[]; pii: PiiKind[]; found: Map<number, FoundRange[]> },
): Promise<ScanResult> {
  const slots: Slot[] = [];
  const rules = new Set<string>();
  const root = { value: undefined as unknown };
  copyInto(input, 0, new Set<object>(), slots, rules, keyNames, (v) => (root.value = v));
  const slotTexts = slots.map((slot) => slot.text);
  const same =
    read !== undefined &&
    read.texts.length === slotTexts.length &&
    slotTexts.every((text, i) => text === read.texts[i]);
  const kinds = same ? read.pii : options.pii === false ? [] : findPii(slotTexts);
  const ranges = same ? read.found : await findSecrets(slotTexts, options.exactValues);
  for (const [index, list] of ranges) {
    const slot = slots[index]!;
    slot.set(replaceRanges(slot.text, list));
    for (const range of list) rules.add(range.rule);
  }
  return scanned(root.value, rules, kinds);
}

function scanned(value: unknown, rules: Set<string>, pii: PiiKind[]): ScanResult {
  const sorted = [...rules].sort();
  return { value, rules: sorted, sensitiveDataDetected: sorted.length > 0, pii, piiDetected: pii.length > 0 };
}

/** {@link scanJson} of one text: the text with every secret replaced, and what was found. */
export async function scanText(
  text: string,
  options: ScanOptions = {},
): Promise<Omit<ScanResult, 'value'> & { value: string }> {
  const result = await scanJson(text, options);
  return { ...result, value: result.value as string };
}

interface FoundRange {
  start: number;
  end: number;
  rule: string;
}

/**
 * The secrets in each text: its index -> the ranges to replace (may overlap). One secretlint run
 * over all texts joined by a separator no rule matches across in practice ("\n\n").
 */
async function findSecrets(
  texts: string[],
  exactValues: Iterable<readonly [string, string]> | undefined,
): Promise<Map<number, FoundRange[]>> {
  const found = new Map<number, FoundRange[]>();
  const add = (index: number, range: FoundRange) => {
    const list = found.get(index);
    if (list) list.push(range);
    else found.set(index, [range]);
  };
  const needles = exactValues ? exactNeedles(exactValues) : [];
  // Most texts cannot hold anything the rules look for, and a secretlint run costs far more:
  // the prefilter is asked of each text (none of its patterns spans the separator).
  let candidates = false;
  for (let index = 0; index < texts.length; index++) {
    const text = texts[index]!;
    for (const { needle, rule } of needles) {
      for (let at = text.indexOf(needle); at !== -1; at = text.indexOf(needle, at + needle.length)) {
        add(index, { start: at, end: at + needle.length, rule });
      }
    }
    if (text.includes('PRIVATE KEY')) {
      for (const match of text.matchAll(PEM_PRIVATE_KEY))
        add(index, { start: match.index, end: match.index + match[0].length, rule: 'privatekey' });
    }
    if (!candidates && text.length >= MIN_SCANNED_LENGTH && mayHoldSecret(text)) candidates = true;
  }
  if (!candidates) return found;
  const scanned: { index: number; offset: number; length: number }[] = [];
  let content = '';
  texts.forEach((text, index) => {
    if (text.length < MIN_SCANNED_LENGTH) return;
    if (content) content += '\n\n';
    scanned.push({ index, offset: content.length, length: text.length });
    content += text;
  });
  const { lintSource, recommendedRules } = await secretlint();
  const result = await lintSource({
    source: { filePath: '/content.txt', content, ext: '.txt', contentType: 'text' },
    options: {
      config: { rules: [{ id: '@secretlint/secretlint-rule-preset-recommend', rule: recommendedRules }] },
    },
  });
  for (const message of result.messages) {
    const [start, end] = message.range;
    const rule = ruleName(message.ruleId);
    for (const part of scanned) {
      const from = Math.max(start, part.offset);
      const to = Math.min(end, part.offset + part.length);
      if (from < to) add(part.index, { start: from - part.offset, end: to - part.offset, rule });
    }
  }
  return found;
}

/** Each exact value as it may appear in a text: as it is, JSON-escaped, URL-encoded, base64. */
function exactNeedles(values: Iterable<readonly [string, string]>): { needle: string; rule: string }[] {
  const needles: { needle: string; rule: string }[] = [];
  for (const [name, value] of values) {
    if (value.length < MIN_EXACT_VALUE_LENGTH) continue;
    const rule = `injected:${name}`;
    const forms = new Set([
      value,
      JSON.stringify(value).slice(1, -1),
      encodeURIComponent(value),
      Buffer.from(value).toString('base64').replace(/=+$/, ''),
      Buffer.from(value).toString('base64url'),
    ]);
    for (const needle of forms) if (needle.length >= MIN_EXACT_VALUE_LENGTH) needles.push({ needle, rule });
  }
  // Longest first, so a value that contains another is found whole.
  return needles.sort((a, b) => b.needle.length - a.needle.length);
}

/** `@secretlint/secretlint-rule-github` -> `github`; other ids as they are. */
function ruleName(ruleId: string): string {
  return ruleId.replace(/^@secretlint\/secretlint-rule-/, '');
}

/** The text with each range (merged where they overlap) replaced by the mark of its first rule. */
function replaceRanges(text: string, ranges: FoundRange[]): string {
  const sorted = [...ranges].sort((a, b) => a.start - b.start || b.end - a.end);
  let out = '';
  let at = 0;
  for (let i = 0; i < sorted.length;) {
    const first = sorted[i]!;
    let end = first.end;
    let j = i + 1;
    while (j < sorted.length && sorted[j]!.start < end) end = Math.max(end, sorted[j++]!.end);
    out += text.slice(at, first.start) + redactionMark(first.rule);
    at = end;
    i = j;
  }
  return out + text.slice(at);
}

/**
 * Reads the strings of `input` into `texts`, in the order copyInto records them, without
 * copying anything.
 * @returns false when only a copy can say what `input` is as JSON (a `toJSON`, a cycle, the
 *   depth cap, or, with `keyNames`, a secret-looking key): `texts` is then incomplete.
 */
function collectTexts(input: unknown, depth: number, texts: string[], keyNames: boolean): boolean {
  if (typeof input === 'string') {
    texts.push(input);
    return true;
  }
  if (input === null || typeof input !== 'object') return true;
  // A cycle is deeper than the cap, so the depth check stops it too.
  if (depth > MAX_REDACT_DEPTH || typeof (input as { toJSON?: unknown }).toJSON === 'function') return false;
  if (Array.isArray(input)) {
    for (let i = 0; i < input.length; i++) {
      if (!collectTexts(input[i], depth + 1, texts, keyNames)) return false;
    }
    return true;
  }
  const record = input as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    if (keyNames && isSecretKey(key)) return false;
    if (!collectTexts(record[key], depth + 1, texts, keyNames)) return false;
  }
  return true;
}

/** Copies `input` (as redact.ts does), recording each string's place in `slots`. */
function copyInto(
  input: unknown,
  depth: number,
  ancestors: Set<object>,
  slots: Slot[],
  rules: Set<string>,
  keyNames: boolean,
  set: (value: unknown) => void,
): void {
  if (typeof input === 'string') {
    const slot: Slot = { text: input, set: (text) => set(text) };
    slots.push(slot);
    set(input);
    return;
  }
  if (input === null || typeof input !== 'object') {
    set(input);
    return;
  }
  const toJSON = (input as { toJSON?: unknown }).toJSON;
  const value: unknown = typeof toJSON === 'function' ? toJSON.call(input) : input;
  if (value === null || typeof value !== 'object') {
    copyInto(value, depth, ancestors, slots, rules, keyNames, set);
    return;
  }
  if (depth > MAX_REDACT_DEPTH) {
    set(TRUNCATED);
    return;
  }
  if (ancestors.has(value)) {
    set(CIRCULAR);
    return;
  }
  ancestors.add(value);
  try {
    if (Array.isArray(value)) {
      const out: unknown[] = new Array<unknown>(value.length);
      set(out);
      value.forEach((item: unknown, i) =>
        copyInto(item, depth + 1, ancestors, slots, rules, keyNames, (v) => (out[i] = v)),
      );
      return;
    }
    const out: Record<string, unknown> = {};
    set(out);
    for (const [key, item] of Object.entries(value)) {
      // defineProperty keeps `__proto__` an own key of the copy (never a prototype).
      const put = (v: unknown) =>
        Object.defineProperty(out, key, { value: v, enumerable: true, writable: true, configurable: true });
      if (keyNames && isSecretKey(key)) {
        rules.add(KEY_NAME_RULE);
        put(REDACTED);
      } else copyInto(item, depth + 1, ancestors, slots, rules, keyNames, put);
    }
  } finally {
    ancestors.delete(value);
  }
}
