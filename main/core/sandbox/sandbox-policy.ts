import fs from 'node:fs';
import path from 'node:path';
import type { PolicySource } from '../config/policy-schema.ts';
import type { StdioServerConfig } from '../config/schema.ts';
import { label } from '../policy/engine.ts';
import { nameGlob } from '../policy/name-glob.ts';
import type { ServerSandbox } from '../config/sandbox-schema.ts';

/** One entry of the sandbox in force and the source it comes from ("managed policy /etc/…"). */
export interface SourcedEntry {
  value: string;
  source: string;
}

/** An entry a source asked for that is not in force, and why. */
export interface DroppedEntry extends SourcedEntry {
  list: string;
  why: string;
}

/**
 * The sandbox one stdio server runs in, every entry with its source. Paths are absolute (`~`
 * expanded against the server's HOME, relative ones against its cwd).
 */
export interface EffectiveSandbox {
  mode: 'enforce' | 'off';
  /** Which source decided the mode ("built-in defaults" when none did). */
  modeSource: string;
  /** The source whose `requireSandbox: true` makes the sandbox mandatory, or undefined. */
  requiredBy: string | undefined;
  filesystem: {
    allowRead: SourcedEntry[];
    denyRead: SourcedEntry[];
    allowWrite: SourcedEntry[];
    denyWrite: SourcedEntry[];
  };
  network: {
    allowedDomains: SourcedEntry[];
    deniedDomains: SourcedEntry[];
    allowLocalBinding: { value: boolean; source: string };
    allowUnixSockets: SourcedEntry[];
  };
  dropped: DroppedEntry[];
}

/** What the defaults are computed from. */
export interface SandboxContext {
  /** The server's HOME (its environment's, else Warden's). */
  home: string;
  /** The server's own temp dir (writable). */
  tmpDir: string;
  /** Warden's config, data and state directories (never readable). */
  wardenDirs: string[];
  /** The default filesystem sandbox inside Warden's data dir: it may be given to a server. */
  wardenSandboxDir?: string;
  /** Whether the managed policy locked `sandbox` (user config cannot loosen it). */
  locked: boolean;
}

export const BUILT_IN = 'built-in defaults';
const WARDEN_DIRS = "built-in (MCP Warden's own files)";

/**
 * Credential stores no server reads by default, relative to HOME: SSH and GPG keys, cloud and
 * CLI tokens, browser profiles, the OS keychain files (docs/sandbox.md lists them).
 */
export const CREDENTIAL_STORES = [
  '.ssh',
  '.gnupg',
  '.aws',
  '.azure',
  '.config/gcloud',
  '.config/gh',
  '.docker',
  '.kube',
  '.netrc',
  '.npmrc',
  '.pypirc',
  '.git-credentials',
  '.local/share/keyrings',
  '.password-store',
  '.mozilla',
  '.config/google-chrome',
  '.config/chromium',
  '.config/BraveSoftware',
  '.config/microsoft-edge',
  'snap/firefox',
  'Library/Keychains',
  'Library/Cookies',
  'Library/Application Support/Google/Chrome',
  'Library/Application Support/Firefox',
  'Library/Application Support/BraveSoftware',
  'Library/Safari',
];

/**
 * The sandbox in force for `server`: the built-in defaults, the server's own block and the
 * `policy.sandbox` rules of every source matching its name, most restrictive first:
 * - denies (denyRead, denyWrite, deniedDomains) of every source add up; nothing removes them;
 * - allows add up too, except that an allowRead at or beneath a managed or org denyRead is
 *   dropped (srt lets allowRead win, so it would undo the deny), and with `lock: ["sandbox"]`
 *   the user config's allows are dropped;
 * - mode is "off" only when a source says so, none says "enforce" (the default is enforce) and
 *   no source requires the sandbox; a locked sandbox ignores the user's "off".
 * Writes are allowed by default to the server's directory arguments and its temp dir; Warden's
 * own directories are never readable (no allowRead lifts that).
 */
