/**
 * The `input_required` results of MCP 2026-07-28 (spec basic/patterns/mrtr): a server answers a
 * `tools/call`, `prompts/get` or `resources/read` with `resultType: "input_required"` and a map
 * of input requests the client must answer before retrying. A server MUST NOT ask for what the
 * request's `clientCapabilities` did not declare (mrtr#server-requirements-basic-workflow,
 * item 7): Warden, which forwards such results, checks that before the client sees them.
 */

/** Whether a result is an `input_required` round (spec basic/index#resulttype; absent = complete). */
export function isInputRequired(result: unknown): boolean {
  return (
    !!result &&
    typeof result === 'object' &&
    (result as { resultType?: unknown }).resultType === 'input_required'
  );
}

/**
 * The client capabilities the input requests of an `input_required` result need and the request
 * did not declare, as `method` → capability path (e.g. `elicitation/create` → `elicitation.form`).
 * An input request of a method Warden does not know counts as missing (fail closed).
 * @returns an empty list when every input request is covered.
 */
export function undeclaredInputCapabilities(result: unknown, declared: Record<string, unknown>): string[] {
  const requests = (result as { inputRequests?: unknown }).inputRequests;
  if (!requests || typeof requests !== 'object') return [];
  const missing: string[] = [];
  for (const request of Object.values(requests as Record<string, unknown>)) {
    const need = neededCapability(request);
    if (need === undefined || !has(declared, need))
      missing.push(need ?? `unknown input request ${describe(request)}`);
  }
  return [...new Set(missing)];
}

/** The capability path an input request needs; undefined for a method Warden does not know. */
function neededCapability(request: unknown): string | undefined {
  if (!request || typeof request !== 'object') return undefined;
  const { method, params } = request as { method?: unknown; params?: { mode?: unknown; tools?: unknown } };
  switch (method) {
    case 'elicitation/create':
      return params?.mode === 'url' ? 'elicitation.url' : 'elicitation.form';
    case 'sampling/createMessage':
      return params?.tools !== undefined ? 'sampling.tools' : 'sampling';
    case 'roots/list':
      return 'roots';
    default:
      return undefined;
  }
}

/**
 * Whether `declared` has the capability at `path`. `elicitation: {}` declares form mode (the
 * spec's backward-compatible reading of an empty elicitation capability).
 */
function has(declared: Record<string, unknown>, path: string): boolean {
  const [head, sub] = path.split('.') as [string, string | undefined];
  const capability = declared[head];
  if (!capability || typeof capability !== 'object') return false;
  if (sub === undefined) return true;
  const members = capability as Record<string, unknown>;
  if (head === 'elicitation' && sub === 'form' && Object.keys(members).length === 0) return true;
  return members[sub] !== undefined && members[sub] !== false;
}

function describe(request: unknown): string {
  const method = (request as { method?: unknown } | null)?.method;
  return typeof method === 'string' ? `"${method}"` : '(no method)';
}
