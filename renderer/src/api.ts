import { ControlClient } from '../../main/core/control/control-client.ts';
import type { WardenApi } from '../../main/core/control/warden-api.ts';

declare global {
  interface Window {
    /** Set by the Electron preload (IPC to the main process); absent in a plain browser. */
    warden?: WardenApi;
  }
}

/** sessionStorage key of the dashboard session token (this tab only; gone when it closes). */
const TOKEN_KEY = 'mcp-warden.session';

/**
 * The API the UI talks to. In the Electron app: the preload's `window.warden`. In a browser:
 * the daemon's control API on this page's origin, with a session token traded once for the
 * one-time ticket in the URL fragment (`/ui/#ticket=…`, printed by `mcp-warden serve` or
 * `mcp-warden dashboard`). The ticket is removed from the address bar at once.
 * @throws Error with a message for a person when there is no ticket or it was refused.
 */
export async function connectApi(): Promise<WardenApi> {
  if (window.warden) return window.warden;
  const ticket = /^#ticket=([A-Za-z0-9_-]{16,200})$/.exec(window.location.hash)?.[1];
  if (ticket) {
    history.replaceState(null, '', `${window.location.pathname}#/servers`);
    const response = await fetch('/api/v1/ui/session', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ticket }),
    });
    const body = (await response.json().catch(() => ({}))) as {
      token?: string;
      error?: { message?: string };
    };
    if (!response.ok || !body.token)
      throw new Error(
        body.error?.message ?? `the daemon refused the dashboard link (HTTP ${response.status})`,
      );
    sessionStorage.setItem(TOKEN_KEY, body.token);
  }
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (!token)
    throw new Error(
      'This page needs a dashboard link with a one-time ticket: run `mcp-warden dashboard` and open the link it prints.',
    );
  return new ControlClient('/api/v1', token);
}
