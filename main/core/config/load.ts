import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { WardenError } from '../errors.ts';
import type { WardenPaths } from '../paths.ts';
import {
  DEFAULT_PORT,
  wardenConfigSchema,
  DEFAULT_AUDIT_RETENTION_DAYS,
  type ServerConfig,
  type WardenConfig,
  type WardenConfigInput,
} from './schema.ts';

/** Exact versions of the reference servers the default config runs through npx. */
export const DEFAULT_SERVER_VERSIONS = {
  everything: '2026.8.31',
  filesystem: '2026.8.31',
} as const;

/**
 * The config written on first start: server-everything, and server-filesystem confined to a
 * sandbox directory, both pinned to exact versions and trusted by the user's policy, so their
 * read-only tools run silently and every other tool asks for approval (built-in defaults).
 */
export function defaultConfig(sandboxDir: string): WardenConfigInput {
  return {
    daemon: { port: DEFAULT_PORT },
    policy: {
      servers: [
        {
          package: `@modelcontextprotocol/server-everything@${DEFAULT_SERVER_VERSIONS.everything}`,
          trusted: true,
        },
        {
          package: `@modelcontextprotocol/server-filesystem@${DEFAULT_SERVER_VERSIONS.filesystem}`,
          trusted: true,
        },
      ],
    },
    mcpServers: {
      everything: {
        command: 'npx',
        args: ['-y', `@modelcontextprotocol/server-everything@${DEFAULT_SERVER_VERSIONS.everything}`],
      },
      filesystem: {
        command: 'npx',
        args: [
          '-y',
          `@modelcontextprotocol/server-filesystem@${DEFAULT_SERVER_VERSIONS.filesystem}`,
          sandboxDir,
        ],
      },
    },
  };
}

/**
 * Parses and validates config text.
 * @param file the file's path, used in messages only.
 * @throws WardenError CONFIG_NOT_JSON when the text is not JSON (with line and column),
 *   CONFIG_INVALID when it does not match the schema (naming each field and what was expected).
 */
export function parseConfig(text: string, file: string): WardenConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new WardenError('CONFIG_NOT_JSON', `${file} is not valid JSON: ${jsonErrorLocation(error, text)}`);
  }
  const parsed = wardenConfigSchema.safeParse(raw);
  if (!parsed.success) {
    throw new WardenError(
      'CONFIG_INVALID',
      `${file} is not a valid MCP Warden config; nothing was started:\n${z.prettifyError(parsed.error)}`,
    );
  }
  const servers = new Map<string, ServerConfig>();
  for (const [name, entry] of parsed.data.mcpServers) {
    if (entry.disabled) continue;
    const tools = {
      ...(entry.tools?.allow ? { allow: entry.tools.allow } : {}),
      deny: entry.tools?.deny ?? [],
    };
    if (entry.command !== undefined) {
      servers.set(name, {
        kind: 'stdio',
        name,
        command: entry.command,
        args: entry.args ?? [],
        env: entry.env ?? {},
        ...(entry.cwd ? { cwd: entry.cwd } : {}),
        ...(entry.warm === false ? { warm: false as const } : {}),
        ...(entry.sandbox ? { sandbox: entry.sandbox } : {}),
        tools,
        ...(entry.resultSecrets ? { resultSecrets: entry.resultSecrets } : {}),
      });
    } else if (entry.url !== undefined) {
      servers.set(name, {
        kind: 'http',
        name,
        url: entry.url,
        headers: entry.headers ?? {},
        tools,
        ...(entry.resultSecrets ? { resultSecrets: entry.resultSecrets } : {}),
      });
    }
  }
  return {
    file,
    port: parsed.data.daemon?.port ?? DEFAULT_PORT,
    auditSynchronous: parsed.data.audit?.synchronous ?? 'normal',
    auditRetentionDays: parsed.data.audit?.retentionDays ?? DEFAULT_AUDIT_RETENTION_DAYS,
    auditDestinations: parsed.data.audit?.destinations ?? {},
    warmUpstreams: parsed.data.daemon?.warmUpstreams ?? true,
    ...(parsed.data.metrics?.port !== undefined ? { metricsPort: parsed.data.metrics.port } : {}),
    servers,
    policy: parsed.data.policy ?? {},
  };
}

/**
 * Loads the user's config. When the file does not exist at the OS-default location (no
 * `--config` or `$MCP_WARDEN_CONFIG`), writes the default config there first and creates its
 * sandbox directory.
 * @throws WardenError CONFIG_UNREADABLE, CONFIG_NOT_JSON or CONFIG_INVALID.
 */
export function loadConfig(paths: WardenPaths, options: { createDefault: boolean }): WardenConfig {
  let text: string;
  try {
    text = fs.readFileSync(paths.configFile, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT' && options.createDefault) {
      writeDefaultConfig(paths);
      text = fs.readFileSync(paths.configFile, 'utf8');
    } else {
      const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'it does not exist' : String(error);
      throw new WardenError('CONFIG_UNREADABLE', `cannot read config file ${paths.configFile}: ${reason}`);
    }
  }
  return parseConfig(text, paths.configFile);
}

/** Writes the default config (mode 0600) and creates the sandbox with a README in it. */
export function writeDefaultConfig(paths: WardenPaths): void {
  fs.mkdirSync(path.dirname(paths.configFile), { recursive: true, mode: 0o700 });
  fs.mkdirSync(paths.sandboxDir, { recursive: true, mode: 0o700 });
  const readme = path.join(paths.sandboxDir, 'README.txt');
  if (!fs.existsSync(readme)) {
    fs.writeFileSync(
      readme,
      'This directory is the sandbox of the "filesystem" server in MCP Warden\'s default config.\n',
    );
  }
  const text = JSON.stringify(defaultConfig(paths.sandboxDir), null, 2) + '\n';
  // 'wx': never overwrite a config that appeared meanwhile.
  try {
    fs.writeFileSync(paths.configFile, text, { flag: 'wx', mode: 0o600 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
}

function jsonErrorLocation(error: unknown, text: string): string {
  const message = error instanceof Error ? error.message : String(error);
  const match = /position (\d+)/.exec(message);
  if (!match?.[1] || /line \d+/.test(message)) return message;
  const position = Number(match[1]);
  const before = text.slice(0, position);
  const line = before.split('\n').length;
  const column = position - before.lastIndexOf('\n');
  return `${message} (line ${line}, column ${column})`;
}
