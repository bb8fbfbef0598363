#!/usr/bin/env node
// Entry point of `mcp-warden`. Checks the Node.js version before loading anything that needs a
// recent one (better-sqlite3 13 crashes on Node 20), then runs the command line.
const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 12)) {
  process.stderr.write(
    `mcp-warden: Node.js ${process.versions.node} is too old; MCP Warden needs Node 22.12 or later (24 LTS recommended).\n`,
  );
  process.exit(1);
}
const { main } = await import('./program.ts');
await main();
