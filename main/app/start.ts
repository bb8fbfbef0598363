import type {
  App,
  BrowserWindow,
  BrowserWindowConstructorOptions,
  Dialog,
  IpcMain,
  Menu,
  nativeImage,
  Notification,
  Protocol,
  session,
  Tray,
} from 'electron';
import type { DestinationStream } from 'pino';
import { loadConfig } from '../core/config/load.ts';
import { connectControlClient } from '../core/control/connect.ts';
import { ControlClient } from '../core/control/control-client.ts';
import type { WardenApi } from '../core/control/warden-api.ts';
import { startDaemon, type DaemonOptions, type RunningDaemon } from '../core/daemon/daemon.ts';
import { describeError, isWardenError } from '../core/errors.ts';
import { createLogger, type Logger } from '../core/log.ts';
import { logMaxBytes, openRotatingLog } from '../core/log-file.ts';
import { resolvePaths, type WardenPaths } from '../core/paths.ts';
import { runConnect } from '../shim/connect.ts';
import { appPaths } from './app-paths.ts';
import { APP_SCHEME_PRIVILEGES, createAppProtocolHandler } from './app-protocol.ts';
import { ApprovalPopups } from './approval-popups.ts';
import { IPC_EVENT_CHANNEL } from './channels.ts';
import { DashboardWindow } from './dashboard-window.ts';
import { denyAllPermissions, hardenWebContents } from './harden.ts';
import { registerIpcHandlers } from './ipc.ts';
import { daemonEntryArg, HIDDEN_SWITCH, parseLaunch, portFromEnv, type Launch } from './launch-args.ts';
import { TrayController } from './tray-controller.ts';
import { APP_SCHEME } from './window-options.ts';
import { WindowRegistry } from './window-registry.ts';

/** The Electron main-process modules the app uses (main.ts passes the real ones, tests fakes). */
export interface ElectronMain {
  app: App;
  BrowserWindow: typeof BrowserWindow;
  dialog: Pick<Dialog, 'showErrorBox'>;
  ipcMain: Pick<IpcMain, 'handle'>;
  Menu: Pick<typeof Menu, 'buildFromTemplate'>;
  nativeImage: Pick<typeof nativeImage, 'createFromPath'>;
  Notification: typeof Notification;
  protocol: Pick<Protocol, 'registerSchemesAsPrivileged' | 'handle'>;
  session: Pick<typeof session, 'defaultSession'>;
  Tray: typeof Tray;
}

/** Everything else the app takes from its surroundings: the process and the Warden core. */
export interface MainDeps {
  /** process.argv */
  argv: readonly string[];
  /** process.defaultApp: true when run as `electron <app path>`. */
  defaultApp: boolean;
  platform: NodeJS.Platform;
  env: NodeJS.ProcessEnv;
  /** The directory of the running main.js (dist/main/app). */
  mainDir: string;
  stderr: Pick<NodeJS.WritableStream, 'write'>;
  resolvePaths: typeof resolvePaths;
  runConnect: typeof runConnect;
  loadConfig: typeof loadConfig;
  startDaemon: (options: DaemonOptions) => Promise<RunningDaemon>;
  /** A client of a daemon that already runs (found through its state file). */
  connectControlClient: (paths: WardenPaths) => Promise<WardenApi>;
  /** A client of the daemon this app started: base "http://127.0.0.1:<port>/api/v1" and its token. */
  createClient: (base: string, token: string) => WardenApi;
  /** The diagnostic logger, writing to `file` (the daemon log, rotated by size). */
  createLogger: (file: string) => Logger | Promise<Logger>;
}

/** The parts of the running tray app (for tests and for quitting). */
export interface RunningApp {
  api: WardenApi;
  /** The daemon this app runs in-process, or null when it attached to one already running. */
  daemon: RunningDaemon | null;
  windows: WindowRegistry;
  dashboard: DashboardWindow;
  popups: ApprovalPopups;
  tray: TrayController;
}

/** What `main` started: the launch read from argv, and a promise settled once it is up (or done). */
export interface Started {
  launch: Launch;
  /** Connect shim: settles when the shim has exited. Tray app: the running app, or null if it quit. */
  done: Promise<RunningApp | null>;
}

/**
 * The app's entry: dispatches on the command line (parseLaunch). `connect <server>` runs the
 * stdio connect shim and exits with its code: no window, no tray, no single-instance lock (one
 * shim runs per client connection). Otherwise the tray app starts (startTrayApp), unless another
 * instance holds the single-instance lock: then that one shows its dashboard and this one quits.
 * Must be called before the app's `ready` event (it registers the app:// scheme).
 */
export function main(electron: ElectronMain, deps: MainDeps): Started {
  const launch = parseLaunch(deps.argv, deps.defaultApp);
  if (launch.mode === 'usage') {
    deps.stderr.write(`mcp-warden: ${launch.message}\n`);
    electron.app.exit(2);
    return { launch, done: Promise.resolve(null) };
  }
  if (launch.mode === 'connect')
    return { launch, done: runShim(electron.app, launch, deps).then(() => null) };
  return { launch, done: runApp(electron, launch, deps) };
}

