import picomatch from 'picomatch';
import type { ServerConfig } from '../config/schema.ts';
import { allConditionsHold, CallPaths, hostPathResolver } from './conditions.ts';
import { describeIdentity, type ServerIdentity } from './identity.ts';
import { nameGlob } from './name-glob.ts';
import type { PathResolver } from './real-path.ts';
import {
  SOURCE_RANK,
  type ArgumentCondition,
  type LimitRule,
  type LockableSetting,
  type PolicySource,
  type Remembrance,
  type ServerRule,
  type ToolRule,
} from '../config/policy-schema.ts';

/** A limit rule and the policy source it came from. */
export interface SourcedLimit {
  rule: LimitRule;
  /** For messages and the quota scope, e.g. "managed policy /etc/mcp-warden/managed-policy.json". */
  source: string;
}

/** Default time a held call waits for a person, ms (120 s). */
export const DEFAULT_APPROVAL_TIMEOUT_MS = 120_000;

/** Which rule of which source decided, for `policy explain`, audit rows and refusals. */
export interface RuleRef {
  /** e.g. "managed policy /etc/mcp-warden/managed-policy.json", "built-in defaults". */
  source: string;
  kind: PolicySource['kind'] | 'remembered';
  /** Index of the rule in its source's list (-1 for built-in defaults). */
  index: number;
  /** The rule in words, e.g. `ask for tool "write_*" of server "filesystem"`. */
  text: string;
}

export type ToolVerdict =
  | { action: 'allow'; by: RuleRef }
  | { action: 'deny'; by: RuleRef; reason: string }
  | { action: 'ask'; by: RuleRef; remember: Remembrance };

export type ServerVerdict =
  | { action: 'allow'; by: RuleRef; trusted: boolean }
  | { action: 'deny'; by: RuleRef; reason: string }
  | { action: 'unlisted'; trusted: false };

/** A remembered "allow" a person gave (for this session, or always). */
export interface RememberedGrant {
  id: string;
  server: string;
  tool: string;
  conditions?: ArgumentCondition[];
  scope: 'session' | 'always';
}

/** What the engine needs to know about a `tools/call`. */
export interface ToolQuestion {
  server: string;
  tool: string;
  arguments: unknown;
  /** The tool's annotations from the server's tools/list, if known. */
  annotations?: { readOnlyHint?: boolean; destructiveHint?: boolean; [hint: string]: unknown } | undefined;
  /** Whether server policy trusts this server's annotations. */
  trusted: boolean;
  remembered: readonly RememberedGrant[];
}

const REMEMBER_ORDER: Remembrance[] = ['never', 'session', 'always'];

const DEFAULTS: RuleRef = { source: 'built-in defaults', kind: 'defaults', index: -1, text: '' };

/**
 * Combines policy sources (managed > org > user > built-in defaults) into decisions.
 *
 * Tool calls: a matching deny rule of any source denies. Otherwise a matching ask rule of any
 * source asks (a remembered approval satisfies it when every matching ask rule permits
 * remembering that long). Otherwise a matching allow rule allows. With no matching rule, the
 * built-in defaults apply: a tool annotated `readOnlyHint: true` (and not destructive) of a
 * server that policy marks trusted is allowed; everything else asks. Annotations come from an
 * untrusted server, so for untrusted servers they never loosen a decision.
 *
 * Servers: a matching deny server rule refuses; a matching allow rule admits (and may mark the
 * server trusted); otherwise the server is "unlisted" and needs a person's approval of its
 * exact identity (see ServerGate).
 */
export class PolicyEngine {
  readonly sources: readonly PolicySource[];
  /** Settings the managed policy locked (only the managed source can lock), with its label. */
  readonly locks: ReadonlyMap<LockableSetting, string>;
  readonly #matchers = new Map<string, (s: string) => boolean>();
  readonly #nameMatchers = new Map<string, (s: string) => boolean>();
  readonly #paths: PathResolver;

  /** @param options.paths how path arguments are resolved (default: this OS, node:fs). */
  constructor(sources: PolicySource[], options: { paths?: PathResolver } = {}) {
    this.#paths = options.paths ?? hostPathResolver;
    this.sources = [...sources].sort((a, b) => SOURCE_RANK[a.kind] - SOURCE_RANK[b.kind]);
    this.locks = new Map(
      this.sources
        .filter((s) => s.kind === 'managed')
        .flatMap((s) => (s.document.lock ?? []).map((setting) => [setting, label(s)] as const)),
    );
  }

  /** Whether the managed policy locked `setting` (see lockableSettingSchema). */
  locked(setting: LockableSetting): boolean {
    return this.locks.has(setting);
  }

