import { quote } from 'shell-quote';

/**
 * Quotes one argv element for a POSIX shell (sh, bash, zsh) so the exact command line can be
 * read back, and pasting it passes exactly `arg` as one word whatever it holds. A word of only
 * `[A-Za-z0-9_@%+=:,./-]` that does not look like a variable assignment (`NAME=...`) stays as it
 * is; any other word is quoted by shell-quote (single quotes, double quotes or backslashes).
 */
export function quoteArg(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) && !/^[A-Za-z_]\w*=/.test(arg) ? arg : quote([arg]);
}

/**
 * The command line of a stdio server as it is spawned, every word quoted with quoteArg, for
 * logs and messages.
 * @param server a stdio server's `command` and `args` (config schema's StdioServerConfig fits).
 */
export function formatCommandLine(server: { command: string; args: readonly string[] }): string {
  return [server.command, ...server.args].map(quoteArg).join(' ');
}
