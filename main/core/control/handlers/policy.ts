import { sandboxReport } from '../../sandbox/sandbox-policy.ts';
import { WardenError } from '../../errors.ts';
import { describeServerRule, describeToolRule, label, ruleText } from '../../policy/engine.ts';
import { serverIdentity } from '../../policy/identity.ts';
import type { CatalogItem, EffectivePolicy, ExplainResponse } from '../contract.ts';
import type { ControlHandlers } from '../invoke.ts';
import type { OperationInput } from '../operations.ts';
import type { DaemonContext } from './context.ts';

type PolicyHandlers = Pick<
  ControlHandlers,
  'policyStatus' | 'effectivePolicy' | 'syncPolicy' | 'explain' | 'catalog'
>;

/** The policy in force: sources, org sync, every rule, a decision explained, the org catalog. */
export function policyHandlers({ core }: DaemonContext): PolicyHandlers {
  return {
    policyStatus: () => ({
      sources: core.engine.sources.map((s) => ({ kind: s.kind, origin: s.origin })),
      org: core.orgSync?.status() ?? null,
    }),
    syncPolicy: async () => {
      if (!core.orgSync) throw new WardenError('NOT_FOUND', 'the managed policy names no org policy to sync');
      await core.orgSync.syncNow();
      return core.orgSync.status();
    },
    explain: (input) => explain(core, input),
    effectivePolicy: () => effectivePolicy(core),
    catalog: () => catalog(core),
  };
}

function catalog(core: DaemonContext['core']): CatalogItem[] {
  const from = core.policyVersion() ?? 'org policy';
  return (core.orgSync?.catalog() ?? []).map((entry) => {
    const configured = core.config.servers.get(entry.name);
    return {
      ...entry,
      target: entry.url ?? [entry.command, ...(entry.args ?? [])].join(' '),
      from,
      configured: configured !== undefined && core.catalogEntry(serverIdentity(configured)) === entry.name,
    };
  });
}

function effectivePolicy(core: DaemonContext['core']): EffectivePolicy {
  const rules: EffectivePolicy['rules'] = [];
  for (const source of core.engine.sources) {
    const origin = label(source);
    for (const rule of source.document.servers ?? [])
      rules.push({
        source: source.kind,
        origin,
        kind: 'server',
        action: rule.action,
        text: describeServerRule(rule),
      });
    for (const rule of source.document.rules ?? [])
      rules.push({
        source: source.kind,
        origin,
        kind: 'tool',
        action: rule.action,
        text: `${describeToolRule(rule)}${rule.reason ? ` (${rule.reason})` : ''}`,
      });
    for (const rule of source.document.limits ?? []) {
      const parts = [
        rule.ratePerMinute !== undefined ? `${rule.ratePerMinute}/min` : '',
        rule.burst !== undefined ? `burst ${rule.burst}` : '',
        rule.concurrency !== undefined ? `${rule.concurrency} at once` : '',
        rule.dailyQuota !== undefined ? `${rule.dailyQuota}/day` : '',
      ].filter(Boolean);
      rules.push({
        source: source.kind,
        origin,
        kind: 'limit',
        action: 'limit',
        text: `limit tool "${rule.tool}" of server "${rule.server}": ${parts.join(', ')}`,
      });
    }
  }
  const managed = core.engine.sources.find((s) => s.kind === 'managed');
  const locked: EffectivePolicy['locked'] = [...core.engine.locks].map(([setting, source]) => ({
    setting,
    value: true,
    source,
  }));
  if (managed?.document.catalogOnly)
    locked.push({ setting: 'catalogOnly', value: true, source: label(managed) });
  if (managed?.document.orgPolicy)
    locked.push({ setting: 'orgPolicy.url', value: managed.document.orgPolicy.url, source: label(managed) });
  return { rules, locked };
}

function explain(core: DaemonContext['core'], { query }: OperationInput<'explain'>): ExplainResponse {
  const server = core.config.servers.get(query.server);
  if (!server) throw new WardenError('NOT_FOUND', `no server "${query.server}" in ${core.config.file}`);
  const admission = core.admit(server);
  const args = query.args === undefined ? {} : parseJsonParam(query.args, 'args');
  const annotations =
    query.annotations === undefined
      ? undefined
      : (parseJsonParam(query.annotations, 'annotations') as Record<string, boolean>);
  const verdict =
    query.tool === undefined
      ? undefined
      : core.engine.decideTool({
          server: query.server,
          tool: query.tool,
          arguments: args,
          annotations,
          trusted: admission.allowed && admission.trusted,
          remembered: core.remembered.grants(),
        });
  return {
    server: admission.allowed
      ? { allowed: true, trusted: admission.trusted, reason: admission.by }
      : { allowed: false, trusted: false, reason: admission.reason },
    ...(verdict
      ? {
          tool: {
            action: verdict.action,
            source: verdict.by.source,
            rule: ruleText(verdict.by),
            ...(verdict.action === 'deny' ? { reason: verdict.reason } : {}),
            ...(verdict.action === 'ask' ? { remember: verdict.remember } : {}),
          },
        }
      : {}),
    ...(server.kind === 'stdio' ? { sandbox: sandboxReport(core.sandbox.effective(server)) } : {}),
  };
}

function parseJsonParam(text: string, name: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new WardenError('INVALID_REQUEST', `"${name}" is not JSON`);
  }
}