  /** Whether a locked setting makes this rule of this source ineffective. */
  #lockedOut(source: PolicySource, action: string, setting: LockableSetting): boolean {
    return source.kind === 'user' && action === 'allow' && this.locked(setting);
  }

  /** How long a held call waits for a person, ms: the lowest value any source sets. */
  get approvalTimeoutMs(): number {
    const values = this.sources.map((s) => s.document.approvalTimeoutSeconds).filter((v) => v !== undefined);
    return values.length ? Math.min(...values) * 1000 : DEFAULT_APPROVAL_TIMEOUT_MS;
  }

  /** Every limit rule of every source (all apply at once). */
  limits(): SourcedLimit[] {
    return this.sources.flatMap((s) => (s.document.limits ?? []).map((rule) => ({ rule, source: label(s) })));
  }

  /** The verdict on a server's identity; `binaryHash` is needed only by rules with sha256. */
  decideServer(identity: ServerIdentity, binaryHash?: () => string | undefined): ServerVerdict {
    let allow: { ref: RuleRef; trusted: boolean } | undefined;
    for (const source of this.sources) {
      for (const [index, rule] of (source.document.servers ?? []).entries()) {
        if (!this.#serverRuleMatches(rule, identity, binaryHash)) continue;
        if (this.#lockedOut(source, rule.action, 'serverApprovals')) continue;
        const ref: RuleRef = {
          source: label(source),
          kind: source.kind,
          index,
          text: describeServerRule(rule),
        };
        if (rule.action === 'deny') {
          return {
            action: 'deny',
            by: ref,
            reason: `${describeIdentity(identity)} is denied by ${ref.source} (rule ${index + 1}: ${ref.text})`,
          };
        }
        allow ??= { ref, trusted: rule.trusted === true };
      }
    }
    return allow
      ? { action: 'allow', by: allow.ref, trusted: allow.trusted }
      : { action: 'unlisted', trusted: false };
  }

  /**
   * The verdict on one `tools/call` (see the class doc). Path conditions of allow rules and
   * remembered approvals hold only for paths that resolve, those of deny and ask rules also for
   * paths that do not (see ConditionMode); each path is resolved once, and only if a path
   * condition is reached.
   */
  decideTool(q: ToolQuestion): ToolVerdict {
    const paths = new CallPaths(this.#paths);
    const asks: { ref: RuleRef; remember: Remembrance }[] = [];
    let allow: RuleRef | undefined;
    for (const source of this.sources) {
      for (const [index, rule] of (source.document.rules ?? []).entries()) {
        if (!this.#nameGlob(rule.server)(q.server) || !this.#nameGlob(rule.tool)(q.tool)) continue;
        if (!allConditionsHold(q.arguments, rule.when, rule.action === 'allow' ? 'allow' : 'restrict', paths))
          continue;
        // Annotations come from the server: they may put a tool into a class that asks or is
        // denied, but they select tools for an allow rule only when policy trusts the server.
        if (
          rule.annotations &&
          ((rule.action === 'allow' && !q.trusted) || !inAnnotationClass(q.annotations, rule.annotations))
        )
          continue;
        if (this.#lockedOut(source, rule.action, 'userAllowRules')) continue;
        const ref: RuleRef = {
          source: label(source),
          kind: source.kind,
          index,
          text: describeToolRule(rule),
        };
        if (rule.action === 'deny') {
          return {
            action: 'deny',
            by: ref,
            reason: rule.reason ?? `${ref.source} denies it (rule ${index + 1}: ${ref.text})`,
          };
        }
        if (rule.action === 'ask') asks.push({ ref, remember: rule.remember ?? 'always' });
        else allow ??= ref;
      }
    }
    if (asks.length) {
      const remember = asks
        .map((a) => a.remember)
        .reduce((a, b) => (REMEMBER_ORDER.indexOf(a) <= REMEMBER_ORDER.indexOf(b) ? a : b));
      return this.#askOrRemembered(q, asks[0]!.ref, remember, paths);
    }
    if (allow) return { action: 'allow', by: allow };
    const ann = q.annotations;
    if (q.trusted && ann?.readOnlyHint === true && ann.destructiveHint !== true) {
      return {
        action: 'allow',
        by: { ...DEFAULTS, text: 'read-only tools (readOnlyHint) of trusted servers are allowed' },
      };
    }
    const why =
      !q.trusted && ann?.readOnlyHint === true
        ? 'tools ask for approval; readOnlyHint is not trusted from a server that policy does not mark trusted'
        : 'tools that are not annotated read-only ask for approval';
    return this.#askOrRemembered(q, { ...DEFAULTS, text: why }, 'always', paths);
  }

  #askOrRemembered(q: ToolQuestion, ref: RuleRef, rememberAsked: Remembrance, paths: CallPaths): ToolVerdict {
    const remember = rememberAsked === 'always' && this.locked('alwaysAllow') ? 'session' : rememberAsked;
    if (remember !== 'never') {
      for (const grant of q.remembered) {
        if (grant.scope === 'always' && remember !== 'always') continue;
        // A grant names the exact server and tool a person approved: never read as a glob, so
        // approving tool "*" of a server named "*" allows that tool of that server only.
        if (grant.server !== q.server || grant.tool !== q.tool) continue;
        if (!allConditionsHold(q.arguments, grant.conditions, 'grant', paths)) continue;
        return {
          action: 'allow',
          by: {
            source:
              grant.scope === 'always' ? `remembered approval #${grant.id}` : 'approval for this session',
            kind: 'remembered',
            index: -1,
            text: describeGrant(grant),
          },
        };
      }
    }
    return { action: 'ask', by: ref, remember };
  }

  #serverRuleMatches(
    rule: ServerRule,
    identity: ServerIdentity,
    binaryHash?: () => string | undefined,
  ): boolean {
    if (identity.kind === 'http') {
      return (
        rule.url !== undefined &&
        rule.command === undefined &&
        rule.package === undefined &&
        this.#glob(rule.url)(identity.url)
      );
    }
    if (rule.url !== undefined) return false;
    if (
      rule.package !== undefined &&
      (identity.package === undefined || !this.#glob(rule.package)(identity.package))
    )
      return false;
    if (rule.command !== undefined && !this.#glob(rule.command)(identity.command)) return false;
    if (rule.args !== undefined) {
      if (rule.args.length !== identity.args.length) return false;
      if (!rule.args.every((glob, i) => this.#glob(glob)(identity.args[i]!))) return false;
    }
    if (rule.sha256 !== undefined && binaryHash?.() !== rule.sha256) return false;
    return true;
  }

  /** A glob over a server or tool name (see name-glob.ts: "/" is an ordinary character). */
  #nameGlob(glob: string): (s: string) => boolean {
    let matcher = this.#nameMatchers.get(glob);
    if (!matcher) {
      matcher = nameGlob(glob);
      this.#nameMatchers.set(glob, matcher);
    }
    return matcher;
  }

  /** A glob over a command, argument, package or URL (picomatch: path semantics). */
  #glob(glob: string): (s: string) => boolean {
    let matcher = this.#matchers.get(glob);
    if (!matcher) {
      matcher = picomatch(glob, { dot: true });
      this.#matchers.set(glob, matcher);
    }
    return matcher;
  }
}

/** A rule and its source in one phrase, for refusals, audit rows and `policy explain`. */
export function ruleText(ref: RuleRef): string {
  return ref.index >= 0
    ? `${ref.source} (rule ${ref.index + 1}: ${ref.text})`
    : `${ref.source}${ref.text ? `: ${ref.text}` : ''}`;
}

/** "managed policy /etc/…", "user config /home/…/config.json". */
export function label(source: PolicySource): string {
  const names: Record<PolicySource['kind'], string> = {
    managed: 'managed policy',
    org: 'org policy',
    user: 'user config',
    defaults: 'built-in defaults',
  };
  return `${names[source.kind]} ${source.origin}`.trim();
}

function describeConditions(conditions: readonly ArgumentCondition[] | undefined): string {
  if (!conditions?.length) return '';
  return (
    ' when ' +
    conditions
      .map((c) => `${c.pointer} ${c.glob !== undefined ? `matches ${c.glob}` : `~ /${c.regex}/`}`)
      .join(' and ')
  );
}

export function describeToolRule(rule: ToolRule): string {
  const annotations = rule.annotations
    ? ` annotated ${Object.entries(rule.annotations)
        .map(([hint, value]) => `${hint}: ${String(value)}`)
        .join(', ')}`
    : '';
  return `${rule.action} tool "${rule.tool}"${annotations} of server "${rule.server}"${describeConditions(rule.when)}`;
}

/** MCP's defaults for a hint a tool does not set (2025-11-25, server/tools, ToolAnnotations). */
const HINT_DEFAULTS: Record<string, boolean> = {
  readOnlyHint: false,
  destructiveHint: true,
  idempotentHint: false,
  openWorldHint: true,
};

/** Whether a tool's annotations (unknown: all defaults) have every value the class names. */
export function inAnnotationClass(
  annotations: Record<string, unknown> | undefined,
  wanted: Record<string, boolean | undefined>,
): boolean {
  return Object.entries(wanted).every(([hint, value]) => {
    if (value === undefined) return true;
    const given = annotations?.[hint];
    return (typeof given === 'boolean' ? given : HINT_DEFAULTS[hint]) === value;
  });
}

export function describeGrant(grant: Omit<RememberedGrant, 'id'>): string {
  return `allow tool "${grant.tool}" of server "${grant.server}"${describeConditions(grant.conditions)}`;
}

/** A server rule in words, for refusals, `policy explain` and the effective policy. */
export function describeServerRule(rule: ServerRule): string {
  const parts = [
    rule.package !== undefined ? `package ${rule.package}` : '',
    rule.command !== undefined ? `command ${rule.command}` : '',
    rule.args !== undefined ? `args ${JSON.stringify(rule.args)}` : '',
    rule.url !== undefined ? `url ${rule.url}` : '',
    rule.sha256 !== undefined ? `sha256 ${rule.sha256.slice(0, 12)}…` : '',
  ].filter(Boolean);
  return `${rule.action} ${parts.join(', ')}${rule.trusted ? ' (trusted)' : ''}`;
}

export type { ServerConfig };
