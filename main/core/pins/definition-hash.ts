import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';

/** What is pinned: tools, prompts and resource templates. */
export type PinKind = 'tool' | 'prompt' | 'resourceTemplate';

const PINNED_FIELDS: Record<PinKind, readonly string[]> = {
  tool: ['name', 'title', 'description', 'inputSchema', 'outputSchema', 'annotations'],
  prompt: ['name', 'title', 'description', 'arguments'],
  resourceTemplate: ['name', 'title', 'uriTemplate', 'description', 'mimeType'],
};

/** The fields of a definition that are pinned (`_meta` and anything else are ignored). */
export function pinnedFields(kind: PinKind, definition: Record<string, unknown>): Record<string, unknown> {
  const picked: Record<string, unknown> = {};
  for (const field of PINNED_FIELDS[kind])
    if (definition[field] !== undefined) picked[field] = definition[field];
  return picked;
}

/** RFC 8785 canonical JSON of the pinned fields (key order never matters). */
export function canonicalDefinition(kind: PinKind, definition: Record<string, unknown>): string {
  return canonicalize(pinnedFields(kind, definition)) ?? '{}';
}

/** Hex sha256 of the canonical pinned fields. */
export function definitionHash(kind: PinKind, definition: Record<string, unknown>): string {
  return createHash('sha256').update(canonicalDefinition(kind, definition)).digest('hex');
}

/** Pretty JSON with sorted keys, for readable diffs. */
export function prettyDefinition(kind: PinKind, definition: Record<string, unknown>): string {
  return JSON.stringify(JSON.parse(canonicalDefinition(kind, definition)), null, 2) + '\n';
}
