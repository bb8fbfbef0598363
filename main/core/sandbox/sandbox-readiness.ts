import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { EffectiveSandbox } from './sandbox-policy.ts';

/** Where the OS sandbox's tools are on the server's PATH (Linux: bubblewrap, socat, ripgrep). */
export interface SandboxTools {
  bwrap?: string;
  socat?: string;
  rg?: string;
}

/** The Debian/Ubuntu packages that give each tool. */
const PACKAGES: Record<keyof SandboxTools, string> = { bwrap: 'bubblewrap', socat: 'socat', rg: 'ripgrep' };

/** The first executable named `name` on `pathVar`, or undefined. */
export function which(name: string, pathVar: string | undefined): string | undefined {
  for (const dir of (pathVar ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, name);
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      if (fs.statSync(candidate).isFile()) return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/**
 * The sandbox tools on `pathVar`, and why the OS cannot sandbox a server started with it (with
 * the fix), when it cannot: an unsupported platform (Windows support of sandbox-runtime is alpha and not used), a
 * tool missing on PATH, or what sandbox-runtime's checkDependencies() reports (user namespaces
 * disabled, an AppArmor restriction, a bubblewrap too old).
 */
export async function sandboxReadiness(
  pathVar: string | undefined,
  platform: NodeJS.Platform = process.platform,
): Promise<{ tools: SandboxTools; unavailable?: { problem: string; fix: string } }> {
  if (platform !== 'linux' && platform !== 'darwin') {
    return {
      tools: {},
      unavailable: {
        problem: `the OS sandbox is not supported on ${platform}`,
        fix: 'run the server on Linux or macOS, or (where policy allows) set "sandbox": {"mode": "off"} for it',
      },
    };
  }
  const tools: SandboxTools = {};
  if (platform === 'linux') {
    const missing: (keyof SandboxTools)[] = [];
    for (const tool of ['bwrap', 'socat', 'rg'] as const) {
      const found = which(tool, pathVar);
      if (found) tools[tool] = found;
      else missing.push(tool);
    }
    if (missing.length) {
      const packages = missing.map((t) => PACKAGES[t]).join(' ');
      return {
        tools,
        unavailable: {
          problem: `${missing.map((t) => `${t} (package ${PACKAGES[t]})`).join(', ')} ${missing.length > 1 ? 'are' : 'is'} not on PATH (${pathVar ?? ''})`,
          fix: `install ${packages} (Debian/Ubuntu: sudo apt-get install -y ${packages}; Fedora: sudo dnf install ${packages}), then start the server again`,
        },
      };
    }
  }
  const check = await dependencyCheck(tools.rg);
  if (check.unsupported) {
    return {
      tools,
      unavailable: {
        problem: 'sandbox-runtime does not support this platform',
        fix: 'run the server on Linux or macOS',
      },
    };
  }
  if (check.errors.length) {
    return {
      tools,
      unavailable: {
        problem: check.errors.join('; '),
        fix: 'enable unprivileged user namespaces (sysctl -w kernel.unprivileged_userns_clone=1) or allow bwrap in AppArmor (docs/sandbox.md, "When the OS cannot sandbox")',
      },
    };
  }
  return { tools };
}

/** What sandbox-runtime's own check found: an unsupported platform, or errors (user namespaces, AppArmor, …). */
interface DependencyCheck {
  unsupported: boolean;
  errors: string[];
}

const checks = new Map<string, Promise<DependencyCheck>>();

/**
 * sandbox-runtime's isSupportedPlatform() and checkDependencies(), asked in a child Node process
 * (once per ripgrep path while the daemon runs): loading sandbox-runtime into the daemon would
 * keep its proxy and undici resident for nothing. A check that cannot run is an error.
 */
function dependencyCheck(rg: string | undefined): Promise<DependencyCheck> {
  const key = rg ?? '';
  let check = checks.get(key);
  if (!check) {
    const entry = import.meta.resolve('@anthropic-ai/sandbox-runtime');
    const script = `const { SandboxManager: m } = await import(${JSON.stringify(entry)});
const rg = ${JSON.stringify(rg ?? null)};
const unsupported = !m.isSupportedPlatform();
const errors = unsupported ? [] : m.checkDependencies(rg ? { command: rg } : undefined).errors;
process.stdout.write(JSON.stringify({ unsupported, errors }));`;
    check = new Promise<DependencyCheck>((resolve) => {
      execFile(
        process.execPath,
        ['--input-type=module', '-e', script],
        { timeout: 30_000, maxBuffer: 1 << 20 },
        (error, stdout, stderr) => {
          if (error) {
            checks.delete(key);
            resolve({
              unsupported: false,
              errors: [`the sandbox check failed: ${stderr.trim() || error.message}`],
            });
            return;
          }
          try {
            resolve(JSON.parse(stdout) as DependencyCheck);
          } catch {
            resolve({ unsupported: false, errors: ['the sandbox check printed no answer'] });
          }
        },
      );
    });
    checks.set(key, check);
  }
  return check;
}

/** sandbox-runtime's configuration for one server's sandbox host (its SandboxRuntimeConfig). */
export function runtimeConfig(sandbox: EffectiveSandbox, tools: SandboxTools): Record<string, unknown> {
  const values = (list: { value: string }[]): string[] => [...new Set(list.map((e) => e.value))];
  const existing = (list: { value: string }[]): string[] => values(list).filter((p) => fs.existsSync(p));
  return {
    filesystem: {
      denyRead: values(sandbox.filesystem.denyRead),
      allowRead: existing(sandbox.filesystem.allowRead),
      allowWrite: existing(sandbox.filesystem.allowWrite),
      denyWrite: values(sandbox.filesystem.denyWrite),
    },
    network: {
      allowedDomains: values(sandbox.network.allowedDomains),
      deniedDomains: values(sandbox.network.deniedDomains),
      allowLocalBinding: sandbox.network.allowLocalBinding.value,
      allowUnixSockets: values(sandbox.network.allowUnixSockets),
    },
    ...(tools.bwrap ? { bwrapPath: tools.bwrap } : {}),
    ...(tools.socat ? { socatPath: tools.socat } : {}),
    ...(tools.rg ? { ripgrep: { command: tools.rg } } : {}),
  };
}
