import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/** MCP Warden's version, from package.json (works from sources and from the built dist/). */
export const WARDEN_VERSION: string = (() => {
  for (const candidate of ['../../package.json', '../../../package.json']) {
    try {
      const pkg = require(candidate) as { name?: string; version?: string };
      if (pkg.name === 'mcp-warden' && pkg.version) return pkg.version;
    } catch {
      // try the next location
    }
  }
  return '0.0.0';
})();
