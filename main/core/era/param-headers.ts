/**
 * `Mcp-Param-{Name}` headers of MCP 2026-07-28 Streamable HTTP (spec
 * basic/transports/streamable-http#server-behavior-for-custom-headers, #server-validation,
 * #value-encoding): a tool marks properties of its `inputSchema` with `x-mcp-header: Name`, and
 * clients mirror those arguments into headers. A server that processes the body MUST check each
 * mirrored value against the body and answer 400 with -32020 (HeaderMismatch) on a mismatch.
 * Warden decides on the body, never on these headers; it checks them so a header-routed
 * intermediary behind it cannot be told something other than what Warden judged.
 */

/** One `x-mcp-header` declaration: the header's name and the property path in `arguments`. */
export interface ParamHeaderDeclaration {
  header: string;
  path: string[];
  type: unknown;
}

/** The `x-mcp-header` declarations of a tool's `inputSchema` (nested object properties included). */
export function paramHeaderDeclarations(inputSchema: unknown, path: string[] = []): ParamHeaderDeclaration[] {
  const properties = (inputSchema as { properties?: unknown } | null)?.properties;
  if (!properties || typeof properties !== 'object') return [];
  const found: ParamHeaderDeclaration[] = [];
  for (const [key, schema] of Object.entries(properties as Record<string, unknown>)) {
    if (!schema || typeof schema !== 'object') continue;
    const header = (schema as { 'x-mcp-header'?: unknown })['x-mcp-header'];
    const type = (schema as { type?: unknown }).type;
    if (typeof header === 'string' && header) found.push({ header, path: [...path, key], type });
    found.push(...paramHeaderDeclarations(schema, [...path, key]));
  }
  return found;
}

/** A header value with the Base64 sentinel (`=?base64?…?=`) decoded; undefined when malformed. */
export function decodeParamHeader(value: string): string | undefined {
  if (!(value.startsWith('=?base64?') && value.endsWith('?='))) return value;
  const b64 = value.slice('=?base64?'.length, -'?='.length);
  if (!/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(b64)) return undefined;
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(Buffer.from(b64, 'base64'));
  } catch {
    return undefined;
  }
}

/**
 * The first disagreement between the `Mcp-Param-*` headers of a `tools/call` and its
 * `arguments`, as a sentence; undefined when they agree. A declared argument that is present
 * (not null) needs its header, equal after decoding (numbers compared as numbers); an absent
 * argument needs none.
 * @param header reads one request header by lower-case name.
 */
export function paramHeaderMismatch(
  declarations: readonly ParamHeaderDeclaration[],
  args: unknown,
  header: (name: string) => string | undefined,
): string | undefined {
  for (const declaration of declarations) {
    let value: unknown = args;
    for (const key of declaration.path)
      value = value && typeof value === 'object' ? (value as Record<string, unknown>)[key] : undefined;
    if (value === undefined || value === null) continue;
    if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') continue;
    const name = `mcp-param-${declaration.header.toLowerCase()}`;
    const raw = header(name);
    const at = declaration.path.join('.');
    if (raw === undefined)
      return `the body carries ${at}=${JSON.stringify(value)} but the Mcp-Param-${declaration.header} header is absent`;
    const decoded = decodeParamHeader(raw);
    if (decoded === undefined)
      return `the Mcp-Param-${declaration.header} header carries an invalid Base64 value`;
    const same =
      typeof value === 'number'
        ? decoded.trim() !== '' && Number(decoded) === value
        : decoded === String(value);
    if (!same)
      return `the Mcp-Param-${declaration.header} header says ${JSON.stringify(decoded)} but the body carries ${at}=${JSON.stringify(value)}`;
  }
  return undefined;
}

/**
 * A value as a client mirrors it into an `Mcp-Param-*` header (spec #value-encoding): as is
 * when it is printable ASCII without leading or trailing whitespace, else Base64 in the
 * `=?base64?…?=` sentinel.
 */
export function encodeParamHeader(value: string | number | boolean): string {
  const text = String(value);
  return /^[\x20-\x7e]*$/.test(text) && text.trim() === text
    ? text
    : `=?base64?${Buffer.from(text, 'utf8').toString('base64')}?=`;
}

/**
 * The `Mcp-Param-*` headers a client sends with a `tools/call` of a tool with these
 * declarations (header name → value), for the arguments present and not null.
 */
export function paramHeadersFor(
  declarations: readonly ParamHeaderDeclaration[],
  args: unknown,
): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const declaration of declarations) {
    let value: unknown = args;
    for (const key of declaration.path)
      value = value && typeof value === 'object' ? (value as Record<string, unknown>)[key] : undefined;
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean')
      headers[`Mcp-Param-${declaration.header}`] = encodeParamHeader(value);
  }
  return headers;
}

/** The requests whose `Mcp-Name` header mirrors a body field (spec #standard-request-headers). */
const NAMED_BY: Readonly<Record<string, 'name' | 'uri'>> = {
  'tools/call': 'name',
  'prompts/get': 'name',
  'resources/read': 'uri',
};

/**
 * The disagreement between a request's `Mcp-Name` header and its body (`params.name` of
 * `tools/call` and `prompts/get`, `params.uri` of `resources/read`), as a sentence; undefined
 * when they agree or the method names nothing. The header is required for those methods.
 * (`MCP-Protocol-Version` and `Mcp-Method` are required by missingStandardHeader and
 * compared with the body by the SDK's classifyInboundRequest.)
 */
export function nameHeaderMismatch(
  method: string,
  params: Record<string, unknown> | undefined,
  header: string | undefined,
): string | undefined {
  const field = NAMED_BY[method];
  if (field === undefined) return undefined;
  const value = params?.[field];
  if (typeof value !== 'string') return undefined;
  if (header === undefined)
    return `the body names ${field} ${JSON.stringify(value)} but the Mcp-Name header is absent`;
  const decoded = decodeParamHeader(header);
  if (decoded === undefined) return 'the Mcp-Name header carries an invalid Base64 value';
  return decoded === value
    ? undefined
    : `the body names ${field} ${JSON.stringify(value)} but the Mcp-Name header names ${JSON.stringify(decoded)}`;
}

/**
 * The standard header a 2026-07-28 request over Streamable HTTP lacks, as a sentence; undefined
 * when both are there. `MCP-Protocol-Version` and `Mcp-Method` are required on every request
 * (spec basic/transports/streamable-http#standard-request-headers; the server MUST reject a
 * request without them with 400 and -32020). The SDK's classifyInboundRequest compares them with
 * the body only when they are present.
 * @param header reads one request header by lower-case name.
 */
export function missingStandardHeader(
  method: string,
  header: (name: string) => string | undefined,
): string | undefined {
  if (header('mcp-protocol-version') === undefined)
    return `the body carries a 2026-07-28 request (${method}) but the required MCP-Protocol-Version header is absent`;
  if (header('mcp-method') === undefined)
    return `the body names method ${method} but the required Mcp-Method header is absent`;
  return undefined;
}
