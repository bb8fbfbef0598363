import fs from 'node:fs';
import type * as Jsonc from 'jsonc-parser';
import type { FormattingOptions, Node, ParseError } from 'jsonc-parser';
import { WardenError } from '../errors.ts';
import { lazyModule } from '../lazy-module.ts';

/** jsonc-parser, loaded by the first client config read or edited. */
export const jsonc = lazyModule<typeof Jsonc>('jsonc-parser', 'the JSON-with-comments parser');

/** A JSON-with-comments config file as read: its exact bytes, and its value. */
export interface JsoncDocument {
  file: string;
  /** The whole file as text (a byte order mark included), exactly its bytes decoded as UTF-8. */
  text: string;
  /** The top-level object. Keys are own properties, "__proto__" included. */
  value: Record<string, unknown>;
  tree: Node;
}

const BOM = '\uFEFF';
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * Reads a JSON-with-comments config file (comments and trailing commas allowed, a UTF-8 byte
 * order mark kept).
 * @throws WardenError CONFIG_UNREADABLE when it cannot be read, CONFIG_NOT_JSON when it is not
 *   UTF-8 or not a JSON object (naming the first error and its line).
 */
export function readJsonc(file: string): JsoncDocument {
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch (error) {
    throw new WardenError('CONFIG_UNREADABLE', `cannot read ${file}: ${(error as Error).message}`);
  }
  return parseJsonc(bytes, file);
}

/**
 * Parses JSON-with-comments bytes or text (see readJsonc).
 * @throws WardenError CONFIG_NOT_JSON.
 */
export function parseJsonc(data: Buffer | string, file: string): JsoncDocument {
  let text: string;
  if (typeof data === 'string') text = data;
  else {
    try {
      text = utf8.decode(data);
    } catch {
      throw new WardenError(
        'CONFIG_NOT_JSON',
        `${file} is not UTF-8 text; save it as UTF-8 and try again (nothing was changed)`,
      );
    }
  }
  const body = text.startsWith(BOM) ? text.slice(1) : text;
  const errors: ParseError[] = [];
  const { parseTree, printParseErrorCode } = jsonc();
  const tree = parseTree(body, errors, { allowTrailingComma: true, disallowComments: false });
  if (errors.length || !tree || tree.type !== 'object') {
    const first = errors[0];
    const where = first ? ` (${printParseErrorCode(first.error)} at line ${lineOf(body, first.offset)})` : '';
    throw new WardenError('CONFIG_NOT_JSON', `${file} is not a JSON object${where}`);
  }
  return { file, text, value: nodeValue(tree) as Record<string, unknown>, tree };
}

/**
 * Sets `path` to `value` in the document's text, keeping comments, formatting and every other
 * key (jsonc-parser `modify`), in the file's own line endings and indentation.
 * @returns the new text (its byte order mark kept).
 */
export function editJsonc(text: string, path: string[], value: unknown): string {
  const bom = text.startsWith(BOM) ? BOM : '';
  const body = bom ? text.slice(1) : text;
  const { applyEdits, modify } = jsonc();
  return bom + applyEdits(body, modify(body, path, value, { formattingOptions: formatOf(body) }));
}

/** The servers object of a client or Warden config: `{ name: entry }`, own keys only. */
export function serversOf(doc: JsoncDocument, key: string): Record<string, Record<string, unknown>> {
  if (!Object.hasOwn(doc.value, key)) return {};
  const servers = doc.value[key];
  if (!servers || typeof servers !== 'object' || Array.isArray(servers))
    throw new WardenError('CONFIG_INVALID', `${doc.file}: "${key}" is not an object of servers`);
  return servers as Record<string, Record<string, unknown>>;
}

/**
 * Refuses a file whose servers key, or a server name in it, appears twice: clients disagree on
 * which one counts, and an edit would change one while the client runs the other.
 * @throws WardenError CONFIG_INVALID naming the key and its lines.
 */
export function assertUniqueServers(doc: JsoncDocument, key: string): void {
  const body = doc.text.startsWith(BOM) ? doc.text.slice(1) : doc.text;
  const check = (object: Node, where: string): void => {
    const seen = new Map<string, number>();
    for (const property of object.children ?? []) {
      const name = property.children?.[0]?.value as string;
      const line = lineOf(body, property.offset);
      const first = seen.get(name);
      if (first !== undefined)
        throw new WardenError(
          'CONFIG_INVALID',
          `${doc.file} has ${where} "${name}" twice (lines ${first} and ${line}); clients disagree on which one counts, so remove one (nothing was changed)`,
        );
      seen.set(name, line);
    }
  };
  check(doc.tree, 'the key');
  const servers = doc.tree.children?.find((p) => p.children?.[0]?.value === key)?.children?.[1];
  if (servers?.type === 'object') check(servers, `the server`);
}

/** Line endings and indentation of a JSON text, for edits that look like the rest of it. */
export function formatOf(text: string): FormattingOptions {
  const eol = text.includes('\r\n') ? '\r\n' : '\n';
  let indent: string | undefined;
  for (const match of text.slice(0, 64 * 1024).matchAll(/\n([ \t]+)["{[\]}]/g)) {
    const found = match[1]!;
    if (!indent || found.length < indent.length) indent = found;
  }
  if (indent?.startsWith('\t')) return { insertSpaces: false, tabSize: 1, eol };
  const size = indent && !indent.includes('\t') && indent.length <= 8 ? indent.length : 2;
  return { insertSpaces: true, tabSize: size, eol };
}

/** The value of a parse tree node; object keys become own properties (even "__proto__"). */
function nodeValue(node: Node): unknown {
  if (node.type === 'array') return (node.children ?? []).map(nodeValue);
  if (node.type !== 'object') return node.value;
  const object: Record<string, unknown> = {};
  for (const property of node.children ?? []) {
    const [key, value] = property.children ?? [];
    if (!key || !value) continue;
    Object.defineProperty(object, key.value as string, {
      value: nodeValue(value),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return object;
}

function lineOf(text: string, offset: number): number {
  let line = 1;
  for (let i = text.indexOf('\n'); i !== -1 && i < offset; i = text.indexOf('\n', i + 1)) line += 1;
  return line;
}
