/**
 * A fake of the Electron main-process modules the tray app uses (main/app/start.ts takes them
 * as an argument). Electron itself cannot run on these machines: the `electron` package is
 * installed for its TypeScript types only, its binary is not downloaded (and cannot be), so the
 * main-process glue is exercised against this fake instead. It records what the app does
 * (windows created and the URLs they load, IPC handlers, tray menus, notifications, login item
 * settings) and lets a test play the OS's part (ready-to-show, focus, clicks, quit).
 */
import { EventEmitter } from 'node:events';
import type { BrowserWindowConstructorOptions, MenuItemConstructorOptions } from 'electron';
import type { ElectronMain } from '../../main/app/start.ts';

/** A listener registry with Electron's on/once/emit shape. */
class Emitter extends EventEmitter {}

export class FakeWebContents extends Emitter {
  static nextId = 1;
  readonly id = FakeWebContents.nextId++;
  readonly sent: { channel: string; payload: unknown }[] = [];
  windowOpenHandler: ((details: { url: string }) => { action: string }) | null = null;

  send(channel: string, payload: unknown): void {
    this.sent.push({ channel, payload });
  }
  setWindowOpenHandler(handler: (details: { url: string }) => { action: string }): void {
    this.windowOpenHandler = handler;
  }
}

export class FakeBrowserWindow extends Emitter {
  static instances: FakeBrowserWindow[] = [];
  /** Whether new windows get the focus when asked (false: the OS refused, the app is in the background). */
  static takesFocus = true;
  /** Set by the fake app so every window's contents goes through 'web-contents-created'. */
  static onCreated: ((contents: FakeWebContents) => void) | null = null;

  readonly options: BrowserWindowConstructorOptions;
  readonly webContents = new FakeWebContents();
  readonly urls: string[] = [];
  shown = false;
  focused = false;
  destroyed = false;
  minimized = false;
  restored = 0;

  constructor(options: BrowserWindowConstructorOptions) {
    super();
    this.options = options;
    FakeBrowserWindow.instances.push(this);
    FakeBrowserWindow.onCreated?.(this.webContents);
  }
  loadURL(url: string): Promise<void> {
    this.urls.push(url);
    return Promise.resolve();
  }
  show(): void {
    this.shown = true;
  }
  focus(): void {
    this.focused = FakeBrowserWindow.takesFocus;
  }
  isFocused(): boolean {
    return this.focused;
  }
  isMinimized(): boolean {
    return this.minimized;
  }
  restore(): void {
    this.minimized = false;
    this.restored++;
  }
  isDestroyed(): boolean {
    return this.destroyed;
  }
  close(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.emit('closed');
  }
  /** The page finished loading (Electron's 'ready-to-show'). */
  ready(): void {
    this.emit('ready-to-show');
  }
}

export class FakeTray extends Emitter {
  static instances: FakeTray[] = [];
  readonly image: unknown;
  tooltip = '';
  menus: MenuItemConstructorOptions[][] = [];
  destroyed = false;

  constructor(image: unknown) {
    super();
    this.image = image;
    FakeTray.instances.push(this);
  }
  setToolTip(text: string): void {
    this.tooltip = text;
  }
  setContextMenu(menu: { template: MenuItemConstructorOptions[] }): void {
    this.menus.push(menu.template);
  }
  destroy(): void {
    this.destroyed = true;
  }
  /** The last menu set. */
  get menu(): MenuItemConstructorOptions[] {
    return this.menus[this.menus.length - 1] ?? [];
  }
  /** Clicks the last menu's item with this id (a checkbox toggles first, as Electron does). */
  click(id: string): void {
    const item = this.menu.find((i) => i.id === id);
    if (!item?.click) throw new Error(`no clickable menu item "${id}"`);
    const clicked = item.type === 'checkbox' ? { ...item, checked: !item.checked } : item;
    (item.click as (menuItem: unknown) => void)(clicked);
  }
}

export class FakeNotification extends Emitter {
  static instances: FakeNotification[] = [];
  static supported = true;
  static isSupported(): boolean {
    return FakeNotification.supported;
  }
  readonly options: { title: string; body: string };
  shown = false;
  closed = false;

  constructor(options: { title: string; body: string }) {
    super();
    this.options = options;
    FakeNotification.instances.push(this);
  }
  show(): void {
    this.shown = true;
  }
  close(): void {
    this.closed = true;
  }
  click(): void {
    this.emit('click');
  }
}

