import type { Session, WebContents } from 'electron';
import { isAppPageUrl } from './window-options.ts';

/** What hardenWebContents needs of a WebContents. */
export type HardenableContents = Pick<WebContents, 'on' | 'setWindowOpenHandler'>;

/**
 * Locks down one WebContents (called for every one the app creates, from
 * `app.on('web-contents-created')`): navigation and redirects anywhere but the renderer's own
 * page are cancelled, `window.open` and links with a target are denied, and `<webview>` tags are
 * refused.
 */
export function hardenWebContents(contents: HardenableContents): void {
  contents.on('will-navigate', (event) => {
    if (!isAppPageUrl(event.url)) event.preventDefault();
  });
  contents.on('will-redirect', (event) => {
    if (!isAppPageUrl(event.url)) event.preventDefault();
  });
  contents.on('will-attach-webview', (event) => event.preventDefault());
  contents.setWindowOpenHandler(() => ({ action: 'deny' }));
}

/**
 * Denies every permission request and check of a session (camera, microphone, notifications,
 * geolocation, clipboard reads, …): the renderer needs none; native notifications come from the
 * main process.
 */
export function denyAllPermissions(
  session: Pick<Session, 'setPermissionRequestHandler' | 'setPermissionCheckHandler'>,
): void {
  session.setPermissionRequestHandler((_contents, _permission, callback) => callback(false));
  session.setPermissionCheckHandler(() => false);
}
