import { createParser } from 'eventsource-parser';
import type { z } from 'zod';
import { WardenError } from '../errors.ts';
import type { WardenPaths } from '../paths.ts';
import { probeDaemon, readDaemonState } from '../daemon/state-file.ts';
import {
  approvalRequestSchema,
  controlEventSchema,
  explainSchema,
  orgSyncStatusSchema,
  policyStatusSchema,
  pinsSchema,
  rememberedRuleSchema,
  serverEntrySchema,
  statusSchema,
  type ApprovalAnswerBody,
  type ControlEvent,
} from './contract.ts';

/**
 * A typed client of the daemon's control API (contract.ts), for the CLI. Every response is
 * validated against the contract.
 */
export class ControlClient {
  readonly #base: string;
  readonly #token: string;

  private constructor(base: string, token: string) {
    this.#base = base;
    this.#token = token;
  }

  /**
   * Finds the running daemon through its state file.
   * @throws WardenError DAEMON_UNREACHABLE when no daemon answers.
   */
  static async connect(paths: WardenPaths): Promise<ControlClient> {
    const state = readDaemonState(paths.daemonStateFile);
    const health = await probeDaemon(state);
    if (!health || !state?.port) {
      throw new WardenError(
        'DAEMON_UNREACHABLE',
        'the Warden daemon is not running: start it with `mcp-warden serve`',
      );
    }
    return new ControlClient(`http://127.0.0.1:${state.port}/api/v1`, state.token);
  }

  status() {
    return this.#call('GET', '/status', statusSchema);
  }
  servers() {
    return this.#call('GET', '/servers', serverEntrySchema.array());
  }
  approveServer(name: string, identityHash: string) {
    return this.#call('POST', `/servers/${encodeURIComponent(name)}/approve`, undefined, { identityHash });
  }
  approvals() {
    return this.#call('GET', '/approvals', approvalRequestSchema.array());
  }
  answer(id: string, body: ApprovalAnswerBody) {
    return this.#call('POST', `/approvals/${encodeURIComponent(id)}`, undefined, body);
  }
  rules() {
    return this.#call('GET', '/rules', rememberedRuleSchema.array());
  }
  revokeRule(id: number) {
    return this.#call('DELETE', `/rules/${id}`);
  }
  pins() {
    return this.#call('GET', '/pins', pinsSchema);
  }
  approvePin(server: string, kind: string, name: string) {
    return this.#call(
      'POST',
      `/pins/${encodeURIComponent(server)}/${kind}/${encodeURIComponent(name)}/approve`,
    );
  }
  policyStatus() {
    return this.#call('GET', '/policy/status', policyStatusSchema);
  }
  syncPolicy() {
    return this.#call('POST', '/policy/sync', orgSyncStatusSchema);
  }
  explain(query: { server: string; tool: string; args?: string; annotations?: string }) {
    const params = new URLSearchParams(
      Object.entries(query).filter((e): e is [string, string] => e[1] !== undefined),
    );
    return this.#call('GET', `/policy/explain?${params.toString()}`, explainSchema);
  }

  /**
   * Follows the event stream until `signal` aborts. `onOpen` runs once the stream is connected
   * (list what is already pending there, so nothing falls between the list and the stream).
   */
  async events(
    onEvent: (event: ControlEvent) => void,
    signal: AbortSignal,
    onOpen?: () => Promise<void>,
  ): Promise<void> {
    const response = await fetch(`${this.#base}/events`, { headers: this.#headers(), signal });
    if (!response.ok || !response.body) {
      throw new WardenError('DAEMON_UNREACHABLE', `the event stream answered HTTP ${response.status}`);
    }
    await onOpen?.();
    const parser = createParser({
      onEvent: (event) => {
        const parsed = controlEventSchema.safeParse(JSON.parse(event.data));
        if (parsed.success) onEvent(parsed.data);
      },
    });
    const decoder = new TextDecoder();
    try {
      for await (const chunk of response.body as AsyncIterable<Uint8Array>)
        parser.feed(decoder.decode(chunk, { stream: true }));
    } catch (error) {
      if (!signal.aborted) throw error;
    }
  }

  #headers(): Record<string, string> {
    return { authorization: `Bearer ${this.#token}`, 'content-type': 'application/json' };
  }

  async #call<T = unknown>(method: string, path: string, schema?: z.ZodType<T>, body?: unknown): Promise<T> {
    const response = await fetch(`${this.#base}${path}`, {
      method,
      headers: this.#headers(),
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const payload = await response.json();
    if (!response.ok) {
      const error = (payload as { error?: { code?: string; message?: string } }).error;
      throw new WardenError(
        error?.code === 'NOT_FOUND' ? 'NOT_FOUND' : error?.code === 'CONFLICT' ? 'CONFLICT' : 'USAGE',
        error?.message ?? `HTTP ${response.status}`,
      );
    }
    return schema ? schema.parse(payload) : (payload as T);
  }
}
