import { Option, type Command } from 'commander';
import { loadConfig } from '../core/config/load.ts';
import { commandHint } from '../core/command-hint.ts';
import { connectControlClient } from '../core/control/connect.ts';
import { WardenError } from '../core/errors.ts';
import { registerPolicySigningCommands } from './policy-signing.ts';
import { confirm } from './prompts.ts';
import { resolvePaths } from '../core/paths.ts';
import { PolicyEngine, ruleText } from '../core/policy/engine.ts';
import { describeIdentity, serverIdentity } from '../core/policy/identity.ts';
import { policySources } from '../core/runtime/warden-core.ts';
import { reviewHash } from '../core/pins/review-hash.ts';

const client = (program: Command) =>
  connectControlClient(resolvePaths(program.opts<{ config?: string }>().config));
const out = (text: string) => void process.stdout.write(text + '\n');

export function registerRulesCommands(program: Command): void {
  const rules = program.command('rules').description('remembered "always allow" decisions');
  rules
    .command('list')
    .option('--json', 'JSON output')
    .action(async (options: { json?: boolean }) => {
      const list = await (await client(program)).rules();
      if (options.json) return out(JSON.stringify(list, null, 2));
      if (!list.length) return out('no remembered decisions');
      for (const r of list) {
        const when = r.conditions?.map((c) => `${c.pointer} ${c.glob ?? `~/${c.regex}/`}`).join(' and ');
        out(
          `#${r.id}  allow ${r.server}/${r.tool}${when ? ` when ${when}` : ''}  (${r.createdBy}, ${r.createdAt})`,
        );
      }
    });
  rules
    .command('revoke')
    .argument('<id>', 'rule number from `rules list`')
    .action(async (id: string) => {
      if (!/^\d+$/.test(id)) throw new WardenError('USAGE', `rule ids are numbers, got "${id}"`);
      await (await client(program)).revokeRule(Number(id));
      out(`revoked #${id}`);
    });
}

export function registerPinsCommands(program: Command): void {
  const pins = program.command('pins').description('pinned tool definitions and changes awaiting review');
  pins
    .command('list')
    .option('--diff', 'show the diff and the hash of each pending review')
    .option('--json', 'JSON output')
    .action(async (options: { diff?: boolean; json?: boolean }) => {
      const data = await (await client(program)).pins();
      if (options.json) return out(JSON.stringify(data, null, 2));
      out(`${data.pins.length} pinned definition(s)`);
      for (const p of data.pins)
        out(`  ${p.server} ${p.kind} ${p.name}  ${p.hash.slice(0, 12)}  ${p.pinnedAt}`);
      out(
        data.reviews.length
          ? `${data.reviews.length} awaiting review (hidden until approved):`
          : 'nothing awaits review',
      );
      for (const r of data.reviews) {
        const hash = reviewHash(r);
        // Options before the names: a name starting with "-" follows a "--".
        const command = commandHint(
          [
            'mcp-warden',
            'pins',
            'approve',
            ...(r.kind === 'tool' ? [] : ['--kind', r.kind]),
            ...(options.diff && hash ? ['--hash', hash] : []),
          ],
          [r.server, r.name],
        );
        out(`  ${r.server} ${r.kind} ${r.name}: ${r.status} (${r.detectedAt}); approve with \`${command}\``);
        if (!options.diff) continue;
        if (hash) out(`    ${r.status === 'removed' ? 'pinned' : 'offered'} sha256 ${hash}`);
        if (r.diff) out(indent(r.diff));
      }
      for (const s of data.shadows)
        out(
          `warning: client "${s.client}" is offered tool "${s.tool}" by several servers: ${s.servers.join(', ')}`,
        );
    });
  pins
    .command('approve')
    .description(
      'approve a definition awaiting review: by the hash you reviewed (`pins list --diff` shows it), or shown here first and confirmed',
    )
    .argument('<server>')
    .argument('<name>')
    .addOption(
      new Option('--kind <kind>', 'what is pinned')
        .choices(['tool', 'prompt', 'resourceTemplate'])
        .default('tool'),
    )
    .option('--hash <sha256>', 'the hash of the definition you reviewed; refused if it changed since')
    .action(async (server: string, name: string, options: { kind: string; hash?: string }) => {
      const control = await client(program);
      let hash = options.hash;
      if (hash !== undefined && !/^[0-9a-f]{64}$/.test(hash))
        throw new WardenError(
          'USAGE',
          `--hash takes the 64-hex-digit sha256 shown by \`mcp-warden pins list --diff\`, got "${hash}"`,
        );
      if (hash === undefined) {
        const review = (await control.pins()).reviews.find(
          (r) => r.server === server && r.kind === options.kind && r.name === name,
        );
        if (!review)
          throw new WardenError(
            'NOT_FOUND',
            `no ${options.kind} "${name}" of server "${server}" awaits review; \`mcp-warden pins list\` shows what does`,
          );
        hash = reviewHash(review) ?? undefined;
        if (!hash)
          throw new WardenError(
            'CONFLICT',
            `the review of ${options.kind} "${name}" has no hash; it cannot be approved`,
          );
        out(`${options.kind} "${name}" of server "${server}": ${review.status} (${review.detectedAt})`);
        if (review.diff) out(indent(review.diff));
        out(`${review.status === 'removed' ? 'pinned' : 'offered'} sha256 ${hash}`);
        const question = review.status === 'removed' ? 'Approve the removal?' : 'Approve this definition?';
        const refusal = `not a terminal: review the diff above and pass --hash ${hash} to approve exactly this definition`;
        if (!(await confirm(question, { refusal }))) return out('not approved');
      }
      await control.approvePin(server, options.kind, name, hash);
      out(
        `approved the reviewed definition of ${options.kind} "${name}" of server "${server}" (sha256 ${hash})`,
      );
    });
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((l) => `    ${l}`)
    .join('\n');
}

