import path from 'node:path';

/**
 * The command a client config should launch for the connect shim: inside the desktop app, the
 * app's own executable (it runs the shim for `connect`, see docs/desktop-app.md); the
 * checkout's wrapper (bin/mcp-warden, absolute) when running from sources; else `mcp-warden`
 * from PATH.
 */
export function launcher(): string {
  if (process.versions.electron) return process.execPath;
  const entry = process.argv[1] ?? '';
  return entry.endsWith(path.join('main', 'cli', 'index.ts'))
    ? path.resolve(path.dirname(entry), '..', '..', 'bin', 'mcp-warden')
    : 'mcp-warden';
}
