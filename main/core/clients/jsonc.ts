import { parseTree, type Node, type ParseError } from 'jsonc-parser';

/**
 * Parses JSON with comments and trailing commas (jsonc-parser) into plain values whose object
 * keys are all own properties, "__proto__" included: jsonc-parser's own `parse` assigns keys,
 * so a key "__proto__" (a server of that name in a client config) would set the object's
 * prototype instead of being kept. As with JSON.parse, the last of duplicate keys wins.
 * @param errors receives the parse errors (offsets into `text`); the value is then partial.
 * @returns undefined for an empty text.
 */
export function parseJsonc(text: string, errors: ParseError[] = []): unknown {
  const tree = parseTree(text, errors, { allowTrailingComma: true });
  return tree === undefined ? undefined : toValue(tree);
}

function toValue(node: Node): unknown {
  switch (node.type) {
    case 'object': {
      const object: Record<string, unknown> = {};
      for (const property of node.children ?? []) {
        const [key, value] = property.children ?? [];
        if (key?.type !== 'string') continue;
        Object.defineProperty(object, key.value as string, {
          value: value === undefined ? undefined : toValue(value),
          enumerable: true,
          writable: true,
          configurable: true,
        });
      }
      return object;
    }
    case 'array':
      return (node.children ?? []).map(toValue);
    default:
      return node.value as unknown;
  }
}