export function registerServersCommands(program: Command): void {
  const servers = program.command('servers').description('configured servers and whether they may run');
  servers.command('list').action(async () => {
    for (const s of await (await client(program)).servers()) {
      out(
        `${s.name} (${s.kind})  ${s.allowed ? `allowed${s.trusted ? ', trusted' : ''}` : 'NOT ALLOWED'}  sessions ${s.sessions}  breaker ${s.breaker}${s.warm && s.kind === 'stdio' ? `  warm ${s.warm.state}${s.warm.reason ? ` (${s.warm.reason})` : ''}` : ''}`,
      );
      out(`  ${s.target}`);
      if (s.reason) out(`  ${s.reason}`);
    }
  });
  servers
    .command('approve')
    .description("approve a server's exact command (or URL); shown in full first")
    .argument('<name>')
    .option('-y, --yes', 'approve without asking (needed when stdin is not a terminal)')
    .action(async (name: string, options: { yes?: boolean }) => {
      const control = await client(program);
      const entry = (await control.servers()).find((s) => s.name === name);
      if (!entry) throw new WardenError('NOT_FOUND', `no server "${name}" in the config`);
      out(`Server "${name}" will run exactly:\n  ${entry.target}`);
      if (entry.envKeys.length)
        out(
          `with ${entry.kind === 'stdio' ? 'environment' : 'headers'}: ${entry.envKeys.join(', ')} (values not shown)`,
        );
      if (!options.yes) {
        if (!(await confirm('Approve?', { refusal: 'not a terminal: pass --yes to approve' })))
          return out('not approved');
      }
      await control.approveServer(name, entry.identityHash);
      out(`approved "${name}"`);
    });
}

export function registerPolicyCommands(program: Command): void {
  const policy = program.command('policy').description('the policy in force, and signing org policy');
  registerPolicySigningCommands(policy);
  policy
    .command('status')
    .description(
      'the policy sources in force and the org policy sync: URL, version, last success, last error, expiry',
    )
    .option('--sync', 'check the org policy server now first')
    .action(async (options: { sync?: boolean }) => {
      const control = await client(program);
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
    });
  policy
    .command('explain')
    .description(
      'the decision for a call and the rule of which source makes it: asks the running daemon (managed, org and user policy, remembered approvals); without a daemon, reads the config and the managed policy',
    )
    .argument('<server>')
    .argument('<tool>')
    .option('--args <json>', "the call's arguments", '{}')
    .option('--annotations <json>', 'the tool\'s annotations, e.g. {"readOnlyHint":true}')
    .action(async (server: string, tool: string, options: { args: string; annotations?: string }) => {
      const control = await connectControlClient(
        resolvePaths(program.opts<{ config?: string }>().config),
      ).catch(() => undefined);
      if (control) {
        const answer = await control.explain({
          server,
          tool,
          args: options.args,
          ...(options.annotations ? { annotations: options.annotations } : {}),
        });
        out(
          `server "${server}": ${answer.server.allowed ? `allowed${answer.server.trusted ? ' and trusted' : ''}` : 'refused'}`,
        );
        out(`  ${answer.server.reason}`);
        out(`tool "${tool}": ${answer.tool.action}`);
        out(`  by ${answer.tool.rule}`);
        if (answer.tool.reason) out(`  reason: ${answer.tool.reason}`);
        if (answer.tool.remember)
          out(
            `  a person may answer: deny, allow once${answer.tool.remember !== 'never' ? ', allow for this session' : ''}${answer.tool.remember === 'always' ? ', always allow' : ''}`,
          );
        out('(from the running daemon: managed, org and user policy, locks and remembered approvals)');
        return;
      }
      const config = loadConfig(resolvePaths(program.opts<{ config?: string }>().config), {
        createDefault: false,
      });
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
    });
}
