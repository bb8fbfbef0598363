/**
 * One real daemon for a test or a describe block: an isolated user (makeWardenEnv: its own HOME
 * and XDG directories), optionally a private keychain, the user's config, then `mcp-warden
 * serve` as a real process on a free port, with its URL, bearer token and a ControlClient; at
 * the end the daemon is stopped and everything the fixture made is removed.
 *
 *     describe('…', () => {
 *       const fx = useDaemonFixture({ config: { mcpServers: { everything: everythingServer() } } });
 *       test('…', async () => { const client = await httpClient(fx.url, fx.token, 'everything'); … });
 *     });
 */
import assert from 'node:assert/strict';
import { after, before } from 'node:test';
import { ControlClient } from '../../main/core/control/control-client.ts';
import { startKeyring, type TestKeyring } from './keyring.ts';
import { makeWardenEnv, startDaemonProcess, type DaemonProcess, type WardenEnv } from './warden-env.ts';

type Config = Record<string, unknown>;

export interface DaemonFixtureOptions {
  /**
   * Start a private gnome-keyring first (test/helpers/keyring.ts) and put its variables into
   * the user's environment; stopped at close.
   */
  keyring?: boolean;
  /**
   * Runs once the user (and keychain) exist, before the config is written and the daemon starts:
   * files, fixture servers, secrets, more environment variables. `defer(cleanup)` registers what
   * close() must undo; cleanups run last registered first, after the daemon stopped and before
   * HOME is removed.
   */
  prepare?: (w: WardenEnv, defer: (cleanup: () => unknown) => void) => void | Promise<void>;
  /**
   * The user's config, written with WardenEnv.writeConfig after `prepare`; a function is given
   * the user (for paths under its HOME). Omitted: nothing is written here (the daemon writes its
   * default config unless `prepare` wrote one).
   */
  config?: Config | ((w: WardenEnv) => Config);
  /** Passed to writeConfig: false writes the config without allow rules for its servers. */
  allowServers?: boolean;
}

export interface DaemonFixture {
  /** The isolated user: HOME, environment, paths, writeConfig. */
  readonly w: WardenEnv;
  /** The daemon running now (after restart(), the new one). */
  readonly daemon: DaemonProcess;
  /** The daemon's base URL, e.g. http://127.0.0.1:40123. */
  readonly url: string;
  /** Its bearer token (from the state file it wrote). */
  readonly token: string;
  /** A control API client for the daemon running now, as the CLI and the app use it. */
  readonly control: ControlClient;
  /** The private keychain, when `keyring` was asked for. */
  readonly keyring: TestKeyring | undefined;
  /**
   * Stops the daemon (SIGTERM, waits for its exit) and starts a new one for the same user.
   * @returns the exit code of the stopped daemon.
   */
  restart(): Promise<number | null>;
  /** Stops the daemon, runs the deferred cleanups, stops the keychain and removes HOME. */
  close(): Promise<void>;
}

/**
 * Starts a daemon as {@link DaemonFixtureOptions} describe. If anything fails on the way, what
 * was made so far is undone before the error is thrown.
 */
export async function startDaemonFixture(options: DaemonFixtureOptions = {}): Promise<DaemonFixture> {
  const w = makeWardenEnv();
  const cleanups: (() => unknown)[] = [];
  const defer = (cleanup: () => unknown): void => void cleanups.push(cleanup);
  let keyring: TestKeyring | undefined;
  let daemon: DaemonProcess | undefined;
  let control: ControlClient | undefined;
  const close = async (): Promise<void> => {
    try {
      await daemon?.stop();
    } finally {
      for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
      keyring?.stop();
      w.cleanup();
    }
  };
  try {
    if (options.keyring) {
      keyring = startKeyring(w.home, w.env);
      Object.assign(w.env, keyring.env);
    }
    await options.prepare?.(w, defer);
    if (options.config !== undefined) {
      const config = typeof options.config === 'function' ? options.config(w) : options.config;
      w.writeConfig(config, options.allowServers === undefined ? {} : { allowServers: options.allowServers });
    }
    daemon = await startDaemonProcess(w);
  } catch (error) {
    await close();
    throw error;
  }
  const running = (): DaemonProcess => daemon ?? assert.fail('the fixture has no daemon running');
  return {
    w,
    keyring,
    get daemon() {
      return running();
    },
    get url() {
      return running().url;
    },
    get token() {
      return running().token;
    },
    get control() {
      control ??= new ControlClient(`${running().url}/api/v1`, running().token);
      return control;
    },
    async restart() {
      const code = await running().stop();
      daemon = undefined;
      control = undefined;
      daemon = await startDaemonProcess(w);
      return code;
    },
    close,
  };
}

/**
 * {@link startDaemonFixture} in a `before` hook of the current describe block, and close() in
 * its `after` hook. The returned object reads the fixture once the hook has run (its members
 * throw before that).
 */
export function useDaemonFixture(options: DaemonFixtureOptions = {}): DaemonFixture {
  let fixture: DaemonFixture | undefined;
  before(async () => {
    fixture = await startDaemonFixture(options);
  });
  after(async () => {
    await fixture?.close();
  });
  const current = (): DaemonFixture =>
    fixture ?? assert.fail('the daemon fixture is read before its before() hook ran');
  return {
    get w() {
      return current().w;
    },
    get daemon() {
      return current().daemon;
    },
    get url() {
      return current().url;
    },
    get token() {
      return current().token;
    },
    get control() {
      return current().control;
    },
    get keyring() {
      return current().keyring;
    },
    restart: () => current().restart(),
    close: () => current().close(),
  };
}
