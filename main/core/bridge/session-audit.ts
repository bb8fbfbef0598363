import type { CallToolResult } from '@modelcontextprotocol/server';
import type { AuditCallEnd, AuditCallStart } from '../audit/audit-log.ts';
import { describeError, WardenError } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { Exchange } from './exchanges.ts';
import type { CallAuditPort } from './session-ports.ts';

/**
 * A session's audit of `tools/call` over its CallAuditPort: durations on the session's clock,
 * the policy version on every row, and failures logged (a call that cannot be recorded before
 * it is forwarded is not forwarded: see beforeForward). What is recorded after the decision
 * (withdrawn, refusal, finish) returns a promise that settles once the row is committed (or
 * failed, logged): the session delivers the answer only then. It never rejects.
 */
export class SessionAudit {
  readonly #port: CallAuditPort;
  readonly #log: Logger;
  readonly #now: () => number;

  /** @param now the session's clock, ms. */
  constructor(port: CallAuditPort, log: Logger, now: () => number) {
    this.#port = port;
    this.#log = log;
    this.#now = now;
  }

  /** ms since `since` (the session's clock), to the microsecond. */
  elapsed(since: number): number {
    return Math.round((this.#now() - since) * 1000) / 1000;
  }

  /** The start row of a call received at `startedAt` (the session's clock), with the policy version. */
  start(startedAt: number, fields: Omit<AuditCallStart, 'startedAt' | 'policyVersion'>): AuditCallStart {
    const start: AuditCallStart = {
      // When the call was received (a held call is decided later).
      startedAt: Date.now() - (this.#now() - startedAt),
      ...fields,
    };
    const policyVersion = this.#port.policyVersion();
    if (policyVersion) start.policyVersion = policyVersion;
    return start;
  }

  /** Records a call withdrawn while held (the client cancelled or left): denied, then cancelled. */
  withdrawn(start: AuditCallStart, why: string, startedAt: number): Promise<void> {
    return this.#committed('audit log failed while recording a withdrawn call', async () => {
      const id = await this.#port.recordCall({ ...start, decision: 'deny', reason: why });
      return this.#port.recordOutcome(id, {
        outcome: 'cancelled',
        error: why,
        durationMs: this.elapsed(startedAt),
      });
    });
  }

  /** Records a refused call with the text the client is answered. */
  refusal(start: AuditCallStart, text: string, startedAt: number): Promise<void> {
    return this.#committed('audit log failed while recording a refusal', () =>
      this.#port.recordRefusal(start, text, this.elapsed(startedAt)),
    );
  }

  /**
   * Records an allowed call durably before it is forwarded.
   * @returns its row id, once the row is committed.
   * @throws (rejects) WardenError AUDIT_FAILED when the audit log cannot record it (the call is
   *   not forwarded).
   */
  async beforeForward(start: AuditCallStart): Promise<number> {
    try {
      return await this.#port.recordCall(start);
    } catch (error) {
      this.#log.error({ err: describeError(error) }, 'audit log failed; refusing the call');
      throw new WardenError(
        'AUDIT_FAILED',
        `the call was not forwarded because the audit log could not record it (${describeError(error)})`,
        { cause: error },
      );
    }
  }

  /**
   * Records the outcome of a forwarded call (once: the exchange forgets its row).
   * @returns undefined when the exchange has no row (nothing to wait for), else a promise that
   *   settles once the outcome is committed or failed (logged).
   */
  finish(exchange: Exchange, end: Omit<AuditCallEnd, 'durationMs'>): Promise<void> | undefined {
    const auditId = exchange.auditId;
    if (auditId === undefined) return undefined;
    delete exchange.auditId;
    const durationMs = this.elapsed(exchange.forwardedAt ?? exchange.startedAt);
    return this.#committed(
      'audit log failed to record an outcome',
      () => this.#port.recordOutcome(auditId, { ...end, durationMs }),
      { auditId },
    );
  }

  /** Runs a write of the port and settles once it is committed; a failure is logged, not thrown. */
  async #committed(failure: string, write: () => unknown, fields: object = {}): Promise<void> {
    try {
      await write();
    } catch (error) {
      this.#log.error({ err: describeError(error), ...fields }, failure);
    }
  }
}

/** The outcome of a forwarded call whose result arrived: a tool error with its first text, or ok. */
export function toolOutcome(result: CallToolResult): Omit<AuditCallEnd, 'durationMs'> {
  if (!result.isError) return { outcome: 'ok' };
  const item = result.content?.find((c) => c.type === 'text');
  return {
    outcome: 'tool_error',
    error: item && 'text' in item ? String(item.text).slice(0, 1000) : undefined,
  };
}
