/**
 * Why Warden refused a call, as one of a few fixed words: the label `reason` of
 * `mcp_warden_refusals_total`. A refusal's text names the rule and its source, which has no
 * bound; a metric label must have one (Prometheus, "Use labels": every value is a time series).
 */
export type RefusalReason =
  | 'policy'
  | 'tool_list'
  | 'pin'
  | 'limit'
  | 'approval_denied'
  | 'approval_timeout'
  | 'approval_withdrawn'
  | 'approval_error'
  | 'other';

/** Every value {@link refusalReason} gives, for documentation and tests. */
export const REFUSAL_REASONS: readonly RefusalReason[] = [
  'policy',
  'tool_list',
  'pin',
  'limit',
  'approval_denied',
  'approval_timeout',
  'approval_withdrawn',
  'approval_error',
  'other',
];

/** The guard step names (GuardDecision.by) that are not a policy rule, by their prefix. */
const BY_PREFIX: ReadonlyArray<readonly [string, RefusalReason]> = [
  ['config tool lists', 'tool_list'],
  ['tool pins', 'pin'],
  ['limits', 'limit'],
  ['approval timeout', 'approval_timeout'],
  ['approval withdrawn', 'approval_withdrawn'],
  ['person via ', 'approval_denied'],
  ['approval', 'approval_error'],
];

/** The policy sources a rule text starts with (policy/engine.ts, label). */
const POLICY_SOURCES = ['managed policy', 'org policy', 'user config', 'built-in defaults'];

/**
 * The reason of a refused call from the audit row's `reason` (`"<by>: <reason>"`, see
 * session-tool-call.ts), or `other` when it names no known step or policy source.
 */
export function refusalReason(reason: string | undefined): RefusalReason {
  if (reason === undefined) return 'other';
  for (const [prefix, word] of BY_PREFIX) if (reason.startsWith(prefix)) return word;
  return POLICY_SOURCES.some((source) => reason.startsWith(source)) ? 'policy' : 'other';
}
