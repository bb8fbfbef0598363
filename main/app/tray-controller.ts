import type { Menu, MenuItemConstructorOptions, Tray } from 'electron';
import type { ControlEvent } from '../core/control/contract.ts';
import type { WardenApi } from '../core/control/warden-api.ts';
import { describeError } from '../core/errors.ts';
import { trayMenuTemplate, trayTooltip, type TrayActions, type TrayState } from './tray-menu.ts';

export interface TrayControllerDeps {
  tray: Pick<Tray, 'setContextMenu' | 'setToolTip'>;
  /** Menu.buildFromTemplate. */
  buildMenu(template: MenuItemConstructorOptions[]): Menu;
  api: Pick<WardenApi, 'status' | 'policyStatus'>;
  actions: TrayActions;
  /** Whether the app starts at login now; null where the OS has no login item. */
  launchAtLogin(): boolean | null;
}

/**
 * Keeps the tray's tooltip and menu in step with the daemon: reads the status and the org policy
 * sync state, then rebuilds the menu (trayMenuTemplate). Refreshes are coalesced: a refresh
 * asked for while one runs makes exactly one more run after it.
 */
export class TrayController {
  readonly #deps: TrayControllerDeps;
  #state: TrayState = { status: null, policySync: null, launchAtLogin: null };
  #running: Promise<void> | null = null;
  #again = false;

  constructor(deps: TrayControllerDeps) {
    this.#deps = deps;
    this.render();
  }

  /** The state the menu was last built from. */
  get state(): TrayState {
    return this.#state;
  }

  /** Reads the daemon's state and rebuilds the menu; never rejects (a failed read shows in the menu). */
  refresh(): Promise<void> {
    if (this.#running) {
      this.#again = true;
      return this.#running;
    }
    this.#running = (async () => {
      do {
        this.#again = false;
        await this.#read();
        this.render();
      } while (this.#again);
    })().finally(() => {
      this.#running = null;
    });
    return this.#running;
  }

  /** Refreshes on the events that change what the menu shows (status and approvals). */
  handle(event: ControlEvent): void {
    if (
      event.type === 'status.changed' ||
      event.type === 'approval.requested' ||
      event.type === 'approval.resolved'
    )
      void this.refresh();
  }

  /** Rebuilds the menu from the last state read (and the login item setting, read now). */
  render(): void {
    this.#state = { ...this.#state, launchAtLogin: this.#deps.launchAtLogin() };
    this.#deps.tray.setToolTip(trayTooltip(this.#state));
    this.#deps.tray.setContextMenu(this.#deps.buildMenu(trayMenuTemplate(this.#state, this.#deps.actions)));
  }

  async #read(): Promise<void> {
    try {
      const [status, policy] = await Promise.all([this.#deps.api.status(), this.#deps.api.policyStatus()]);
      this.#state = { status, policySync: policy.org, launchAtLogin: this.#state.launchAtLogin };
    } catch (error) {
      this.#state = {
        status: null,
        error: describeError(error),
        policySync: null,
        launchAtLogin: this.#state.launchAtLogin,
      };
    }
  }
}
