import { OAUTH_CALLBACK_PATH } from '../oauth/oauth.ts';

/** What a request to the daemon is for, by its path (and method, for the OAuth callback). */
export type RouteKind =
  'oauth-callback' | 'ui' | 'ui-ticket' | 'ui-session' | 'healthz' | 'metrics' | 'control' | 'mcp';

/** A route and how the HTTP gate checks it (HttpGate.check). */
export interface Route {
  kind: RouteKind;
  /** False where no bearer token is asked for: Host and Origin are still checked. */
  tokenRequired: boolean;
  /** Whether a dashboard session token is accepted instead of the daemon's token. */
  dashboardToken: boolean;
  /** Whether refusals are answered in the control API's shape ({ error: { code, message } }), else JSON-RPC. */
  controlShape: boolean;
}

/**
 * The daemon's route table:
 * - `GET /oauth/callback`: the OAuth redirect, from the person's browser, which has no token: it
 *   is checked by Host and by the unguessable `state` of a flow Warden started instead;
 * - `/ui`, `/ui/…`: the dashboard's files, which hold no secret;
 * - `POST /api/v1/ui/ticket` (daemon token only): a one-time dashboard URL;
 * - `POST /api/v1/ui/session`: the ticket exchange, checked by the ticket;
 * - `GET /healthz`: tells a shim which daemon answers;
 * - `/metrics`: the Prometheus metrics (the daemon's token only; metrics-route.ts);
 * - `/api/v1/…`: the control API (the daemon's token or a dashboard session token);
 * - anything else: the MCP endpoints `/mcp/<server>` (the daemon's token only; unknown paths
 *   are answered there with a JSON-RPC error).
 */
export function routeOf(method: string | undefined, pathname: string): Route {
  const route = (kind: RouteKind, tokenRequired: boolean, dashboardToken = false): Route => ({
    kind,
    tokenRequired,
    dashboardToken,
    controlShape: pathname.startsWith('/api/v1/'),
  });
  if (pathname === OAUTH_CALLBACK_PATH && method === 'GET') return route('oauth-callback', false);
  if (pathname === '/ui' || pathname.startsWith('/ui/')) return route('ui', false);
  if (pathname === '/api/v1/ui/session') return route('ui-session', false, true);
  if (pathname === '/api/v1/ui/ticket') return route('ui-ticket', true);
  if (pathname === '/healthz' && method === 'GET') return route('healthz', true);
  if (pathname === '/metrics') return route('metrics', true);
  if (pathname.startsWith('/api/v1/')) return route('control', true, true);
  return route('mcp', true);
}