type InvokeHandler = (event: unknown, ...args: unknown[]) => unknown;

export class FakeApp extends Emitter {
  gotLock = true;
  lockRequests = 0;
  isPackaged = true;
  quits = 0;
  exitCode: number | null = null;
  hardwareAcceleration = true;
  loginItem = { openAtLogin: false, wasOpenedAtLogin: false };
  loginItemSets: unknown[] = [];
  readonly dock = {
    visible: true,
    hide: () => void (this.dock.visible = false),
    show: () => {
      this.dock.visible = true;
      return Promise.resolve();
    },
  };

  requestSingleInstanceLock(): boolean {
    this.lockRequests++;
    return this.gotLock;
  }
  whenReady(): Promise<void> {
    return Promise.resolve();
  }
  quit(): void {
    this.quits++;
    const event = {
      defaultPrevented: false,
      preventDefault() {
        this.defaultPrevented = true;
      },
    };
    this.emit('before-quit', event);
  }
  exit(code: number): void {
    this.exitCode = code;
  }
  disableHardwareAcceleration(): void {
    this.hardwareAcceleration = false;
  }
  getLoginItemSettings(): { openAtLogin: boolean; wasOpenedAtLogin: boolean } {
    return { ...this.loginItem };
  }
  setLoginItemSettings(settings: { openAtLogin: boolean }): void {
    this.loginItemSets.push(settings);
    this.loginItem.openAtLogin = settings.openAtLogin;
  }
}

export interface FakeElectron {
  electron: ElectronMain;
  app: FakeApp;
  handlers: Map<string, InvokeHandler>;
  schemes: unknown[];
  protocolHandlers: Map<string, (request: Request) => Promise<Response>>;
  permissionRequest:
    ((contents: unknown, permission: string, callback: (granted: boolean) => void) => void) | null;
  permissionCheck: (() => boolean) | null;
  errors: { title: string; content: string }[];
  /** Every WebContents hardened through 'web-contents-created'. */
  contents: FakeWebContents[];
}

/** A fresh fake Electron (static instance lists are reset). */
export function fakeElectron(): FakeElectron {
  FakeBrowserWindow.instances = [];
  FakeBrowserWindow.takesFocus = true;
  FakeTray.instances = [];
  FakeNotification.instances = [];
  FakeNotification.supported = true;
  const app = new FakeApp();
  const fake: FakeElectron = {
    app,
    handlers: new Map(),
    schemes: [],
    protocolHandlers: new Map(),
    permissionRequest: null,
    permissionCheck: null,
    errors: [],
    contents: [],
    electron: undefined as unknown as ElectronMain,
  };
  FakeBrowserWindow.onCreated = (contents) => {
    fake.contents.push(contents);
    app.emit('web-contents-created', {}, contents);
  };
  fake.electron = {
    app,
    BrowserWindow: FakeBrowserWindow,
    dialog: { showErrorBox: (title: string, content: string) => void fake.errors.push({ title, content }) },
    ipcMain: {
      handle: (channel: string, handler: InvokeHandler) => {
        if (fake.handlers.has(channel)) throw new Error(`second handler for ${channel}`);
        fake.handlers.set(channel, handler);
      },
    },
    Menu: { buildFromTemplate: (template: MenuItemConstructorOptions[]) => ({ template }) },
    nativeImage: { createFromPath: (file: string) => ({ file }) },
    Notification: FakeNotification,
    protocol: {
      registerSchemesAsPrivileged: (schemes: unknown[]) => void fake.schemes.push(...schemes),
      handle: (scheme: string, handler: (request: Request) => Promise<Response>) =>
        void fake.protocolHandlers.set(scheme, handler),
    },
    session: {
      defaultSession: {
        setPermissionRequestHandler: (handler: FakeElectron['permissionRequest']) =>
          void (fake.permissionRequest = handler),
        setPermissionCheckHandler: (handler: FakeElectron['permissionCheck']) =>
          void (fake.permissionCheck = handler),
      },
    },
    Tray: FakeTray,
  } as unknown as ElectronMain;
  return fake;
}

/** An IPC invoke event as Electron builds it: the sending WebContents and its frame. */
export function invokeEvent(
  sender: { id: number },
  url: string | null,
  options: { subframe?: boolean } = {},
): { sender: { id: number }; senderFrame: { url: string; parent: unknown } | null } {
  return {
    sender,
    senderFrame:
      url === null ? null : { url, parent: options.subframe ? { url: 'app://warden/index.html' } : null },
  };
}
