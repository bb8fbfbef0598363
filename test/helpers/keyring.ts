/**
 * A real Secret Service for tests: a private D-Bus session bus with gnome-keyring-daemon
 * started and unlocked on it (Debian packages dbus, gnome-keyring), as ../shared/ENV.md shows.
 * Processes given `env` reach the keychain through it; nothing touches the user's own keyring.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

export interface TestKeyring {
  env: NodeJS.ProcessEnv;
  stop(): void;
}

/** Starts the bus and the keyring for a test user whose HOME is `home`. */
export function startKeyring(home: string, baseEnv: NodeJS.ProcessEnv): TestKeyring {
  const runtime = path.join(home, 'run');
  fs.mkdirSync(runtime, { recursive: true, mode: 0o700 });
  const env: NodeJS.ProcessEnv = {
    ...baseEnv,
    HOME: home,
    XDG_RUNTIME_DIR: runtime,
    XDG_DATA_HOME: baseEnv.XDG_DATA_HOME ?? path.join(home, '.local/share'),
  };
  const output = execFileSync(
    'dbus-daemon',
    ['--session', '--fork', '--print-address=1', '--print-pid=1', '--nopidfile'],
    { env, encoding: 'utf8' },
  );
  const [address, pid] = output.trim().split('\n');
  env.DBUS_SESSION_BUS_ADDRESS = address!;
  // It forks into the background, unlocked with the password on stdin, and prints its environment.
  execFileSync('gnome-keyring-daemon', ['--unlock', '--components=secrets'], {
    env,
    input: 'test-keyring-password',
    stdio: ['pipe', 'ignore', 'ignore'],
  });
  return {
    env,
    stop() {
      // gnome-keyring-daemon leaves when its session bus goes away.
      try {
        process.kill(Number(pid), 'SIGTERM');
      } catch {
        // already gone
      }
    },
  };
}
