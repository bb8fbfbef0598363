/**
 * Server names for tests: the ones real client configs hold, the ones that break naive code
 * (prototype keys, path and shell syntax, leading "-"), the ones Warden refuses, and fast-check
 * arbitraries over any Unicode (graphemes, and code units with lone surrogates).
 */
import fc from 'fast-check';
import { MAX_SERVER_NAME_LENGTH } from '../../main/core/config/server-name.ts';

/** Names real client configs hold, and the ones that break naive code. */
export const TRICKY_NAMES = [
  'My Notes',
  'notes — ü',
  'a/b',
  'github',
  '__proto__',
  'constructor',
  'toString',
  'hasOwnProperty',
  '-x',
  '--help',
  '--',
  '.hidden',
  '...',
  '%',
  '%2F',
  '%E0%A4%A',
  'a?b#c',
  'x; $(echo hacked) `id` \'q\' "d" \\ * ~ # !',
  '=cmd',
  ' leading and trailing ',
  '👩‍👩‍👧‍👦 family',
  'e\u0301 (NFD)',
  'é (NFC)',
  '中文服务器',
  'x'.repeat(MAX_SERVER_NAME_LENGTH),
  '😀'.repeat(MAX_SERVER_NAME_LENGTH),
  // refused:
  '',
  '.',
  '..',
  'tab\there',
  'line\nbreak',
  'nul\u0000',
  'del\u007f',
  'c1\u0085',
  'sep\u2028',
  'rtl\u202eevil',
  'isolate\u2066',
  'lone \ud800 surrogate',
  'x'.repeat(MAX_SERVER_NAME_LENGTH + 1),
];

/** Arbitrary names: any graphemes, any code units (lone surrogates too), and the tricky ones. */
export const anyName = fc.oneof(
  fc.string({ unit: 'grapheme', minLength: 0, maxLength: 40 }),
  fc.string({ unit: 'binary', minLength: 0, maxLength: 40 }),
  fc.string({ unit: fc.constantFrom('a', '/', '.', '-', ' ', '%', '_', 'ü', '\u202e', '\n'), maxLength: 8 }),
  fc.constantFrom(...TRICKY_NAMES),
);
