import fs from 'node:fs';
import path from 'node:path';

/**
 * The command a client config should launch for the connect shim: inside the desktop app, the
 * app's own executable (it runs the shim for `connect`, see docs/desktop-app.md); in a checkout
 * (this process runs `<root>/dist/main/cli/index.js`, or the sources `<root>/main/cli/index.ts`,
 * and `<root>/bin/mcp-warden` exists), the checkout's wrapper, absolute, which runs the build;
 * else `mcp-warden` from PATH (an installed package, whose bin is the build itself).
 */
export function launcher(): string {
  if (process.versions.electron) return process.execPath;
  const entry = path.resolve(process.argv[1] ?? '');
  const root = [path.join('dist', 'main', 'cli', 'index.js'), path.join('main', 'cli', 'index.ts')]
    .filter((tail) => entry.endsWith(path.sep + tail))
    .map((tail) => entry.slice(0, -(tail.length + 1)))[0];
  const wrapper = root === undefined ? undefined : path.join(root, 'bin', 'mcp-warden');
  return wrapper !== undefined && fs.existsSync(wrapper) ? wrapper : 'mcp-warden';
}
