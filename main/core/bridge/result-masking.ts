import type { JSONRPCMessage } from '@modelcontextprotocol/server';
import { scanJson, type ScanOptions, type ScanResult } from '../audit/content-scanner.ts';
import type { ResultSecretsAction } from '../config/policy-schema.ts';
import { describeError, WardenError } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { ResultSecretsDecision } from '../policy/result-secrets.ts';
import { errorResponseFor } from './jsonrpc.ts';

/**
 * What results masking needs of the running Warden (runtime/session-wiring.ts): the action in
 * force for the session's server (policy/result-secrets.ts: most restrictive source wins) and
 * the exact secret values Warden injected into that server (its `${secret:…}` references in
 * env, args, url and headers, resolved from the keychain).
 */
export interface ResultMaskingPort {
  /** The action in force now (read on every message, so a policy change applies at once). */
  decision(): ResultSecretsDecision;
  /**
   * [name, value] of each secret injected into the server (a name may come with its earlier
   * values too: a running process keeps the value it started with). Rejects when they cannot be read.
   */
  injected(): Promise<Iterable<readonly [string, string]>>;
  /** The content scanner (default: scanJson; tests replace it). */
  scan?: (value: unknown, options: ScanOptions) => Promise<ScanResult>;
}

/** A message from the upstream once screened. */
export interface Screened {
  /** What goes on to the client; undefined: nothing (a blocked notification or server request). */
  message: JSONRPCMessage | undefined;
  /** What was found: the rules (never the values) and what was done. Absent when nothing was. */
  secrets?: { rules: string[]; action: ResultSecretsAction };
}

/** Responses to these requests carry what the server produced for the model. */
const SCREENED_RESULTS = new Set(['tools/call', 'resources/read', 'prompts/get', 'completion/complete']);
/** Requests of the server whose params reach the person or the model. */
const SCREENED_REQUESTS = new Set(['elicitation/create', 'sampling/createMessage']);
/** Notifications of the server whose params reach the client. */
const SCREENED_NOTIFICATIONS = new Set(['notifications/message', 'notifications/progress']);

/**
 * Results masking (issue 14 item 7): every tool result, resource contents, prompt messages,
 * completion, error answer, elicitation and sampling request, log and progress message a
 * server sends toward the client is scanned with the audit log's rules (content-scanner.ts,
 * without key names) plus the exact values of the secrets Warden injected into that server.
 * A match is handled by the action in force:
 * - `mask`: each secret replaced by `[REDACTED:<rule>]` before the client sees it;
 * - `block`: a tool result becomes an `isError` result naming the rules; another answer a
 *   JSON-RPC error naming them; a server request is answered upstream with that error and not
 *   delivered; a notification is dropped;
 * - `allow`: delivered as it is.
 * Every match is logged with the method and rule names, never the values; a tools/call's audit
 * row gets them through {@link Screened.secrets}. A scan that fails blocks (fail closed).
 */
export class ResultMasking {
  readonly #port: ResultMaskingPort;
  readonly #log: Logger;
  readonly #replyUpstream: (message: JSONRPCMessage) => void;

  /** @param replyUpstream sends Warden's answer to a blocked server request upstream. */
  constructor(port: ResultMaskingPort, log: Logger, replyUpstream: (message: JSONRPCMessage) => void) {
    this.#port = port;
    this.#log = log;
    this.#replyUpstream = replyUpstream;
  }

  /**
   * Screens one message from the upstream.
   * @param requestMethod for a response, the method of the request it answers.
   * @returns undefined when the message is not of a kind screened (it goes on at once), else a
   *   promise of what goes on; never rejects.
   */
  screen(message: JSONRPCMessage, requestMethod: string | undefined): Promise<Screened> | undefined {
    const record = message as Record<string, unknown>;
    if ('method' in record) {
      const method = String(record.method);
      const kinds = 'id' in record ? SCREENED_REQUESTS : SCREENED_NOTIFICATIONS;
      if (!kinds.has(method) || record.params === undefined) return undefined;
      return this.#screen(message, method, 'params');
    }
    if ('error' in record) return this.#screen(message, requestMethod ?? 'a request', 'error');
    if (requestMethod === undefined || !SCREENED_RESULTS.has(requestMethod)) return undefined;
    return this.#screen(message, requestMethod, 'result');
  }

  async #screen(
    message: JSONRPCMessage,
    method: string,
    member: 'params' | 'error' | 'result',
  ): Promise<Screened> {
    const record = message as Record<string, unknown>;
    let scanned: ScanResult;
    let decision: ResultSecretsDecision;
    try {
      decision = this.#port.decision();
      const exactValues = await this.#port.injected();
      scanned = await (this.#port.scan ?? scanJson)(record[member], { exactValues, pii: false });
    } catch (error) {
      this.#log.error(
        { err: describeError(error), method },
        'could not scan for secrets; blocked (fail closed)',
      );
      return this.#blocked(
        message,
        method,
        member,
        [],
        `it could not be scanned for secrets (${describeError(error)})`,
      );
    }
    if (!scanned.sensitiveDataDetected) return { message };
    const rules = scanned.rules;
    const action = decision.action;
    this.#log.warn(
      { method, rules, action, by: decision.by },
      `a secret in ${method} from the server: ${action === 'mask' ? 'masked' : action === 'block' ? 'blocked' : 'allowed'}`,
    );
    if (action === 'allow') return { message, secrets: { rules, action } };
    if (action === 'block') {
      return this.#blocked(message, method, member, rules, `it held a secret (${rules.join(', ')})`);
    }
    return { message: { ...record, [member]: scanned.value } as JSONRPCMessage, secrets: { rules, action } };
  }

  /** What replaces a blocked message (see the class). */
  #blocked(
    message: JSONRPCMessage,
    method: string,
    member: 'params' | 'error' | 'result',
    rules: string[],
    why: string,
  ): Screened {
    const record = message as Record<string, unknown>;
    const text = `MCP Warden blocked this ${method} ${member === 'params' ? 'request' : 'answer'} of the server: ${why}.`;
    const secrets = { rules: rules.length ? rules : ['scan-failed'], action: 'block' as const };
    const id = record.id as string | number | undefined;
    if (member === 'result' && method === 'tools/call') {
      return {
        message: {
          jsonrpc: '2.0',
          id,
          result: { content: [{ type: 'text', text }], isError: true },
        } as JSONRPCMessage,
        secrets,
      };
    }
    const refusal = new WardenError('REFUSED', text);
    if (member === 'params') {
      if (id !== undefined) this.#replyUpstream(errorResponseFor(id, refusal));
      return { message: undefined, secrets };
    }
    return { message: errorResponseFor(id ?? null, refusal), secrets };
  }
}
