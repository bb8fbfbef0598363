import type { BrowserWindowConstructorOptions, WebPreferences } from 'electron';

/**
 * Where the renderer lives and how every window is locked down. The renderer is served from a
 * custom `app://warden` origin (app-protocol.ts explains why not file://); every view is a hash
 * route of its one page.
 */

/** The custom scheme of the renderer's pages. */
export const APP_SCHEME = 'app';
/** The scheme's only host; the renderer's origin is `app://warden`. */
export const APP_HOST = 'warden';
/** The renderer's single page. */
export const APP_PAGE_URL = `${APP_SCHEME}://${APP_HOST}/index.html`;

/**
 * Content-Security-Policy sent with every app:// response (the renderer's index.html carries
 * its own meta tag too; the header adds `frame-ancestors`, which a meta tag cannot set). No
 * 'unsafe-eval' and no 'unsafe-inline': Vite emits scripts and styles as files, and React sets
 * styles through the CSSOM, which style-src does not govern.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "frame-src 'none'",
  "object-src 'none'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
  "form-action 'none'",
].join('; ');

/**
 * The URL of one view of the renderer.
 * @param route a hash route such as "/servers" or "/approval/<id>" (leading slash).
 */
export function appUrl(route: string): string {
  return `${APP_PAGE_URL}#${route}`;
}

/** The approval popup's view for one approval id (URL-encoded). */
export function approvalRoute(id: string): string {
  return `/approval/${encodeURIComponent(id)}`;
}

/**
 * True when `url` is the renderer's own page (app://warden/index.html, any hash), the only page
 * our windows may show and the only one whose frames may use IPC. Anything else is false:
 * another scheme or host, another path, credentials, a port, or an unparsable URL.
 */
export function isAppPageUrl(url: string): boolean {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return false;
  }
  return (
    parsed.protocol === `${APP_SCHEME}:` &&
    parsed.host === APP_HOST &&
    parsed.username === '' &&
    parsed.password === '' &&
    parsed.pathname === '/index.html'
  );
}

/**
 * The web preferences of every window: an isolated, sandboxed renderer without Node.js, with
 * only the preload bridge (window.warden) between it and the main process.
 * @param preload absolute path of the bundled preload (dist/preload/preload.cjs).
 * @param devTools whether the developer tools may open (development builds only).
 */
export function hardenedWebPreferences(preload: string, devTools: boolean): WebPreferences {
  return {
    preload,
    contextIsolation: true,
    sandbox: true,
    nodeIntegration: false,
    nodeIntegrationInWorker: false,
    nodeIntegrationInSubFrames: false,
    webSecurity: true,
    allowRunningInsecureContent: false,
    webviewTag: false,
    navigateOnDragDrop: false,
    safeDialogs: true,
    spellcheck: false,
    devTools,
  };
}

/** Size of an approval popup, px. */
export const POPUP_SIZE = { width: 480, height: 560, minWidth: 400, minHeight: 440 } as const;

/**
 * Options of one approval popup: small, always on top, shown once its page is ready (the
 * manager shows and focuses it), resizable but never below POPUP_SIZE's minimum.
 */
export function popupWindowOptions(preload: string, devTools: boolean): BrowserWindowConstructorOptions {
  return {
    ...POPUP_SIZE,
    title: 'Approval needed — MCP Warden',
    show: false,
    alwaysOnTop: true,
    resizable: true,
    minimizable: false,
    maximizable: false,
    fullscreenable: false,
    autoHideMenuBar: true,
    webPreferences: hardenedWebPreferences(preload, devTools),
  };
}

/** Options of the dashboard window (one, re-used). */
export function dashboardWindowOptions(preload: string, devTools: boolean): BrowserWindowConstructorOptions {
  return {
    width: 1100,
    height: 760,
    minWidth: 720,
    minHeight: 480,
    title: 'MCP Warden',
    show: false,
    autoHideMenuBar: true,
    webPreferences: hardenedWebPreferences(preload, devTools),
  };
}
