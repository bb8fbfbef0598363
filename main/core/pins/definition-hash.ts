import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';

/**
 * What is pinned: tools (`tools/list`), prompts (`prompts/list`) and resource templates
 * (`resources/templates/list`). The names match the `kind` column of `tool_pins`.
 */
export type PinKind = 'tool' | 'prompt' | 'resourceTemplate';

/**
 * The fields of each kind that a person approves: whatever the model reads or the client acts
 * on. `_meta`, `icons` and anything else a server adds are not pinned, so they may change freely.
 */
const PINNED_FIELDS: Record<PinKind, readonly string[]> = {
  tool: ['name', 'title', 'description', 'inputSchema', 'outputSchema', 'annotations'],
  prompt: ['name', 'title', 'description', 'arguments'],
  resourceTemplate: ['name', 'title', 'uriTemplate', 'description', 'mimeType'],
};

/**
 * The pinned fields of a definition, as a new object: tool `name`, `title`, `description`,
 * `inputSchema`, `outputSchema`, `annotations`; prompt `name`, `title`, `description`,
 * `arguments`; resource template `name`, `title`, `uriTemplate`, `description`, `mimeType`.
 * Fields that are absent or `undefined` are omitted; `_meta` and any other field are ignored.
 * Values are not copied (nested objects are shared with `definition`).
 */
export function pinnedFields(kind: PinKind, definition: Record<string, unknown>): Record<string, unknown> {
  const picked: Record<string, unknown> = {};
  for (const field of PINNED_FIELDS[kind]) {
    const value = definition[field];
    if (value !== undefined) picked[field] = value;
  }
  return picked;
}

/**
 * The RFC 8785 (JSON Canonicalization Scheme) serialization of the pinned fields: keys sorted,
 * no whitespace, numbers in their shortest form, so key order never changes the result.
 * @throws TypeError (from `canonicalize`) when a value cannot be serialized, e.g. a BigInt or a
 *   cycle; definitions parsed from JSON never contain either.
 */
export function canonicalDefinition(kind: PinKind, definition: Record<string, unknown>): string {
  // canonicalize returns undefined only for undefined input; an object always serializes.
  return canonicalize(pinnedFields(kind, definition)) ?? '{}';
}

/**
 * The pin of a definition: hex SHA-256 (64 lowercase characters) of its canonical pinned fields
 * ({@link canonicalDefinition}). Equal for definitions that differ only in key order, `_meta` or
 * unpinned fields; different for any change to a pinned field.
 */
export function definitionHash(kind: PinKind, definition: Record<string, unknown>): string {
  return createHash('sha256').update(canonicalDefinition(kind, definition)).digest('hex');
}

/**
 * The pinned fields as indented JSON (two spaces) with keys sorted at every depth and a final
 * newline, one value per line: the text that review diffs compare.
 */
export function prettyDefinition(kind: PinKind, definition: Record<string, unknown>): string {
  // JSON.parse keeps the canonical (sorted) key order; integer-like keys, which JavaScript
  // always orders first, are the only exception and appear in ascending order.
  return JSON.stringify(JSON.parse(canonicalDefinition(kind, definition)), null, 2) + '\n';
}
