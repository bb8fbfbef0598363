import type { PolicySource, ResultSecretsAction } from '../config/policy-schema.ts';
import type { ServerConfig } from '../config/schema.ts';
import { label } from './engine.ts';
import { nameGlob } from './name-glob.ts';

/** How strict each action is: the most restrictive of all sources wins. */
const STRICTNESS: Record<ResultSecretsAction, number> = { allow: 0, mask: 1, block: 2 };

/** The action in force for a server's results, and what set it. */
export interface ResultSecretsDecision {
  action: ResultSecretsAction;
  /** "managed policy /etc/…", "user config …", "mcpServers.<name>.resultSecrets" or "default". */
  by: string;
}

/**
 * What is done with a secret in what `server` sends the client (issue 14 item 7): the most
 * restrictive (block > mask > allow) of every policy source's `resultSecrets` rules matching the
 * server's name and of the server's own `resultSecrets`; `mask` where none says anything. So
 * no user setting loosens what managed or org policy set, and any source may tighten it.
 * Never throws.
 */
export function resultSecretsFor(
  sources: readonly PolicySource[],
  server: ServerConfig,
): ResultSecretsDecision {
  const said: ResultSecretsDecision[] = [];
  for (const source of sources) {
    for (const rule of source.document.resultSecrets ?? []) {
      if (nameGlob(rule.server)(server.name)) said.push({ action: rule.action, by: label(source) });
    }
  }
  if (server.resultSecrets)
    said.push({ action: server.resultSecrets, by: `mcpServers.${server.name}.resultSecrets` });
  let strictest: ResultSecretsDecision | undefined;
  for (const decision of said) {
    if (!strictest || STRICTNESS[decision.action] > STRICTNESS[strictest.action]) strictest = decision;
  }
  return strictest ?? { action: 'mask', by: 'default' };
}
