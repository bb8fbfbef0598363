/**
 * Detection of personal data in text, for the audit log's `pii_detected` flag. Candidates are
 * found by pattern and confirmed by validator.js (a maintained validation library): emails
 * (`isEmail`), phone numbers written in international form (`+` and country code,
 * `isMobilePhone(…, 'any', { strictMode: true })`), payment card numbers (13-19 digits, spaces or
 * dashes allowed, `isCreditCard`: issuer prefixes and the Luhn check) and IBANs (`isIBAN`: country
 * format and the ISO 7064 mod-97 checksum). Nothing is replaced: only the kinds found are told.
 */
import type Validator from 'validator';
import { lazyModule } from '../lazy-module.ts';

/** validator.js, loaded when the first candidate is to be confirmed (most texts have none). */
const loadValidator = lazyModule<typeof Validator>('validator', 'the personal data validator');

/** The kinds of personal data detected. */
export type PiiKind = 'card' | 'email' | 'iban' | 'phone';

const EMAIL = /[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9.-]{1,253}\.[A-Za-z]{2,63}/g;
const PHONE = /\+\d[\d ().-]{6,18}\d/g;
const CARD = /(?<![\d-])\d(?:[ -]?\d){12,18}(?![\d-])/g;
const IBAN = /\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}\b/g;
/** What a text must hold for any of the patterns above to match in it. */
const CANDIDATE = /[\d@]/;

/** Longest text looked at, characters: personal data past it is not detected (bounded cost). */
export const MAX_PII_TEXT = 1_000_000;

/**
 * The kinds of personal data in any of the texts, unique and sorted.
 * Never throws.
 */
export function findPii(texts: readonly string[]): PiiKind[] {
  const kinds = new Set<PiiKind>();
  let budget = MAX_PII_TEXT;
  for (const full of texts) {
    if (budget <= 0) break;
    // Every pattern needs a digit or an "@" (and a text too short for any is skipped).
    if (full.length < 6 || !CANDIDATE.test(full)) {
      budget -= full.length;
      continue;
    }
    const text = full.length > budget ? full.slice(0, budget) : full;
    budget -= text.length;
    if (!kinds.has('email') && text.includes('@') && some(text, EMAIL, (m) => loadValidator().isEmail(m)))
      kinds.add('email');
    if (
      !kinds.has('phone') &&
      text.includes('+') &&
      some(text, PHONE, (m) =>
        loadValidator().isMobilePhone(m.replace(/[ ().-]/g, ''), 'any', { strictMode: true }),
      )
    )
      kinds.add('phone');
    if (!kinds.has('card') && some(text, CARD, (m) => loadValidator().isCreditCard(m.replace(/[ -]/g, ''))))
      kinds.add('card');
    if (!kinds.has('iban') && some(text, IBAN, (m) => loadValidator().isIBAN(m.replace(/ /g, ''))))
      kinds.add('iban');
    if (kinds.size === 4) break;
  }
  return [...kinds].sort();
}

/** Whether a match of the global `pattern` in `text` is `valid` (exec: no iterator, no array per text). */
function some(text: string, pattern: RegExp, valid: (match: string) => boolean): boolean {
  pattern.lastIndex = 0;
  try {
    for (let match = pattern.exec(text); match !== null; match = pattern.exec(text)) {
      if (valid(match[0])) return true;
      if (match[0].length === 0) pattern.lastIndex++;
    }
    return false;
  } finally {
    pattern.lastIndex = 0;
  }
}
