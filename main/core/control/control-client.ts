import { createParser } from 'eventsource-parser';
import { z } from 'zod';
import { describeError, fromWire, WardenError } from '../errors.ts';
import {
  approvalRequestSchema,
  auditPageSchema,
  catalogItemSchema,
  clientConfigSchema,
  controlEventSchema,
  effectivePolicySchema,
  explainSchema,
  okSchema,
  orgSyncStatusSchema,
  policyStatusSchema,
  pinsSchema,
  protectPreviewSchema,
  protectResultSchema,
  rememberedRuleSchema,
  restoreResultSchema,
  secretEntrySchema,
  serverEntrySchema,
  statusSchema,
  type ApprovalAnswerBody,
  type AuditExportFormat,
  type AuditQuery,
  type ControlEvent,
} from './contract.ts';
import type { WardenApi } from './warden-api.ts';

/** Reconnect delay of `subscribe` after the event stream drops, ms. */
const RECONNECT_MS = 1000;

/**
 * A typed client of the daemon's control API (contract.ts) over HTTP. Runs in Node (CLI) and
 * in the browser (dashboard): it only needs `fetch`. Every response is validated against the
 * contract. Errors are the daemon's WardenError rebuilt from its `{ error: { code, message } }`
 * (fromWire, errors.ts; a code this version does not know is UNRECOGNIZED), or
 * DAEMON_UNREACHABLE when it does not answer or answers without an error body.
 */
export class ControlClient implements WardenApi {
  readonly #base: string;
  readonly #token: string;

  /**
   * @param base the API root, e.g. "http://127.0.0.1:47113/api/v1" (or "/api/v1" in a page).
   * @param token the daemon's bearer token, or a dashboard session token.
   */
  constructor(base: string, token: string) {
    this.#base = base.replace(/\/$/, '');
    this.#token = token;
  }

