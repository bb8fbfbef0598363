/**
 * Globs over names (server names, tool names), as policy rules, limits and a server's tool lists
 * use them. Names are plain strings, not paths: "/" and a leading "." are ordinary characters,
 * so `*` matches "a/b" and ".hidden" (with path globs such as picomatch, `server: "*"` would not
 * cover a server named "a/b", and a deny rule would miss it).
 *
 * Syntax: `*` any run of characters (also none); `?` exactly one character; `[abc]`, `[a-z]`
 * one of a set (`[!…]` or `[^…]` not in it; a `]` first is literal; a range written backwards is
 * read as its three characters); `{a,b,…}` any of the alternatives (they may hold globs and
 * nest; without a comma the braces are literal); `\` makes the next character literal; a leading
 * `!` (as in picomatch) matches every name the rest does not. Everything else, "(" ")" "|" "+"
 * "@" included, is literal. Matching is exact and case-sensitive, by Unicode code point.
 */
export function nameGlob(glob: string): (name: string) => boolean {
  const negated = glob.startsWith('!') && glob.length > 1;
  const re = new RegExp(`^(?:${compile(negated ? glob.slice(1) : glob)})$`, 'su');
  return negated ? (name) => !re.test(name) : (name) => re.test(name);
}

/** The regular expression source (flags `su`) of a glob without its leading `!`. */
function compile(glob: string): string {
  const chars = [...glob];
  let out = '';
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i]!;
    if (c === '\\') {
      out += literal(chars[i + 1] ?? '\\');
      i++;
    } else if (c === '*') {
      while (chars[i + 1] === '*') i++;
      out += '.*';
    } else if (c === '?') {
      out += '.';
    } else if (c === '[') {
      const set = characterSet(chars, i);
      if (set) {
        out += set.source;
        i = set.end;
      } else out += literal(c);
    } else if (c === '{') {
      const alternatives = braces(chars, i);
      if (alternatives) {
        out += `(?:${alternatives.parts.map(compile).join('|')})`;
        i = alternatives.end;
      } else out += literal(c);
    } else out += literal(c);
  }
  return out;
}

/** A `[...]` set starting at `start`: its regex and the index of its `]`, or undefined if unclosed. */
function characterSet(chars: string[], start: number): { source: string; end: number } | undefined {
  let i = start + 1;
  const negated = chars[i] === '!' || chars[i] === '^';
  if (negated) i++;
  const members: string[] = [];
  let first = true;
  for (; i < chars.length; i++) {
    let c = chars[i]!;
    if (c === ']' && !first) {
      return { source: `[${negated ? '^' : ''}${members.join('')}]`, end: i };
    }
    first = false;
    if (c === '\\' && i + 1 < chars.length) c = chars[++i]!;
    const to = chars[i + 2];
    if (chars[i + 1] === '-' && to !== undefined && to !== ']') {
      const end = to === '\\' && i + 3 < chars.length ? chars[i + 3]! : to;
      if (c.codePointAt(0)! <= end.codePointAt(0)!) members.push(`${inSet(c)}-${inSet(end)}`);
      else members.push(inSet(c), '\\-', inSet(end));
      i += to === '\\' && i + 3 < chars.length ? 3 : 2;
    } else members.push(inSet(c));
  }
  return undefined;
}

/** The top-level comma-separated parts of a `{...}` starting at `start`, or undefined. */
function braces(chars: string[], start: number): { parts: string[]; end: number } | undefined {
  let depth = 0;
  const parts: string[] = [];
  let part = '';
  for (let i = start + 1; i < chars.length; i++) {
    const c = chars[i]!;
    if (c === '\\' && i + 1 < chars.length) {
      part += c + chars[++i]!;
    } else if (c === '{') {
      depth++;
      part += c;
    } else if (c === '}' && depth > 0) {
      depth--;
      part += c;
    } else if (c === '}') {
      if (!parts.length) return undefined;
      return { parts: [...parts, part], end: i };
    } else if (c === ',' && depth === 0) {
      parts.push(part);
      part = '';
    } else part += c;
  }
  return undefined;
}

function literal(c: string): string {
  return c.replace(/[\\^$.*+?()[\]{}|/]/g, '\\$&');
}

function inSet(c: string): string {
  return c.replace(/[\\\][^-]/g, '\\$&');
}
