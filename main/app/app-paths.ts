import path from 'node:path';

/** Where the app's own files are. */
export interface AppPaths {
  /** The app root: the checkout in development, app.asar when packaged. */
  root: string;
  /** The built renderer (index.html and assets), served as app://warden/. */
  rendererDir: string;
  /** The bundled sandboxed preload. */
  preload: string;
  /** The tray icon for this OS. */
  trayIcon: string;
}

/**
 * The app's file locations, found from the directory of the running main.js (dist/main/app).
 * The layout is the same in development (the checkout after `npm run build`,
 * `build:preload` and `build:renderer`) and packaged (electron-builder copies dist/ and
 * resources/ into app.asar, and Electron reads files inside it):
 * `<root>/dist/renderer/`, `<root>/dist/preload/preload.cjs`, `<root>/resources/tray/`.
 * On macOS the tray icon is a template image (black and alpha; the `Template` suffix makes the
 * menu bar tint it, and the @2x file beside it is picked up on Retina displays).
 * @param mainDir the directory of main.js.
 * @param platform process.platform.
 */
export function appPaths(mainDir: string, platform: NodeJS.Platform): AppPaths {
  const root = path.resolve(mainDir, '..', '..', '..');
  return {
    root,
    rendererDir: path.join(root, 'dist', 'renderer'),
    preload: path.join(root, 'dist', 'preload', 'preload.cjs'),
    trayIcon: path.join(root, 'resources', 'tray', platform === 'darwin' ? 'trayTemplate.png' : 'tray.png'),
  };
}
