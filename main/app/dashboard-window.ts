import type { BrowserWindow, BrowserWindowConstructorOptions } from 'electron';
import { appUrl, dashboardWindowOptions } from './window-options.ts';

/** What the dashboard needs of its window (a BrowserWindow). */
export type DashboardBrowserWindow = Pick<
  BrowserWindow,
  'loadURL' | 'once' | 'on' | 'show' | 'focus' | 'isDestroyed' | 'isMinimized' | 'restore'
>;

export interface DashboardDeps {
  /** Creates a window (new BrowserWindow) and registers it as ours. */
  createWindow(options: BrowserWindowConstructorOptions): DashboardBrowserWindow;
  preload: string;
  devTools: boolean;
  /** Called when the window opens and when it closes (macOS shows the Dock icon meanwhile). */
  onVisibility?(open: boolean): void;
  onError?(error: unknown): void;
}

/** The dashboard's default page. */
export const DASHBOARD_DEFAULT_ROUTE = '/servers';

/** The one dashboard window: created on first use, re-used (brought forward) after. */
export class DashboardWindow {
  readonly #deps: DashboardDeps;
  #window: DashboardBrowserWindow | null = null;

  constructor(deps: DashboardDeps) {
    this.#deps = deps;
  }

  /** True while the dashboard window exists. */
  get isOpen(): boolean {
    return this.#window !== null && !this.#window.isDestroyed();
  }

  /**
   * Shows the dashboard, creating it on `route` (default DASHBOARD_DEFAULT_ROUTE) or, when it is
   * open already, bringing it forward and switching to `route` if one is given.
   * @param route a hash route such as "/activity".
   */
  show(route?: string): void {
    const existing = this.#window;
    if (existing && !existing.isDestroyed()) {
      if (route) this.#load(existing, route);
      if (existing.isMinimized()) existing.restore();
      existing.show();
      existing.focus();
      return;
    }
    const window = this.#deps.createWindow(dashboardWindowOptions(this.#deps.preload, this.#deps.devTools));
    this.#window = window;
    window.on('closed', () => {
      if (this.#window === window) this.#window = null;
      this.#deps.onVisibility?.(false);
    });
    window.once('ready-to-show', () => {
      if (window.isDestroyed()) return;
      window.show();
      window.focus();
    });
    this.#deps.onVisibility?.(true);
    this.#load(window, route ?? DASHBOARD_DEFAULT_ROUTE);
  }

  #load(window: DashboardBrowserWindow, route: string): void {
    window.loadURL(appUrl(route)).catch((error: unknown) => this.#deps.onError?.(error));
  }
}