export function effectiveSandbox(
  server: StdioServerConfig,
  sources: readonly PolicySource[],
  context: SandboxContext,
): EffectiveSandbox {
  const cwd = server.cwd ?? process.cwd();
  const resolve = (p: string): string =>
    p === '~'
      ? context.home
      : p.startsWith('~/')
        ? path.join(context.home, p.slice(2))
        : path.resolve(cwd, p);
  const blocks: { block: ServerSandbox; source: string; kind: PolicySource['kind'] }[] = [];
  for (const source of sources) {
    for (const rule of source.document.sandbox?.rules ?? []) {
      if (nameGlob(rule.server)(server.name))
        blocks.push({ block: rule, source: label(source), kind: source.kind });
    }
  }
  const userSource = sources.find((s) => s.kind === 'user');
  if (server.sandbox)
    blocks.push({
      block: server.sandbox,
      source: userSource ? label(userSource) : 'user config',
      kind: 'user',
    });

  const requiring = sources.find((s) => s.document.sandbox?.requireSandbox === true);
  const requiredBy = requiring ? label(requiring) : undefined;
  const dropped: DroppedEntry[] = [];
  const lockedOut = (kind: PolicySource['kind']): boolean => context.locked && kind === 'user';

  let mode: 'enforce' | 'off' = 'enforce';
  let modeSource = BUILT_IN;
  const enforcing = blocks.find((b) => b.block.mode === 'enforce');
  const off = blocks.find((b) => b.block.mode === 'off');
  if (off && !enforcing && !requiredBy && !lockedOut(off.kind)) {
    mode = 'off';
    modeSource = off.source;
  } else if (off) {
    modeSource = requiredBy ?? enforcing?.source ?? 'managed policy lock "sandbox"';
    dropped.push({
      list: 'mode',
      value: 'off',
      source: off.source,
      why: requiredBy
        ? `${requiredBy} requires the sandbox`
        : enforcing
          ? `${enforcing.source} says "enforce"`
          : 'the managed policy locks the sandbox',
    });
  } else if (enforcing) modeSource = enforcing.source;

  const fsLists = {
    allowRead: [] as SourcedEntry[],
    denyRead: [
      ...context.wardenDirs.map((value) => ({ value, source: WARDEN_DIRS })),
      ...CREDENTIAL_STORES.map((rel) => ({ value: path.join(context.home, rel), source: BUILT_IN })),
    ],
    allowWrite: [
      ...directoryArguments(server, cwd).map((value) => ({
        value,
        source: `${BUILT_IN} (a directory argument)`,
      })),
      { value: context.tmpDir, source: `${BUILT_IN} (the server's temp dir)` },
    ],
    denyWrite: [] as SourcedEntry[],
  };
  // The filesystem server's roots are read as well as written, even beneath a denied region.
  fsLists.allowRead.push(...fsLists.allowWrite.map((e) => ({ ...e })));
  const net = {
    allowedDomains: [] as SourcedEntry[],
    deniedDomains: [] as SourcedEntry[],
    allowLocalBinding: { value: false, source: BUILT_IN },
    allowUnixSockets: [] as SourcedEntry[],
  };
  const allow = (
    list: SourcedEntry[],
    name: string,
    kind: PolicySource['kind'],
    entry: SourcedEntry,
  ): void => {
    if (lockedOut(kind)) dropped.push({ ...entry, list: name, why: 'the managed policy locks the sandbox' });
    else list.push(entry);
  };
  for (const { block, source, kind } of blocks) {
    const f = block.filesystem;
    for (const p of f?.denyRead ?? []) fsLists.denyRead.push({ value: resolve(p), source });
    for (const p of f?.denyWrite ?? []) fsLists.denyWrite.push({ value: resolve(p), source });
    for (const p of f?.allowRead ?? [])
      allow(fsLists.allowRead, 'allowRead', kind, { value: resolve(p), source });
    for (const p of f?.allowWrite ?? [])
      allow(fsLists.allowWrite, 'allowWrite', kind, { value: resolve(p), source });
    const n = block.network;
    for (const h of n?.deniedDomains ?? []) net.deniedDomains.push({ value: h, source });
    for (const h of n?.allowedDomains ?? [])
      allow(net.allowedDomains, 'allowedDomains', kind, { value: h, source });
    for (const p of n?.allowUnixSockets ?? [])
      allow(net.allowUnixSockets, 'allowUnixSockets', kind, { value: resolve(p), source });
    if (n?.allowLocalBinding === true) {
      if (lockedOut(kind))
        dropped.push({
          list: 'allowLocalBinding',
          value: 'true',
          source,
          why: 'the managed policy locks the sandbox',
        });
      else if (!net.allowLocalBinding.value) net.allowLocalBinding = { value: true, source };
    }
  }
  // A denyRead of higher rank (Warden's own files, managed and org policy) cannot be undone by
  // an allowRead at or beneath it: srt lets allowRead win where it is as specific as the deny.
  const firm = fsLists.denyRead.filter(
    (d) =>
      d.source === WARDEN_DIRS || d.source.startsWith('managed policy') || d.source.startsWith('org policy'),
  );
  fsLists.allowRead = fsLists.allowRead.filter((a) => {
    const over = firm.find((d) => within(a.value, d.value));
    if (context.wardenSandboxDir && within(a.value, context.wardenSandboxDir)) return true;
    if (over && over.source !== a.source && !a.source.startsWith('managed policy')) {
      dropped.push({ ...a, list: 'allowRead', why: `${over.value} is denied by ${over.source}` });
      return false;
    }
    return true;
  });
  fsLists.allowWrite = fsLists.allowWrite.filter((a) => {
    const over = firm.find((d) => within(a.value, d.value) && d.source === WARDEN_DIRS);
    if (context.wardenSandboxDir && within(a.value, context.wardenSandboxDir)) return true;
    if (over) {
      dropped.push({ ...a, list: 'allowWrite', why: `${over.value} holds MCP Warden's own files` });
      return false;
    }
    return true;
  });
  return { mode, modeSource, requiredBy, filesystem: fsLists, network: net, dropped };
}

