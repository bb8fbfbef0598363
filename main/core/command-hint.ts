import { quoteArg } from './command-line.ts';

/**
 * One word for a POSIX shell (sh, bash, zsh): quoteArg (shell-quote for any word that needs
 * quoting). Pasting the result into a shell passes exactly `word` as one argument, whatever it
 * contains.
 */
export const shellQuote: (word: string) => string = quoteArg;

/**
 * A command to show a person (in a message, between backticks), safe to paste into a shell:
 * every word quoted with shellQuote, and `--` before the positionals when one of them starts
 * with "-" (so the CLI does not read a name like "-x" as an option).
 * @param command the command and its options, e.g. ["mcp-warden", "pins", "approve", "--kind", "prompt"].
 * @param positionals names and other operands, e.g. a server name and a tool name.
 */
export function commandHint(command: readonly string[], positionals: readonly string[] = []): string {
  const operands = positionals.some((p) => p.startsWith('-')) ? ['--', ...positionals] : positionals;
  return [...command, ...operands].map(shellQuote).join(' ');
}
