import { nameGlob } from '../policy/name-glob.ts';
import type { ServerConfig } from '../config/schema.ts';
import type { GuardDecision, GuardStep, ToolCallContext } from './chain.ts';

/**
 * Per-server tool allow and deny lists from the config (`mcpServers.<name>.tools`).
 * A tool is visible when no deny glob matches it and, if an allow list is set, an allow glob does
 * (name globs, see policy/name-glob.ts).
 */
export class ToolLists {
  readonly #isDenied: (tool: string) => boolean;
  readonly #isAllowed: ((tool: string) => boolean) | undefined;
  readonly #server: string;
  readonly #source: string;

  constructor(server: ServerConfig, source: string) {
    this.#server = server.name;
    this.#source = source;
    this.#isDenied = anyOf(server.tools.deny);
    this.#isAllowed = server.tools.allow ? anyOf(server.tools.allow) : undefined;
  }

  /** Why `tool` is hidden and blocked, or undefined when it is visible. */
  blockReason(tool: string): string | undefined {
    if (this.#isDenied(tool)) {
      return `tool "${tool}" of server "${this.#server}" is on the deny list in ${this.#source}`;
    }
    if (this.#isAllowed && !this.#isAllowed(tool)) {
      return `tool "${tool}" of server "${this.#server}" is not on the allow list in ${this.#source}`;
    }
    return undefined;
  }

  isVisible(tool: string): boolean {
    return this.blockReason(tool) === undefined;
  }
}

/** Whether any of the name globs (policy/name-glob.ts: "/" and a leading "." are ordinary) matches. */
function anyOf(globs: readonly string[]): (tool: string) => boolean {
  const matchers = globs.map(nameGlob);
  return (tool) => matchers.some((matches) => matches(tool));
}

/** Guard step: denies calls to tools the lists hide (a hidden tool is never callable). */
export class ToolListsStep implements GuardStep {
  readonly name = 'tool-lists';
  readonly #lists: Pick<ToolLists, 'blockReason'>;

  constructor(lists: Pick<ToolLists, 'blockReason'>) {
    this.#lists = lists;
  }

  decide(call: ToolCallContext): GuardDecision | undefined {
    const reason = this.#lists.blockReason(call.tool);
    return reason ? { action: 'deny', by: 'config tool lists', reason } : undefined;
  }
}
