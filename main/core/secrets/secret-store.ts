import { createRequire } from 'node:module';
import { WardenError } from '../errors.ts';

/** The keychain service name under which Warden keeps its secrets. */
export const KEYCHAIN_SERVICE = 'mcp-warden';

/** Secret names: what `${secret:NAME}` references use. */
export const SECRET_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

/**
 * Where secret values live. The real one is the OS keychain; there is no plain-text fallback.
 * Every method throws WardenError KEYCHAIN_UNAVAILABLE (saying what is missing and how to fix
 * it) when the keychain cannot be used.
 */
export interface SecretStore {
  get(name: string): Promise<string | undefined>;
  set(name: string, value: string): Promise<void>;
  /** @returns whether a secret was deleted. */
  delete(name: string): Promise<boolean>;
  /** Names only, sorted. */
  list(): Promise<string[]>;
}

interface Keytar {
  getPassword(service: string, account: string): Promise<string | null>;
  setPassword(service: string, account: string, password: string): Promise<void>;
  deletePassword(service: string, account: string): Promise<boolean>;
  findCredentials(service: string): Promise<{ account: string; password: string }[]>;
}

/** @throws WardenError USAGE for a name that references could not use. */
export function assertSecretName(name: string): void {
  if (!SECRET_NAME_PATTERN.test(name)) {
    throw new WardenError(
      'USAGE',
      `"${name}" is not a valid secret name: use letters, digits, ".", "_" and "-" (at most 128)`,
    );
  }
}

/**
 * The OS keychain through keytar: macOS Keychain, Windows Credential Manager, the Secret
 * Service (gnome-keyring, KWallet) on Linux. Values are never logged or put in messages.
 */
export class KeychainSecretStore implements SecretStore {
  #keytar: Keytar | undefined;

  async get(name: string): Promise<string | undefined> {
    assertSecretName(name);
    return (await this.#call((k) => k.getPassword(KEYCHAIN_SERVICE, name))) ?? undefined;
  }

  async set(name: string, value: string): Promise<void> {
    assertSecretName(name);
    if (!value) throw new WardenError('USAGE', `the value of secret "${name}" is empty`);
    await this.#call((k) => k.setPassword(KEYCHAIN_SERVICE, name, value));
  }

  async delete(name: string): Promise<boolean> {
    assertSecretName(name);
    return this.#call((k) => k.deletePassword(KEYCHAIN_SERVICE, name));
  }

  async list(): Promise<string[]> {
    const credentials = await this.#call((k) => k.findCredentials(KEYCHAIN_SERVICE));
    return credentials.map((c) => c.account).sort();
  }

  async #call<T>(operation: (keytar: Keytar) => Promise<T>): Promise<T> {
    const keytar = this.#load();
    try {
      return await operation(keytar);
    } catch (error) {
      throw keychainError(error);
    }
  }

  #load(): Keytar {
    if (this.#keytar) return this.#keytar;
    try {
      this.#keytar = createRequire(import.meta.url)('keytar') as Keytar;
      return this.#keytar;
    } catch (error) {
      throw new WardenError(
        'KEYCHAIN_UNAVAILABLE',
        `the OS keychain module (keytar) is not installed or could not load (${String(error).split('\n')[0]}). ` +
          (process.platform === 'linux'
            ? 'On Linux it needs libsecret: `sudo apt-get install libsecret-1-dev` (Debian/Ubuntu), then reinstall MCP Warden (`npm ci` in a checkout: an optional module whose build failed is not kept).'
            : 'Reinstall MCP Warden.') +
          ' Secrets are never stored in plain text instead.',
        { cause: error },
      );
    }
  }
}

/**
 * Turns keytar's errors into a message that says what is missing and how to fix it on this OS.
 * Seen on Linux: no D-Bus session ("Cannot autolaunch D-Bus without X11 $DISPLAY"), a locked
 * keyring ("Cannot create an item in a locked collection"), no Secret Service running.
 */
export function keychainError(error: unknown): WardenError {
  const text = error instanceof Error ? error.message : String(error);
  let fix: string;
  if (/autolaunch D-Bus|DBUS_SESSION_BUS_ADDRESS|Unable to autolaunch/i.test(text)) {
    fix =
      'there is no D-Bus session, so the Secret Service cannot be reached. On a desktop, log in graphically; on a headless ' +
      'machine run Warden inside `dbus-run-session` with gnome-keyring started and unlocked ' +
      '(`echo -n <password> | gnome-keyring-daemon --unlock --components=secrets`).';
  } else if (/locked collection|is locked|not unlocked/i.test(text)) {
    fix =
      'the keyring is locked. Unlock it (log in to the desktop session, or `gnome-keyring-daemon --unlock`) and try again.';
  } else if (/org\.freedesktop\.secrets|ServiceUnknown|was not provided by any/i.test(text)) {
    fix =
      'no Secret Service is running. Install and start one: `sudo apt-get install gnome-keyring` (or use KWallet).';
  } else if (process.platform === 'darwin') {
    fix =
      'the macOS Keychain refused the operation; check that the login keychain is unlocked (Keychain Access).';
  } else if (process.platform === 'win32') {
    fix = 'Windows Credential Manager refused the operation.';
  } else {
    fix = 'the Secret Service refused the operation.';
  }
  return new WardenError(
    'KEYCHAIN_UNAVAILABLE',
    `the OS keychain is not available: ${fix} (${text}) Nothing was stored in plain text.`,
    {
      cause: error,
    },
  );
}

/** An in-memory store, for unit tests of code that takes a SecretStore. */
export class MemorySecretStore implements SecretStore {
  readonly #values = new Map<string, string>();

  get(name: string): Promise<string | undefined> {
    return Promise.resolve(this.#values.get(name));
  }

  set(name: string, value: string): Promise<void> {
    assertSecretName(name);
    this.#values.set(name, value);
    return Promise.resolve();
  }

  delete(name: string): Promise<boolean> {
    return Promise.resolve(this.#values.delete(name));
  }

  list(): Promise<string[]> {
    return Promise.resolve([...this.#values.keys()].sort());
  }
}
