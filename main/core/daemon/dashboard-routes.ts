import type { IncomingMessage, ServerResponse } from 'node:http';
import { uiSessionBodySchema } from '../control/contract.ts';
import { readJson, sendControlError } from '../control/control-api.ts';
import { WardenError } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { DashboardAccess } from './dashboard.ts';
import { sendJson } from './http-answers.ts';

/** A dashboard URL with a fresh one-time ticket in its fragment. */
export function dashboardUrl(port: number, access: DashboardAccess): string {
  return `http://127.0.0.1:${port}/ui/#ticket=${access.issueTicket()}`;
}

/**
 * The dashboard's access routes (see DashboardAccess):
 * - `POST /api/v1/ui/ticket` (daemon token only): `{ url }`, a one-time dashboard URL;
 * - `POST /api/v1/ui/session {ticket}`: `{ token }`, the ticket traded for a session token;
 *   TICKET_INVALID (401) when it is unknown, used or expired.
 * Any other method is METHOD_NOT_ALLOWED.
 */
export async function dashboardAccessRoute(
  req: IncomingMessage,
  res: ServerResponse,
  options: { exchange: boolean; access: DashboardAccess; port: number; logger: Logger },
): Promise<void> {
  if (req.method !== 'POST') {
    sendControlError(res, new WardenError('METHOD_NOT_ALLOWED', `${req.method} is not allowed`));
    return;
  }
  if (!options.exchange) {
    sendJson(res, 200, { url: dashboardUrl(options.port, options.access) });
    return;
  }
  const body = await readJson(req).catch(() => undefined);
  const parsed = uiSessionBodySchema.safeParse(body);
  const ticket = parsed.success ? parsed.data.ticket : undefined;
  const token = typeof ticket === 'string' ? options.access.redeem(ticket) : undefined;
  if (!token) {
    options.logger.warn('dashboard ticket refused');
    sendControlError(
      res,
      new WardenError(
        'TICKET_INVALID',
        'this dashboard link was already used or has expired: run `mcp-warden dashboard` for a new one',
      ),
    );
    return;
  }
  sendJson(res, 200, { token });
}
