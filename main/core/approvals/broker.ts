import { createHash, randomUUID } from 'node:crypto';
import canonicalize from 'canonicalize';
import { WardenError } from '../errors.ts';
import { hostPathResolver, pinPathConditions } from '../policy/conditions.ts';
import type { PathResolver } from '../policy/real-path.ts';
import type { ArgumentCondition, Remembrance } from '../config/policy-schema.ts';

/** The answers a person may give; which ones are offered depends on the rule that asked. */
export type ApprovalChoice = 'deny' | 'allow-once' | 'allow-session' | 'allow-always';

/** Choices permitted when a rule allows remembering up to `remember`. */
export function choicesFor(remember: Remembrance): ApprovalChoice[] {
  if (remember === 'never') return ['deny', 'allow-once'];
  if (remember === 'session') return ['deny', 'allow-once', 'allow-session'];
  return ['deny', 'allow-once', 'allow-session', 'allow-always'];
}

/** A call held for a person's decision, as every approval channel shows it. */
export interface ApprovalRequest {
  id: string;
  /** ISO 8601 times. */
  createdAt: string;
  expiresAt: string;
  sessionId: string;
  client: { name?: string; version?: string };
  server: string;
  tool: string;
  /** The full arguments, as the client sent them. */
  arguments: Record<string, unknown> | undefined;
  /** The tool's annotations from the server (hints, not guarantees). */
  annotations?: Record<string, unknown> | undefined;
  /** The rule that asked, and its source. */
  rule: { source: string; text: string };
  choices: ApprovalChoice[];
  /** sha256 of the canonical arguments: an answer must name it (it approves exactly these). */
  argumentsHash: string;
}

/**
 * A person's answer. `conditions` narrows an "allow-always" to matching arguments; in the
 * outcome, the directories of their path globs are real paths (see pinPathConditions).
 */
export interface ApprovalAnswer {
  choice: ApprovalChoice;
  /** Which arguments hash the person saw; must equal the request's. */
  argumentsHash: string;
  /** Who answered, for the audit log: "cli", "control-api", "popup", … */
  by: string;
  conditions?: ArgumentCondition[];
  reason?: string;
}

export type ApprovalOutcome =
  | { kind: 'answered'; answer: ApprovalAnswer }
  | { kind: 'timeout'; afterMs: number }
  | { kind: 'withdrawn'; reason: string };

export type ApprovalEvent =
  | { type: 'requested'; request: ApprovalRequest }
  | { type: 'resolved'; id: string; outcome: ApprovalOutcome };

interface Held {
  request: ApprovalRequest;
  resolve: (outcome: ApprovalOutcome) => void;
}

/** sha256 (hex) of arguments in RFC 8785 canonical JSON (key order never matters). */
export function argumentsHash(args: unknown): string {
  return createHash('sha256')
    .update(canonicalize(args ?? null) ?? 'null')
    .digest('hex');
}

/**
 * Holds calls that need a person's approval and hands each request to every attached channel
 * (subscribers: the CLI's `approvals watch`, the popup, the dashboard). The first valid answer
 * wins; the others see the request resolved. A request that nobody answers within its timeout
 * resolves as `timeout` (the caller denies: fail closed); one whose caller goes away (the client
 * cancelled or disconnected) is withdrawn.
 */
export class ApprovalBroker {
  readonly #held = new Map<string, Held>();
  readonly #listeners = new Set<(event: ApprovalEvent) => void>();
  readonly #paths: PathResolver;

  /** @param options.paths how the directories of an answer's path conditions are resolved. */
  constructor(options: { paths?: PathResolver } = {}) {
    this.#paths = options.paths ?? hostPathResolver;
  }

  /** Pending requests, oldest first. */
  list(): ApprovalRequest[] {
    return [...this.#held.values()].map((h) => h.request);
  }

  get(id: string): ApprovalRequest | undefined {
    return this.#held.get(id)?.request;
  }

  /** Subscribes to requests and resolutions; returns the unsubscribe function. */
  subscribe(listener: (event: ApprovalEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * Holds a call until a person answers, the timeout passes, or `signal` aborts.
   * @param timeoutMs how long to wait, ms.
   */
  request(
    details: Omit<ApprovalRequest, 'id' | 'createdAt' | 'expiresAt' | 'argumentsHash'>,
    options: { timeoutMs: number; signal?: AbortSignal },
  ): Promise<ApprovalOutcome> {
    const now = Date.now();
    const request: ApprovalRequest = {
      ...details,
      id: randomUUID(),
      createdAt: new Date(now).toISOString(),
      expiresAt: new Date(now + options.timeoutMs).toISOString(),
      argumentsHash: argumentsHash(details.arguments),
    };
    return new Promise<ApprovalOutcome>((resolve) => {
      const finish = (outcome: ApprovalOutcome): void => {
        if (!this.#held.delete(request.id)) return;
        clearTimeout(timer);
        options.signal?.removeEventListener('abort', onAbort);
        resolve(outcome);
        this.#emit({ type: 'resolved', id: request.id, outcome });
      };
      const timer = setTimeout(
        () => finish({ kind: 'timeout', afterMs: options.timeoutMs }),
        options.timeoutMs,
      );
      const onAbort = (): void =>
        finish({ kind: 'withdrawn', reason: String(options.signal?.reason ?? 'the client went away') });
      this.#held.set(request.id, { request, resolve: finish });
      if (options.signal?.aborted) {
        onAbort();
        return;
      }
      options.signal?.addEventListener('abort', onAbort, { once: true });
      this.#emit({ type: 'requested', request });
    });
  }

  /**
   * Answers a held request.
   * The directory of each path condition is resolved now, as it is stored (pinPathConditions).
   * @throws WardenError NOT_FOUND when no request has this id (answered, expired or withdrawn),
   *   CONFLICT when the choice is not offered or the arguments hash is not the request's, USAGE
   *   when a condition's directory cannot be resolved. The request stays pending on any error.
   */
  answer(id: string, answer: ApprovalAnswer): ApprovalRequest {
    const held = this.#held.get(id);
    if (!held)
      throw new WardenError('NOT_FOUND', `no pending approval ${id}: it was answered, expired or withdrawn`);
    const { request } = held;
    if (!request.choices.includes(answer.choice)) {
      throw new WardenError(
        'CONFLICT',
        `"${answer.choice}" is not offered for approval ${id} (offered: ${request.choices.join(', ')})`,
      );
    }
    if (answer.argumentsHash !== request.argumentsHash) {
      throw new WardenError(
        'CONFLICT',
        `approval ${id} is for other arguments than the ones answered (arguments hash mismatch)`,
      );
    }
    if (answer.conditions?.length && answer.choice !== 'allow-always') {
      throw new WardenError('CONFLICT', 'argument conditions apply to "allow-always" only');
    }
    const conditions = answer.conditions?.length
      ? pinPathConditions(answer.conditions, this.#paths)
      : undefined;
    held.resolve({ kind: 'answered', answer: { ...answer, ...(conditions ? { conditions } : {}) } });
    return request;
  }

  /** Withdraws every request (shutdown). */
  withdrawAll(reason: string): void {
    for (const held of [...this.#held.values()]) held.resolve({ kind: 'withdrawn', reason });
  }

  #emit(event: ApprovalEvent): void {
    for (const listener of this.#listeners) {
      try {
        listener(event);
      } catch {
        // a broken channel must not affect the others
      }
    }
  }
}
