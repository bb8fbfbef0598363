import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import which from 'which';
import type { ServerConfig } from '../config/schema.ts';
import { quoteArg } from '../command-line.ts';

/**
 * What a server *is*, as opposed to what it is called: the exact command and argv of a stdio
 * server (with the package@version an npx / uvx / pipx launcher runs), or the URL of a remote
 * server. Policy matches servers by identity; a config name alone never grants anything.
 */
export type ServerIdentity =
  { kind: 'stdio'; command: string; args: string[]; package?: string } | { kind: 'http'; url: string };

const LAUNCHERS: Record<string, (args: string[]) => string | undefined> = {
  npx: npxPackage,
  'npx.cmd': npxPackage,
  uvx: uvxPackage,
  pipx: pipxPackage,
};

/** The identity of a configured server (see the module doc). */
export function serverIdentity(server: ServerConfig): ServerIdentity {
  if (server.kind === 'http') return { kind: 'http', url: server.url };
  const launcher = LAUNCHERS[path.basename(server.command).toLowerCase()];
  const pkg = launcher?.(server.args);
  return { kind: 'stdio', command: server.command, args: [...server.args], ...(pkg ? { package: pkg } : {}) };
}

/** sha256 (hex) of the identity's canonical JSON; stable across runs. */
export function identityHash(identity: ServerIdentity): string {
  const canonical =
    identity.kind === 'http'
      ? JSON.stringify(['http', identity.url])
      : JSON.stringify(['stdio', identity.command, identity.args]);
  return createHash('sha256').update(canonical).digest('hex');
}

/** A one-line, exact rendering of an identity for people (commands shell-quoted, never cut). */
export function describeIdentity(identity: ServerIdentity): string {
  if (identity.kind === 'http') return identity.url;
  return [identity.command, ...identity.args].map(quoteArg).join(' ');
}

/**
 * sha256 (hex) of the file the command resolves to on PATH, for policy rules that pin a binary.
 * @returns undefined when the command cannot be found.
 */
export function commandBinaryHash(command: string, pathEnv = process.env.PATH): string | undefined {
  const resolved = which.sync(command, { nothrow: true, path: pathEnv });
  if (!resolved) return undefined;
  return createHash('sha256')
    .update(fs.readFileSync(fs.realpathSync(resolved)))
    .digest('hex');
}

/** npx [-y|--yes] [-p|--package <spec>]... <spec> [args]: the package spec it runs. */
function npxPackage(args: string[]): string | undefined {
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '-p' || arg === '--package') return args[i + 1];
    if (arg.startsWith('--package=')) return arg.slice('--package='.length);
    if (arg === '--') return args[i + 1];
    if (arg.startsWith('-')) continue;
    return arg;
  }
  return undefined;
}

/** uvx [--from <spec>] <spec> ...: "pkg==1.2" or "pkg@1.2", normalized to pkg@1.2. */
function uvxPackage(args: string[]): string | undefined {
  const from = args.indexOf('--from');
  const spec = from >= 0 ? args[from + 1] : args.find((a) => !a.startsWith('-'));
  return spec?.replace('==', '@');
}

/** pipx run [--spec <spec>] <spec> ...: normalized to pkg@version. */
function pipxPackage(args: string[]): string | undefined {
  const rest = args[0] === 'run' ? args.slice(1) : args;
  const spec = rest.indexOf('--spec');
  const value = spec >= 0 ? rest[spec + 1] : rest.find((a) => !a.startsWith('-'));
  return value?.replace('==', '@');
}
