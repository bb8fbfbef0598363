import { loadConfig } from '../../core/config/load.ts';
import { connectControlClient } from '../../core/control/connect.ts';
import { WardenError } from '../../core/errors.ts';
import type { WardenPaths } from '../../core/paths.ts';
import { PolicyEngine, ruleText } from '../../core/policy/engine.ts';
import { describeIdentity, serverIdentity } from '../../core/policy/identity.ts';
import { policySources } from '../../core/runtime/warden-core.ts';
import { effectiveSandbox, sandboxReport } from '../../core/sandbox/sandbox-policy.ts';
import type { SandboxExplain } from '../../core/control/contract.ts';
import os from 'node:os';
import path from 'node:path';

const out = (text: string) => void process.stdout.write(text + '\n');

/** The options of `policy explain`: the call's arguments and the tool's annotations, as JSON text. */
export interface ExplainOptions {
  args: string;
  annotations?: string;
}

/** `policy status`: the policy sources in force and the org policy sync (checked first with `sync`). */
export async function policyStatus(paths: WardenPaths, options: { sync?: boolean }): Promise<void> {
  const control = await connectControlClient(paths);
  if (options.sync) await control.syncPolicy();
  const status = await control.policyStatus();
  out('sources in force, highest first:');
  for (const s of status.sources) out(`  ${s.kind}: ${s.origin}`);
  const org = status.org;
  if (!org) return out('org policy: none configured (the managed policy names no "orgPolicy")');
  out(`org policy: ${org.url}`);
  out(
    `  version in force: ${org.version ?? 'none yet'}${org.org ? ` (org ${org.org})` : ''}${org.expires ? `, expires ${org.expires}` : ''}${org.inGrace ? ' (EXPIRED, within the grace period)' : ''}`,
  );
  out(`  last success: ${org.lastSuccess ?? 'never'}; last attempt: ${org.lastAttempt ?? 'never'}`);
  if (org.lastError) out(`  last error: ${org.lastError}`);
}

/** The sandbox in force, one line per entry with its source (`policy explain`). */
function printSandbox(sandbox: SandboxExplain): void {
  out(
    `sandbox: ${sandbox.mode === 'enforce' ? 'enforced' : 'off'} (${sandbox.modeSource})${sandbox.requiredBy ? `; required by ${sandbox.requiredBy}` : ''}`,
  );
  for (const e of sandbox.entries) out(`  ${e.list} ${e.value}  (${e.source})`);
  for (const d of sandbox.dropped) out(`  not in force: ${d.list} ${d.value} from ${d.source}: ${d.why}`);
}

/**
 * `policy explain <server> [tool]`: the OS sandbox in force for the server with each entry's
 * source, and the decision for a call of `tool` and the rule that makes it, from the running
 * daemon; without one, from the config and the managed policy read here.
 * @throws WardenError NOT_FOUND for a server not in the config; USAGE when --args or
 *   --annotations is not JSON.
 */
export async function explain(
  paths: WardenPaths,
  server: string,
  tool: string | undefined,
  options: ExplainOptions,
): Promise<void> {
  const control = await connectControlClient(paths).catch(() => undefined);
  if (control) {
    const answer = await control.explain({
      server,
      ...(tool === undefined ? {} : { tool }),
      args: options.args,
      ...(options.annotations ? { annotations: options.annotations } : {}),
    });
    out(
      `server "${server}": ${answer.server.allowed ? `allowed${answer.server.trusted ? ' and trusted' : ''}` : 'refused'}`,
    );
    out(`  ${answer.server.reason}`);
    if (answer.tool) {
      out(`tool "${tool}": ${answer.tool.action}`);
      out(`  by ${answer.tool.rule}`);
      if (answer.tool.reason) out(`  reason: ${answer.tool.reason}`);
      if (answer.tool.remember)
        out(
          `  a person may answer: deny, allow once${answer.tool.remember !== 'never' ? ', allow for this session' : ''}${answer.tool.remember === 'always' ? ', always allow' : ''}`,
        );
    }
    if (answer.sandbox) printSandbox(answer.sandbox);
    out('(from the running daemon: managed, org and user policy, locks and remembered approvals)');
    return;
  }
  const config = loadConfig(paths, { createDefault: false });
  const entry = config.servers.get(server);
  if (!entry) throw new WardenError('NOT_FOUND', `no server "${server}" in ${config.file}`);
  const engine = new PolicyEngine(policySources(config));
  const json = (text: string, what: string): unknown => {
    try {
      return JSON.parse(text);
    } catch {
      throw new WardenError('USAGE', `--${what} is not JSON: ${text}`);
    }
  };
  const identity = serverIdentity(entry);
  const serverVerdict = engine.decideServer(identity);
  const trusted = serverVerdict.action === 'allow' && serverVerdict.trusted;
  out(`server "${server}": ${describeIdentity(identity)}`);
  out(
    serverVerdict.action === 'allow'
      ? `  allowed${trusted ? ' and trusted' : ''} by ${ruleText(serverVerdict.by)}`
      : serverVerdict.action === 'deny'
        ? `  denied: ${serverVerdict.reason}`
        : '  not allowed by any rule: it runs only once a person approves it (`mcp-warden servers approve`)',
  );
  if (entry.kind === 'stdio') {
    const sandbox = effectiveSandbox(entry, engine.sources, {
      home: entry.env.HOME ?? os.homedir(),
      tmpDir: path.join(os.tmpdir(), 'mcp-warden-server-XXXXXX'),
      wardenDirs: [...new Set([paths.configDir, paths.dataDir, paths.stateDir])],
      wardenSandboxDir: paths.sandboxDir,
      locked: engine.locked('sandbox'),
    });
    printSandbox(sandboxReport(sandbox));
  }
  if (tool === undefined) {
    out('(the daemon is not running: the org policy is not considered here)');
    return;
  }
  const verdict = engine.decideTool({
    server,
    tool,
    arguments: json(options.args, 'args'),
    annotations: options.annotations
      ? (json(options.annotations, 'annotations') as Record<string, boolean>)
      : undefined,
    trusted,
    remembered: [],
  });
  out(`tool "${tool}": ${verdict.action}`);
  out(`  by ${ruleText(verdict.by)}`);
  if (verdict.action === 'deny') out(`  reason: ${verdict.reason}`);
  if (verdict.action === 'ask')
    out(
      `  a person may answer: deny, allow once${verdict.remember !== 'never' ? ', allow for this session' : ''}${verdict.remember === 'always' ? ', always allow' : ''}`,
    );
  out(
    '(the daemon is not running: the org policy, locks on server approvals and remembered approvals are not considered here)',
  );
}