/**
 * Runs the connect shim (main/shim/connect.ts) inside the app binary, then exits with its code.
 * When no daemon answers, the shim's launcher starts this same executable in the background
 * (daemonEntryArg), i.e. the tray app with its in-process daemon.
 */
async function runShim(
  app: Pick<App, 'disableHardwareAcceleration' | 'exit' | 'dock'>,
  launch: Extract<Launch, { mode: 'connect' }>,
  deps: MainDeps,
): Promise<void> {
  // A shim shows nothing: no GPU process, no Dock icon.
  app.disableHardwareAcceleration();
  app.dock?.hide();
  try {
    const code = await deps.runConnect({
      server: launch.server,
      paths: deps.resolvePaths(launch.config),
      cliEntry: daemonEntryArg(deps.argv, deps.defaultApp),
      ...(launch.config ? { configOverride: launch.config } : {}),
    });
    app.exit(code);
  } catch (error) {
    deps.stderr.write(`mcp-warden connect ${launch.server}: ${describeError(error)}\n`);
    app.exit(1);
  }
}

async function runApp(
  electron: ElectronMain,
  launch: Extract<Launch, { mode: 'app' }>,
  deps: MainDeps,
): Promise<RunningApp | null> {
  const { app } = electron;
  // Before `ready`, as Electron requires.
  electron.protocol.registerSchemesAsPrivileged([APP_SCHEME_PRIVILEGES]);
  if (!app.requestSingleInstanceLock()) {
    // The first instance receives 'second-instance' with our argv and shows its dashboard.
    app.quit();
    return null;
  }
  app.on('web-contents-created', (_event, contents) => hardenWebContents(contents));
  // A tray app keeps running with no window open.
  app.on('window-all-closed', () => {});
  try {
    await app.whenReady();
    return await startTrayApp(electron, launch, deps);
  } catch (error) {
    electron.dialog.showErrorBox('MCP Warden could not start', describeError(error));
    app.exit(1);
    return null;
  }
}

/**
 * Starts the daemon in-process, as `mcp-warden serve` does (same config, paths and logger), or,
 * when a daemon already runs for this user (DAEMON_ALREADY_RUNNING: a `serve` in a terminal),
 * attaches to it through its state file; quitting the app then leaves it running.
 * @throws whatever startDaemon throws otherwise (invalid config, port in use, audit log).
 */
export async function startOrAttach(
  deps: Pick<MainDeps, 'startDaemon' | 'connectControlClient' | 'createClient'>,
  options: DaemonOptions,
): Promise<{ api: WardenApi; daemon: RunningDaemon | null }> {
  try {
    const daemon = await deps.startDaemon(options);
    return { api: deps.createClient(`${daemon.url}/api/v1`, daemon.token), daemon };
  } catch (error) {
    if (!isWardenError(error, 'DAEMON_ALREADY_RUNNING')) throw error;
    return { api: await deps.connectControlClient(options.paths), daemon: null };
  }
}

/**
 * Once the app is ready: serves the renderer on app://, denies permissions, starts (or attaches
 * to) the daemon, registers the IPC handlers, creates the tray, the approval popups and the
 * dashboard, follows the daemon's events, and stops the daemon when the app quits. Opens the
 * dashboard unless started hidden (by a shim, or at login).
 */
