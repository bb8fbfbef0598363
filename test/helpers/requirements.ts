/**
 * The optional system packages some tests need, and why a test skips without them.
 *
 * Each check returns `false` when the part is here (the test runs) or the skip reason: what is
 * missing and the command that enables it. `.ci/run` installs all of them; `npm test` on a
 * machine without them passes with these reasons printed as skips.
 */
import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';

/** Debian's Chromium (apt-get install chromium); `$CHROMIUM_PATH` names another binary. */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Whether `command` is an executable on `$PATH` (or one of `extraDirs`). */
function onPath(command: string, extraDirs: string[] = []): boolean {
  const dirs = [...(process.env.PATH ?? '').split(path.delimiter), ...extraDirs].filter(Boolean);
  return dirs.some((dir) => {
    try {
      fs.accessSync(path.join(dir, command), fs.constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/** Whether the keychain module (keytar) loads: it is built at `npm ci` only when libsecret is there. */
export function keytarLoads(): boolean {
  try {
    createRequire(import.meta.url)('keytar');
    return true;
  } catch {
    return false;
  }
}

const KEYRING_FIX =
  'sudo apt-get install -y libsecret-1-dev gnome-keyring dbus dbus-x11 && npm ci (.ci/run does it)';

/** A real Secret Service: dbus-daemon, gnome-keyring-daemon and a keytar that loads. */
export function keyringMissing(): false | string {
  const missing = ['dbus-daemon', 'gnome-keyring-daemon'].filter((c) => !onPath(c));
  if (!keytarLoads()) missing.push('keytar (built against libsecret)');
  return missing.length ? `needs ${missing.join(', ')}; enable with: ${KEYRING_FIX}` : false;
}

/** Debian's nginx, serving signed policy files. */
export function nginxMissing(): false | string {
  return onPath('nginx')
    ? false
    : 'needs nginx on PATH (Debian puts it in /usr/sbin); enable with: sudo apt-get install -y nginx (.ci/run does it)';
}

/** Debian's Chromium, driven by playwright-core. */
export function chromiumMissing(): false | string {
  let found: boolean;
  try {
    fs.accessSync(CHROMIUM, fs.constants.X_OK);
    // The package's binary must also be on PATH: a PATH without it hides it, as on a machine without it.
    found = process.env.CHROMIUM_PATH !== undefined || onPath('chromium');
  } catch {
    found = false;
  }
  return found
    ? false
    : `needs Chromium at ${CHROMIUM}; enable with: sudo apt-get install -y chromium fonts-dejavu-core (.ci/run does it)`;
}

/** The command-line tools `sandbox-runtime` needs on Linux: bubblewrap, socat and ripgrep. */
export function sandboxToolsMissing(): false | string {
  const missing = ['bwrap', 'socat', 'rg'].filter((c) => !onPath(c));
  return missing.length
    ? `needs ${missing.join(', ')} on PATH; enable with: sudo apt-get install -y bubblewrap socat ripgrep (.ci/run does it)`
    : false;
}

/** Debian's rsyslog, the syslog receiver of the forwarding tests. */
export function rsyslogMissing(): false | string {
  return onPath('rsyslogd')
    ? false
    : 'needs rsyslogd (Debian puts it in /usr/sbin); enable with: sudo apt-get install -y rsyslog (.ci/run does it)';
}

/** Debian's Prometheus server and promtool, for the metrics tests. */
export function prometheusMissing(): false | string {
  const missing = ['prometheus', 'promtool'].filter((c) => !onPath(c));
  return missing.length
    ? `needs ${missing.join(', ')} on PATH; enable with: sudo apt-get install -y prometheus (.ci/run does it)`
    : false;
}

/** The sqlite3 command-line shell, used to tamper with audit files as a user could. */
export function sqlite3Missing(): false | string {
  return onPath('sqlite3')
    ? false
    : 'needs the sqlite3 shell on PATH; enable with: sudo apt-get install -y sqlite3 (.ci/run does it)';
}

/** The first reason among several requirements, or false when all are met. */
export function firstMissing(...reasons: (false | string)[]): false | string {
  return reasons.find((r) => r !== false) ?? false;
}
