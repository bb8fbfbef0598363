/**
 * A WardenApi that records every call, and the control API's shapes to answer with, for the app's
 * tests.
 */
import type {
  ApprovalRequest,
  ControlEvent,
  ServerEntry,
  StatusResponse,
} from '../../main/core/control/contract.ts';
import { WARDEN_API_METHODS, type WardenApi } from '../../main/core/control/warden-api.ts';
import { WardenError } from '../../main/core/errors.ts';

/** A server as the control API lists it. */
export function server(name: string, extra: Partial<ServerEntry> = {}): ServerEntry {
  return {
    name,
    kind: 'stdio',
    target: `node ${name}.js`,
    envKeys: [],
    identityHash: 'a'.repeat(64),
    allowed: true,
    trusted: false,
    sessions: 0,
    breaker: 'closed',
    ...extra,
  };
}

/** A daemon status with three servers (one in use, one not allowed). */
export function status(extra: Partial<StatusResponse> = {}): StatusResponse {
  return {
    version: '0.1.0',
    pid: 1,
    config: '/c.json',
    servers: [
      server('everything', { sessions: 2 }),
      server('filesystem'),
      server('github', { allowed: false }),
    ],
    pendingApprovals: 0,
    paused: false,
    policyVersion: null,
    eventLoop: {
      measuring: false,
      resolutionMs: 1,
      windowMs: 0,
      samples: 0,
      p50Ms: null,
      p99Ms: null,
      p999Ms: null,
      maxMs: null,
      utilization: null,
    },
    ...extra,
  };
}

/** A held call waiting for a person. */
export function approval(id: string, extra: Partial<ApprovalRequest> = {}): ApprovalRequest {
  return {
    id,
    createdAt: new Date(0).toISOString(),
    expiresAt: new Date(Date.now() + 60_000).toISOString(),
    sessionId: 's1',
    client: { name: 'claude-ai', version: '1.0' },
    server: 'filesystem',
    tool: 'write_file',
    arguments: { path: '/tmp/x' },
    rule: { source: 'user', text: 'ask write_file' },
    choices: ['deny', 'allow-once'],
    argumentsHash: 'b'.repeat(64),
    ...extra,
  };
}

/**
 * A WardenApi that records every call and answers from `state`. The methods written out below
 * answer from `state` or with a shape a page reads; every other operation of the table
 * (WARDEN_API_METHODS) is recorded and answers `{ ok: true }`, so a new operation needs no change
 * here. (The interface merged with the class declares those generated methods.)
 */
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging, @typescript-eslint/no-empty-object-type -- the constructor adds the rest of WardenApi
export interface FakeApi extends WardenApi {}
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging -- see the interface above
export class FakeApi {
  calls: { method: string; args: unknown[] }[] = [];
  state = { status: status(), pending: [] as ApprovalRequest[], fail: false };
  onEvent: ((event: ControlEvent) => void) | null = null;
  onOpen: (() => void) | null = null;
  unsubscribed = false;

  constructor() {
    const self = this as unknown as Record<string, unknown>;
    for (const name of WARDEN_API_METHODS)
      if (typeof self[name] !== 'function')
        self[name] = (...args: unknown[]) => this.#record(name, args, { ok: true });
  }

  #record(method: string, args: unknown[], value: unknown): Promise<never> {
    this.calls.push({ method, args });
    if (this.state.fail)
      return Promise.reject(new WardenError('DAEMON_UNREACHABLE', 'the daemon did not answer'));
    return Promise.resolve(value as never);
  }
  called(method: string): unknown[][] {
    return this.calls.filter((c) => c.method === method).map((c) => c.args);
  }
  status() {
    return this.#record('status', [], this.state.status);
  }
  servers() {
    return this.#record('servers', [], this.state.status.servers);
  }
  pause() {
    this.state.status = { ...this.state.status, paused: true };
    return this.#record('pause', [], { ok: true });
  }
  resume() {
    this.state.status = { ...this.state.status, paused: false };
    return this.#record('resume', [], { ok: true });
  }
  approvals() {
    return this.#record('approvals', [], this.state.pending);
  }
  rules() {
    return this.#record('rules', [], []);
  }
  pins() {
    return this.#record('pins', [], { pins: [], reviews: [], shadows: [] });
  }
  policyStatus() {
    return this.#record('policyStatus', [], { sources: [], org: null });
  }
  effectivePolicy() {
    return this.#record('effectivePolicy', [], { rules: [], locked: [] });
  }
  syncPolicy() {
    return this.#record('syncPolicy', [], {});
  }
  explain(...args: unknown[]) {
    return this.#record('explain', args, {});
  }
  audit(...args: unknown[]) {
    return this.#record('audit', args, { records: [], total: 0 });
  }
  exportAudit(...args: unknown[]) {
    return this.#record('exportAudit', args, '');
  }
  clients() {
    return this.#record('clients', [], []);
  }
  previewProtect(...args: unknown[]) {
    return this.#record('previewProtect', args, {});
  }
  protect(...args: unknown[]) {
    return this.#record('protect', args, {});
  }
  restore(...args: unknown[]) {
    return this.#record('restore', args, {});
  }
  secrets() {
    return this.#record('secrets', [], []);
  }
  subscribe(onEvent: (event: ControlEvent) => void, onOpen?: () => void): () => void {
    this.onEvent = onEvent;
    this.onOpen = onOpen ?? null;
    return () => {
      this.unsubscribed = true;
    };
  }
}

/** Lets queued promise callbacks run. */
export const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