/** Whether `p` is `dir` or beneath it. */
export function within(p: string, dir: string): boolean {
  const rel = path.relative(dir, p);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

/**
 * The arguments of a server that name existing directories (the filesystem server's roots),
 * as absolute paths. Flags (`-y`, `--root=…`'s value after "=") count as well.
 */
export function directoryArguments(server: StdioServerConfig, cwd: string): string[] {
  const out: string[] = [];
  for (const arg of server.args) {
    const value = !arg.startsWith('-') ? arg : arg.includes('=') ? arg.slice(arg.indexOf('=') + 1) : '';
    if (!value) continue;
    const abs = path.resolve(cwd, value);
    try {
      if (fs.statSync(abs).isDirectory() && abs !== path.parse(abs).root) out.push(abs);
    } catch {
      // not a directory (a package spec, a file, a flag): no write access from it
    }
  }
  return out;
}

/** One entry of a sandbox report: which list, the value, the source. */
export interface SandboxReportEntry {
  list: string;
  value: string;
  source: string;
}

/**
 * The sandbox in force as a flat report (`policy explain`): every entry of every list with its
 * source, then what was dropped and why. Lists: filesystem.allowRead, filesystem.denyRead, …
 */
export function sandboxReport(sandbox: EffectiveSandbox): {
  mode: 'enforce' | 'off';
  modeSource: string;
  requiredBy?: string;
  entries: SandboxReportEntry[];
  dropped: (SandboxReportEntry & { why: string })[];
} {
  const entries: SandboxReportEntry[] = [];
  for (const [list, items] of Object.entries(sandbox.filesystem))
    for (const e of items) entries.push({ list: `filesystem.${list}`, ...e });
  for (const list of ['allowedDomains', 'deniedDomains', 'allowUnixSockets'] as const)
    for (const e of sandbox.network[list]) entries.push({ list: `network.${list}`, ...e });
  entries.push({
    list: 'network.allowLocalBinding',
    value: String(sandbox.network.allowLocalBinding.value),
    source: sandbox.network.allowLocalBinding.source,
  });
  return {
    mode: sandbox.mode,
    modeSource: sandbox.modeSource,
    ...(sandbox.requiredBy ? { requiredBy: sandbox.requiredBy } : {}),
    entries,
    dropped: sandbox.dropped.map(({ list, value, source, why }) => ({ list, value, source, why })),
  };
}
