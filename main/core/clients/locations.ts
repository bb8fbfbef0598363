import os from 'node:os';
import path from 'node:path';

/** The MCP clients whose configs Warden knows. */
export type ClientKind = 'claude-desktop' | 'cursor' | 'vscode' | 'claude-code';

/** One client config file: where it is and which key holds its servers. */
export interface ClientLocation {
  /** e.g. "cursor" (user) or "cursor-project". */
  id: string;
  client: ClientKind;
  label: string;
  scope: 'user' | 'project';
  file: string;
  /** "mcpServers" (Claude Desktop, Cursor, Claude Code) or "servers" (VS Code). */
  key: 'mcpServers' | 'servers';
}

/**
 * Every config file location of the known clients on this OS (whether or not it exists):
 * Claude Desktop (claude_desktop_config.json), Cursor (~/.cursor/mcp.json and the project's
 * .cursor/mcp.json), VS Code (the user's mcp.json and the workspace's .vscode/mcp.json, key
 * "servers"), Claude Code (~/.claude.json and the project's .mcp.json).
 * @param cwd the project directory for project-scoped files.
 */
export function clientLocations(
  options: { platform?: NodeJS.Platform; env?: NodeJS.ProcessEnv; home?: string; cwd?: string } = {},
): ClientLocation[] {
  const platform = options.platform ?? process.platform;
  const env = options.env ?? process.env;
  const home = options.home ?? env.HOME ?? os.homedir();
  const cwd = options.cwd ?? process.cwd();
  const p = platform === 'win32' ? path.win32 : path.posix;
  const appData =
    platform === 'darwin'
      ? p.join(home, 'Library', 'Application Support')
      : platform === 'win32'
        ? (env.APPDATA ?? p.join(home, 'AppData', 'Roaming'))
        : (env.XDG_CONFIG_HOME ?? p.join(home, '.config'));
  return [
    {
      id: 'claude-desktop',
      client: 'claude-desktop',
      label: 'Claude Desktop',
      scope: 'user',
      key: 'mcpServers',
      file: p.join(appData, 'Claude', 'claude_desktop_config.json'),
    },
    {
      id: 'cursor',
      client: 'cursor',
      label: 'Cursor (global)',
      scope: 'user',
      key: 'mcpServers',
      file: p.join(home, '.cursor', 'mcp.json'),
    },
    {
      id: 'cursor-project',
      client: 'cursor',
      label: 'Cursor (project)',
      scope: 'project',
      key: 'mcpServers',
      file: p.join(cwd, '.cursor', 'mcp.json'),
    },
    {
      id: 'vscode',
      client: 'vscode',
      label: 'VS Code (user)',
      scope: 'user',
      key: 'servers',
      file: p.join(appData, 'Code', 'User', 'mcp.json'),
    },
    {
      id: 'vscode-workspace',
      client: 'vscode',
      label: 'VS Code (workspace)',
      scope: 'project',
      key: 'servers',
      file: p.join(cwd, '.vscode', 'mcp.json'),
    },
    {
      id: 'claude-code',
      client: 'claude-code',
      label: 'Claude Code (user)',
      scope: 'user',
      key: 'mcpServers',
      file: p.join(home, '.claude.json'),
    },
    {
      id: 'claude-code-project',
      client: 'claude-code',
      label: 'Claude Code (project)',
      scope: 'project',
      key: 'mcpServers',
      file: p.join(cwd, '.mcp.json'),
    },
  ];
}
