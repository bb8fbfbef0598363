import type { BrowserWindow, BrowserWindowConstructorOptions } from 'electron';
import type { ApprovalRequest, ControlEvent } from '../core/control/contract.ts';
import { appUrl, approvalRoute, popupWindowOptions } from './window-options.ts';

/** What the manager needs of a popup window (a BrowserWindow). */
export type PopupWindow = Pick<
  BrowserWindow,
  | 'loadURL'
  | 'once'
  | 'on'
  | 'show'
  | 'focus'
  | 'isFocused'
  | 'close'
  | 'isDestroyed'
  | 'isMinimized'
  | 'restore'
>;

/** A shown native notification, closable. */
export interface ShownNotification {
  close(): void;
}

export interface ApprovalPopupDeps {
  /** Creates a window (new BrowserWindow) and registers it as ours. */
  createWindow(options: BrowserWindowConstructorOptions): PopupWindow;
  /** Shows a native notification (Notification) whose click calls onClick; null when unsupported. */
  notify(title: string, body: string, onClick: () => void): ShownNotification | null;
  /** Absolute path of the bundled preload. */
  preload: string;
  devTools: boolean;
  /** Runs `fn` after `ms` milliseconds; returns a function that cancels it. */
  setTimer(fn: () => void, ms: number): () => void;
  /** The time now, ms since the epoch. */
  now(): number;
  /** Reports a failure to load a popup (the diagnostic log). */
  onError?(error: unknown): void;
}

/** How long after showing a popup its focus is checked, ms (focus changes are asynchronous). */
export const FOCUS_CHECK_MS = 300;
/** A popup still open this long after its request expired is closed, ms. */
export const EXPIRY_GRACE_MS = 5000;

interface Popup {
  request: ApprovalRequest;
  window: PopupWindow;
  cancelExpiry: () => void;
  cancelFocusCheck?: () => void;
  notification?: ShownNotification | null;
}

/** The notification text for a request: "Approval needed: <server>/<tool> from <client>". */
export function approvalNotificationBody(request: ApprovalRequest): string {
  const client = request.client.name ?? 'an unknown client';
  return `Approval needed: ${request.server}/${request.tool} from ${client}`;
}

/**
 * One popup window per pending approval. A popup opens on `approval.requested` (and, through
 * `sync`, for requests already pending when the app starts or reconnects), shows
 * `#/approval/<id>` (the renderer counts down to `expiresAt` and answers through IPC), is shown
 * and focused once its page is ready, and closes on `approval.resolved`, or EXPIRY_GRACE_MS
 * after `expiresAt` should that event be lost. When the popup did not get the focus (the app is
 * in the background, or the OS refused), a native notification is shown; clicking it brings the
 * popup forward.
 */
export class ApprovalPopups {
  readonly #deps: ApprovalPopupDeps;
  readonly #popups = new Map<string, Popup>();

  constructor(deps: ApprovalPopupDeps) {
    this.#deps = deps;
  }

  /** The ids of the approvals with an open popup. */
  ids(): string[] {
    return [...this.#popups.keys()];
  }

  /** Opens the popup of a request, unless it is open already. */
  open(request: ApprovalRequest): void {
    if (this.#popups.has(request.id)) return;
    const deps = this.#deps;
    const window = deps.createWindow(popupWindowOptions(deps.preload, deps.devTools));
    const expiresIn = Date.parse(request.expiresAt) - deps.now() + EXPIRY_GRACE_MS;
    const popup: Popup = {
      request,
      window,
      cancelExpiry: deps.setTimer(() => this.close(request.id), Math.max(0, expiresIn)),
    };
    this.#popups.set(request.id, popup);
    window.on('closed', () => this.#forget(request.id, popup));
    window.once('ready-to-show', () => {
      if (window.isDestroyed()) return;
      window.show();
      window.focus();
      popup.cancelFocusCheck = deps.setTimer(() => this.#checkFocus(popup), FOCUS_CHECK_MS);
    });
    window.loadURL(appUrl(approvalRoute(request.id))).catch((error: unknown) => deps.onError?.(error));
  }

  /** Closes the popup of an approval (and its notification), if open. */
  close(id: string): void {
    const popup = this.#popups.get(id);
    if (!popup) return;
    this.#forget(id, popup);
    if (!popup.window.isDestroyed()) popup.window.close();
  }

  /** Brings the popup of an approval forward (restored, shown, focused). */
  focus(id: string): void {
    const window = this.#popups.get(id)?.window;
    if (!window || window.isDestroyed()) return;
    if (window.isMinimized()) window.restore();
    window.show();
    window.focus();
  }

  /** Opens popups for the pending requests without one, and closes those no longer pending. */
  sync(pending: ApprovalRequest[]): void {
    const ids = new Set(pending.map((request) => request.id));
    for (const id of this.ids()) if (!ids.has(id)) this.close(id);
    for (const request of pending) this.open(request);
  }

  /** Follows the daemon's approval events. */
  handle(event: ControlEvent): void {
    if (event.type === 'approval.requested') this.open(event.request);
    else if (event.type === 'approval.resolved') this.close(event.id);
  }

  /** Closes every popup (quitting). */
  closeAll(): void {
    for (const id of this.ids()) this.close(id);
  }

  #checkFocus(popup: Popup): void {
    popup.cancelFocusCheck = undefined;
    if (popup.window.isDestroyed() || popup.window.isFocused()) return;
    if (this.#popups.get(popup.request.id) !== popup) return;
    popup.notification = this.#deps.notify('MCP Warden', approvalNotificationBody(popup.request), () =>
      this.focus(popup.request.id),
    );
  }

  #forget(id: string, popup: Popup): void {
    if (this.#popups.get(id) !== popup) return;
    this.#popups.delete(id);
    popup.cancelExpiry();
    popup.cancelFocusCheck?.();
    popup.notification?.close();
  }
}