export async function startTrayApp(
  electron: ElectronMain,
  launch: Extract<Launch, { mode: 'app' }>,
  deps: MainDeps,
): Promise<RunningApp> {
  const { app, BrowserWindow, Menu, nativeImage, Notification, Tray } = electron;
  const files = appPaths(deps.mainDir, deps.platform);
  const devTools = !app.isPackaged;
  denyAllPermissions(electron.session.defaultSession);
  electron.protocol.handle(APP_SCHEME, createAppProtocolHandler(files.rendererDir));

  const paths = deps.resolvePaths(launch.config);
  const config = deps.loadConfig(paths, { createDefault: true });
  const logger = await deps.createLogger(paths.daemonLogFile);
  const port = portFromEnv(deps.env);
  const { api, daemon } = await startOrAttach(deps, {
    config,
    paths,
    logger,
    ...(port !== undefined ? { port } : {}),
  });
  const log = logger.child({ component: 'app' });
  const report = (error: unknown): void => log.warn({ error: describeError(error) }, 'tray app');
  /** A failed tray action: logged, and told in a notification (a menu click has no other answer). */
  const failed =
    (what: string) =>
    (error: unknown): void => {
      report(error);
      if (Notification.isSupported()) {
        new Notification({ title: 'MCP Warden', body: `${what}: ${describeError(error)}` }).show();
      }
    };

  const windows = new WindowRegistry();
  const createWindow = (options: BrowserWindowConstructorOptions): BrowserWindow => {
    const window = new BrowserWindow(options);
    windows.add(window);
    return window;
  };
  registerIpcHandlers(electron.ipcMain, api, (contents) => windows.ownsWebContents(contents));

  const mac = deps.platform === 'darwin';
  const dashboard = new DashboardWindow({
    createWindow,
    preload: files.preload,
    devTools,
    onVisibility: (open) => {
      if (!mac) return;
      if (open) void app.dock?.show();
      else app.dock?.hide();
    },
    onError: report,
  });
  const popups = new ApprovalPopups({
    createWindow,
    notify: (title, body, onClick) => {
      if (!Notification.isSupported()) return null;
      const notification = new Notification({ title, body });
      notification.on('click', onClick);
      notification.show();
      return notification;
    },
    preload: files.preload,
    devTools,
    setTimer: (fn, ms) => {
      // Unreferenced: a popup's timer alone never keeps the process alive.
      const timer = setTimeout(fn, Math.min(ms, 2 ** 31 - 1)).unref();
      return () => clearTimeout(timer);
    },
    now: () => Date.now(),
    onError: report,
  });

  const loginItem = loginItemControl(app, deps.platform);
  const tray = new Tray(nativeImage.createFromPath(files.trayIcon));
  const trayController: TrayController = new TrayController({
    tray,
    buildMenu: (template) => Menu.buildFromTemplate(template),
    api,
    launchAtLogin: loginItem.get,
    actions: {
      pause: () =>
        void api.pause().then(() => trayController.refresh(), failed('Could not pause the servers')),
      resume: () =>
        void api.resume().then(() => trayController.refresh(), failed('Could not resume the servers')),
      openDashboard: () => dashboard.show(),
      setLaunchAtLogin: (enabled) => {
        loginItem.set(enabled);
        trayController.render();
      },
      quit: () => app.quit(),
    },
  });
  // Windows opens the dashboard on a left click; macOS and Linux show the menu.
  if (deps.platform === 'win32') tray.on('click', () => dashboard.show());

  const unsubscribe = api.subscribe(
    (event) => {
      popups.handle(event);
      trayController.handle(event);
      windows.send(IPC_EVENT_CHANNEL, event);
    },
    () => {
      void trayController.refresh();
      api.approvals().then((pending) => popups.sync(pending), report);
    },
  );

  app.on('second-instance', (_event, argv) => {
    const again = parseLaunch(argv, deps.defaultApp);
    if (again.mode === 'app' && !again.hidden) dashboard.show();
  });
  app.on('activate', () => dashboard.show());

  let stopped = false;
  let stopping = false;
  app.on('before-quit', (event) => {
    if (stopped) return;
    event.preventDefault();
    if (stopping) return;
    stopping = true;
    unsubscribe();
    popups.closeAll();
    tray.destroy();
    void (daemon ? daemon.close() : Promise.resolve()).catch(report).finally(() => {
      stopped = true;
      app.quit();
    });
  });

  if (!launch.hidden && !loginItem.openedAtLogin()) dashboard.show();
  else if (mac) app.dock?.hide();
  log.info({ daemon: daemon ? daemon.url : 'attached to a running daemon' }, 'tray app started');
  return { api, daemon, windows, dashboard, popups, tray: trayController };
}

/**
 * The "Launch at login" setting. macOS and Windows have login items (app.setLoginItemSettings);
 * on Windows the item passes HIDDEN_SWITCH, and getLoginItemSettings must be asked with the same
 * arguments. Linux has none here: the menu item is disabled there.
 */
function loginItemControl(
  app: Pick<App, 'getLoginItemSettings' | 'setLoginItemSettings'>,
  platform: NodeJS.Platform,
): { get: () => boolean | null; set: (enabled: boolean) => void; openedAtLogin: () => boolean } {
  if (platform !== 'darwin' && platform !== 'win32') {
    return { get: () => null, set: () => {}, openedAtLogin: () => false };
  }
  const args = [HIDDEN_SWITCH];
  return {
    get: () => app.getLoginItemSettings({ args }).openAtLogin,
    set: (enabled) => app.setLoginItemSettings({ openAtLogin: enabled, args }),
    // Windows passes HIDDEN_SWITCH (parseLaunch reads it); macOS says so itself.
    openedAtLogin: () => platform === 'darwin' && app.getLoginItemSettings().wasOpenedAtLogin,
  };
}

/**
 * The log destination of the tray app: the daemon log (as for a shim-started daemon), rotated
 * by size ($MCP_WARDEN_LOG_MAX_SIZE, else 10 MiB; 5 files kept), readable by the user alone.
 * @throws WardenError USAGE for an invalid $MCP_WARDEN_LOG_MAX_SIZE.
 */
export function openLogDestination(
  file: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<DestinationStream> {
  return openRotatingLog(file, { maxBytes: logMaxBytes(env) });
}

/** The real dependencies, for main.ts. */
export function defaultMainDeps(mainDir: string): MainDeps {
  return {
    argv: process.argv,
    defaultApp: process.defaultApp === true,
    platform: process.platform,
    env: process.env,
    mainDir,
    stderr: process.stderr,
    resolvePaths,
    runConnect,
    loadConfig,
    startDaemon,
    connectControlClient,
    createClient: (base, token) => new ControlClient(base, token),
    createLogger: async (file) => createLogger({ destination: await openLogDestination(file) }),
  };
}
