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
   * close() must undo; it runs after the daemon stopped and before HOME is removed.
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
  /**
   * Runs once the daemon answers: clients to keep for the block, values that need its port or
   * token. Cleanups it registers with `defer` run at close before the daemon is stopped.
   */
  afterStart?: (fx: DaemonFixture, defer: (cleanup: () => unknown) => void) => void | Promise<void>;
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
  /**
   * Starts a new daemon for the same user once the one before was stopped (`fx.daemon.stop()`;
   * until then `fx.daemon` is the stopped one, its output still readable).
   * @throws AssertionError when a daemon of this fixture still runs.
   */
  start(): Promise<DaemonProcess>;
  /**
   * Undoes everything in reverse order: afterStart's cleanups, the daemon (SIGTERM, waits for
   * its exit), prepare's cleanups, the keychain; then removes HOME. Runs every step even when
   * one throws (the first error is rethrown); a second call does nothing.
   */
  close(): Promise<void>;
}

/**
 * Starts a daemon as {@link DaemonFixtureOptions} describe. If anything fails on the way, what
 * was made so far is undone before the error is thrown.
 * @param created called with the fixture as soon as it exists (before `prepare`), so that code
 *   holding it elsewhere can read `w` from the steps already.
 */
export async function startDaemonFixture(
  options: DaemonFixtureOptions = {},
  created?: (fixture: DaemonFixture) => void,
): Promise<DaemonFixture> {
  const w = makeWardenEnv();
  // What close() undoes, last first.
  const undo: (() => unknown)[] = [() => w.cleanup()];
  const defer = (cleanup: () => unknown): void => void undo.push(cleanup);
  let keyring: TestKeyring | undefined;
  let daemon: DaemonProcess | undefined;
  let control: ControlClient | undefined;
  const close = async (): Promise<void> => {
    let failure: Error | undefined;
    for (const step of undo.splice(0).reverse()) {
      try {
        await step();
      } catch (error) {
        failure ??= error instanceof Error ? error : new Error(String(error));
      }
    }
    if (failure !== undefined) throw failure;
  };
  const running = (): DaemonProcess => daemon ?? assert.fail('the fixture has no daemon running');
  const fixture: DaemonFixture = {
    w,
    get keyring() {
      return keyring;
    },
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
      await fixture.start();
      return code;
    },
    async start() {
      const child = running().child;
      if (child.exitCode === null && child.signalCode === null)
        assert.fail('the daemon still runs; stop it first');
      daemon = undefined;
      control = undefined;
      daemon = await startDaemonProcess(w);
      return daemon;
    },
    close,
  };
  created?.(fixture);
  try {
    if (options.keyring) {
      const started = startKeyring(w.home, w.env);
      keyring = started;
      defer(() => started.stop());
      Object.assign(w.env, started.env);
    }
    await options.prepare?.(w, defer);
    if (options.config !== undefined) {
      const config = typeof options.config === 'function' ? options.config(w) : options.config;
      w.writeConfig(config, options.allowServers === undefined ? {} : { allowServers: options.allowServers });
    }
    daemon = await startDaemonProcess(w);
    defer(() => daemon?.stop());
    await options.afterStart?.(fixture, defer);
  } catch (error) {
    await close().catch(() => undefined);
    throw error;
  }
  return fixture;
}

/**
 * {@link startDaemonFixture} in a `before` hook of the current describe block, and close() in
 * its `after` hook. The returned object reads the fixture once the hook has begun (its members
 * throw before that; `daemon`, `url`, `token` and `control` until the daemon runs), so the
 * fixture's own steps (`config`, `afterStart`) may read it too.
 */
export function useDaemonFixture(options: DaemonFixtureOptions = {}): DaemonFixture {
  let fixture: DaemonFixture | undefined;
  before(async () => {
    await startDaemonFixture(options, (made) => (fixture = made));
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
    start: () => current().start(),
    close: () => current().close(),
  };
}