  status() {
    return this.#call('GET', '/status', statusSchema);
  }
  servers() {
    return this.#call('GET', '/servers', serverEntrySchema.array());
  }
  approveServer(name: string, identityHash: string) {
    return this.#call('POST', `/servers/${seg(name)}/approve`, okSchema, { identityHash });
  }
  restartServer(name: string) {
    return this.#call('POST', `/servers/${seg(name)}/restart`, okSchema, {});
  }
  pause() {
    return this.#call('POST', '/pause', okSchema, {});
  }
  resume() {
    return this.#call('POST', '/resume', okSchema, {});
  }
  approvals() {
    return this.#call('GET', '/approvals', approvalRequestSchema.array());
  }
  answer(id: string, body: ApprovalAnswerBody) {
    return this.#call('POST', `/approvals/${seg(id)}`, okSchema, body);
  }
  rules() {
    return this.#call('GET', '/rules', rememberedRuleSchema.array());
  }
  revokeRule(id: number) {
    return this.#call('DELETE', `/rules/${id}`, okSchema);
  }
  pins() {
    return this.#call('GET', '/pins', pinsSchema);
  }
  approvePin(server: string, kind: string, name: string, hash: string) {
    return this.#call('POST', `/pins/${seg(server)}/${seg(kind)}/${seg(name)}/approve`, okSchema, { hash });
  }
  policyStatus() {
    return this.#call('GET', '/policy/status', policyStatusSchema);
  }
  effectivePolicy() {
    return this.#call('GET', '/policy/effective', effectivePolicySchema);
  }
  syncPolicy() {
    return this.#call('POST', '/policy/sync', orgSyncStatusSchema, {});
  }
  explain(query: { server: string; tool: string; args?: string; annotations?: string }) {
    return this.#call('GET', `/policy/explain?${searchParams(query)}`, explainSchema);
  }
  audit(query: AuditQuery) {
    return this.#call('GET', `/audit?${searchParams(query)}`, auditPageSchema);
  }
  async exportAudit(query: AuditQuery, format: AuditExportFormat): Promise<string> {
    const response = await this.#fetch('GET', `/audit/export?${searchParams({ ...query, format })}`);
    if (!response.ok) throw await errorOf(response);
    return response.text();
  }
  clients() {
    return this.#call('GET', '/clients', clientConfigSchema.array());
  }
  previewProtect(id: string) {
    return this.#call('POST', `/clients/${seg(id)}/preview`, protectPreviewSchema, {});
  }
  protect(id: string, clientSha256: string, servers?: string[]) {
    return this.#call('POST', `/clients/${seg(id)}/protect`, protectResultSchema, {
      clientSha256,
      ...(servers ? { servers } : {}),
    });
  }
  restore(id: string) {
    return this.#call('POST', `/clients/${seg(id)}/restore`, restoreResultSchema, {});
  }
  secrets() {
    return this.#call('GET', '/secrets', secretEntrySchema.array());
  }
  setSecret(name: string, value: string) {
    return this.#call('PUT', `/secrets/${seg(name)}`, okSchema, { value });
  }
  deleteSecret(name: string) {
    return this.#call('DELETE', `/secrets/${seg(name)}`, okSchema);
  }

  /** The org catalog of the policy in force. */
  catalog() {
    return this.#call('GET', '/catalog', catalogItemSchema.array());
  }

  /**
   * A browser dashboard URL with a fresh one-time ticket (daemon token only; not part of
   * WardenApi: the UI cannot mint access for others).
   */
  async dashboardUrl(): Promise<string> {
    return this.#call('POST', '/ui/ticket', z.object({ url: z.string() }), {}).then((r) => r.url);
  }

  /**
   * Follows the event stream until `signal` aborts (one connection; see `subscribe` for the
   * reconnecting form). `onOpen` runs once the stream is connected.
   * @throws WardenError the daemon's error when it refuses the stream, DAEMON_UNREACHABLE when
   *   it does not answer.
   */
  async events(
    onEvent: (event: ControlEvent) => void,
    signal: AbortSignal,
    onOpen?: () => Promise<void> | void,
  ): Promise<void> {
    const response = await this.#fetch('GET', '/events', undefined, signal);
    if (!response.ok || !response.body) {
      throw response.ok
        ? new WardenError(
            'DAEMON_UNREACHABLE',
            `the event stream answered HTTP ${response.status} without a body`,
          )
        : await errorOf(response);
    }
    await onOpen?.();
    const parser = createParser({
      onEvent: (event) => {
        const parsed = controlEventSchema.safeParse(JSON.parse(event.data));
        if (parsed.success) onEvent(parsed.data);
      },
    });
    const decoder = new TextDecoder();
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        parser.feed(decoder.decode(value, { stream: true }));
      }
    } catch (error) {
      if (!signal.aborted) throw error;
    }
  }

  subscribe(onEvent: (event: ControlEvent) => void, onOpen?: () => void): () => void {
    const controller = new AbortController();
    const loop = async (): Promise<void> => {
      while (!controller.signal.aborted) {
        try {
          await this.events(onEvent, controller.signal, onOpen);
        } catch {
          // The daemon restarted or the network blipped: try again below.
        }
        if (controller.signal.aborted) return;
        await new Promise((resolve) => setTimeout(resolve, RECONNECT_MS));
      }
    };
    void loop();
    return () => controller.abort();
  }

  #fetch(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<Response> {
    return fetch(`${this.#base}${path}`, {
      method,
      headers: { authorization: `Bearer ${this.#token}`, 'content-type': 'application/json' },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      ...(signal ? { signal } : {}),
    }).catch((error: unknown) => {
      throw new WardenError(
        'DAEMON_UNREACHABLE',
        `the Warden daemon did not answer (${describeError(error)})`,
        { cause: error },
      );
    });
  }

  async #call<T>(method: string, path: string, schema: z.ZodType<T>, body?: unknown): Promise<T> {
    const response = await this.#fetch(method, path, body);
    if (!response.ok) throw await errorOf(response);
    return schema.parse(await response.json());
  }
}

/**
 * The WardenError an error response carries (`{ error: { code, message } }`, the control API's
 * shape), or DAEMON_UNREACHABLE naming the status when the body is not one.
 */
async function errorOf(response: Response): Promise<WardenError> {
  let body: unknown;
  try {
    body = await response.json();
  } catch (error) {
    return new WardenError(
      'DAEMON_UNREACHABLE',
      `the Warden daemon answered HTTP ${response.status} without an error (${describeError(error)})`,
    );
  }
  return (
    fromWire((body as { error?: unknown } | null)?.error) ??
    new WardenError(
      'DAEMON_UNREACHABLE',
      `the Warden daemon answered HTTP ${response.status} without an error`,
    )
  );
}

/**
 * One path segment, percent-encoded. "." and ".." (even encoded, WHATWG URL parsing treats
 * "%2e" as a dot) would change the route, so they are refused.
 * @throws WardenError USAGE for "." or "..".
 */
function seg(value: string): string {
  if (value === '.' || value === '..') throw new WardenError('USAGE', `"${value}" is not a valid name`);
  return encodeURIComponent(value);
}

function searchParams(query: Record<string, string | number | undefined>): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query))
    if (value !== undefined && value !== '') params.set(key, String(value));
  return params.toString();
}
