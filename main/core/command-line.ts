/**
 * Quotes one argv element (POSIX shell style) so the exact command line can be read back: as it
 * is when it holds only word characters and `@%+=:,./-`, else in single quotes (a `'` inside
 * becomes `'\''`).
 */
export function quoteArg(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

/**
 * The command line of a stdio server as it is spawned, every word quoted with quoteArg, for
 * logs and messages.
 * @param server a stdio server's `command` and `args` (config schema's StdioServerConfig fits).
 */
export function formatCommandLine(server: { command: string; args: readonly string[] }): string {
  return [server.command, ...server.args].map(quoteArg).join(' ');
}
