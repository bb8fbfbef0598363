import type { MenuItemConstructorOptions } from 'electron';
import type { OrgSyncStatus, StatusResponse } from '../core/control/contract.ts';

/** What the tray shows; everything the pure functions below read. */
export interface TrayState {
  /** The daemon's status, or null before the first answer or when it does not answer. */
  status: StatusResponse | null;
  /** Why `status` is null, when a read failed. */
  error?: string;
  /** The org policy's sync state, or null when no org policy is configured. */
  policySync: OrgSyncStatus | null;
  /** Whether the app starts at login, or null where the OS offers no login item (Linux). */
  launchAtLogin: boolean | null;
}

/** What the menu's items do. Each returns at once; failures are the caller's to report. */
export interface TrayActions {
  pause(): void;
  resume(): void;
  openDashboard(): void;
  setLaunchAtLogin(enabled: boolean): void;
  quit(): void;
}

function plural(count: number, word: string): string {
  return `${count} ${word}${count === 1 ? '' : 's'}`;
}

/**
 * The status lines at the top of the menu: servers in use and allowed (and failing, when a
 * server's circuit breaker is open), pending approvals, the org policy in force (with its sync
 * trouble, if any), and "Paused" while paused.
 */
export function trayStatusLines(state: TrayState): string[] {
  const { status } = state;
  if (!status) return [state.error ? 'Warden daemon not reachable' : 'Starting…'];
  const lines: string[] = [];
  const total = status.servers.length;
  if (total === 0) {
    lines.push('No servers configured');
  } else {
    const allowed = status.servers.filter((s) => s.allowed).length;
    const inUse = status.servers.filter((s) => s.sessions > 0).length;
    const failing = status.servers.filter((s) => s.breaker === 'open').length;
    lines.push(
      `Servers: ${inUse} in use, ${allowed} of ${total} allowed` + (failing ? `, ${failing} failing` : ''),
    );
  }
  lines.push(
    status.pendingApprovals === 0
      ? 'No pending approvals'
      : plural(status.pendingApprovals, 'pending approval'),
  );
  let policy = status.policyVersion ? `Org policy: ${status.policyVersion}` : 'No org policy';
  if (state.policySync?.inGrace) policy += ' (expired, in grace period)';
  else if (state.policySync?.lastError) policy += ' (last sync failed)';
  lines.push(policy);
  if (status.paused) lines.push('Paused: no server runs');
  return lines;
}

/** The tray icon's tooltip: the app's name, then "paused" and pending approvals when any. */
export function trayTooltip(state: TrayState): string {
  const parts = ['MCP Warden'];
  if (!state.status) parts.push(state.error ? 'daemon not reachable' : 'starting');
  else {
    if (state.status.paused) parts.push('paused');
    if (state.status.pendingApprovals > 0)
      parts.push(plural(state.status.pendingApprovals, 'pending approval'));
  }
  return parts.join(' — ');
}

/**
 * The tray's context menu as a template for Menu.buildFromTemplate: the status lines (disabled
 * items), then "Pause all servers" or "Resume all servers" (when the status is known), "Open
 * dashboard", "Launch at login" (a checkbox, disabled where unsupported) and "Quit MCP Warden".
 * Pure: the same state gives the same menu; clicks call `actions`.
 */
export function trayMenuTemplate(state: TrayState, actions: TrayActions): MenuItemConstructorOptions[] {
  const items: MenuItemConstructorOptions[] = trayStatusLines(state).map((label) => ({
    label,
    enabled: false,
  }));
  items.push({ type: 'separator' });
  if (state.status) {
    items.push(
      state.status.paused
        ? { id: 'resume', label: 'Resume all servers', click: () => actions.resume() }
        : { id: 'pause', label: 'Pause all servers', click: () => actions.pause() },
    );
  }
  items.push({ id: 'dashboard', label: 'Open dashboard', click: () => actions.openDashboard() });
  items.push({ type: 'separator' });
  items.push({
    id: 'launch-at-login',
    label: state.launchAtLogin === null ? 'Launch at login (not available here)' : 'Launch at login',
    type: 'checkbox',
    checked: state.launchAtLogin === true,
    enabled: state.launchAtLogin !== null,
    click: (item) => actions.setLaunchAtLogin(item.checked),
  });
  items.push({ type: 'separator' });
  items.push({ id: 'quit', label: 'Quit MCP Warden', click: () => actions.quit() });
  return items;
}
