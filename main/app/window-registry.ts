import type { BrowserWindow, WebContents } from 'electron';

/** What the registry needs of a window. */
export type RegisteredWindow = Pick<BrowserWindow, 'on' | 'isDestroyed'> & {
  webContents: Pick<WebContents, 'id' | 'send'>;
};

/**
 * The app's own windows (dashboard and approval popups): the only senders IPC trusts and the
 * only receivers of daemon events. A window leaves the registry when it closes.
 */
export class WindowRegistry {
  readonly #windows = new Set<RegisteredWindow>();

  /** Adds a window; it is removed on its 'closed' event. */
  add(window: RegisteredWindow): void {
    this.#windows.add(window);
    window.on('closed', () => this.#windows.delete(window));
  }

  /** True when `contents` belongs to a registered, live window. */
  ownsWebContents(contents: Pick<WebContents, 'id'>): boolean {
    for (const window of this.#windows) {
      if (!window.isDestroyed() && window.webContents.id === contents.id) return true;
    }
    return false;
  }

  /** Sends one message to every registered, live window. */
  send(channel: string, payload: unknown): void {
    for (const window of this.#windows) {
      if (!window.isDestroyed()) window.webContents.send(channel, payload);
    }
  }

  /** How many windows are registered. */
  get size(): number {
    return this.#windows.size;
  }
}
