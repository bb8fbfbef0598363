import type { IpcMain, IpcMainInvokeEvent, WebContents } from 'electron';
import { z } from 'zod';
import {
  approvalAnswerBodySchema,
  auditExportFormatSchema,
  auditQuerySchema,
  explainQuerySchema,
  secretSetBodySchema,
} from '../core/control/contract.ts';
import { toIpcError, WardenError } from '../core/errors.ts';
import { WARDEN_API_METHODS, type WardenApi, type WardenApiMethod } from '../core/control/warden-api.ts';
import { ipcChannel } from './channels.ts';
import { isAppPageUrl } from './window-options.ts';

/** The message of every refusal of an IPC call from a frame that is not ours. */
export const UNTRUSTED_FRAME_MESSAGE = 'refused: IPC from an untrusted frame';

/** What the sender check reads of an invoke event. */
export type IpcSenderEvent = Pick<IpcMainInvokeEvent, 'sender' | 'senderFrame'>;

/**
 * True when an IPC call comes from our renderer: the sending frame still exists, is a top-level
 * frame, shows the renderer's own page (app://warden/index.html), and belongs to one of our
 * windows.
 * @param ownsWebContents whether a WebContents is one of our windows' (window-registry.ts).
 */
export function isTrustedSender(
  event: IpcSenderEvent,
  ownsWebContents: (contents: WebContents) => boolean,
): boolean {
  const frame = event.senderFrame;
  if (!frame) return false;
  if (frame.parent !== null) return false;
  if (!isAppPageUrl(frame.url)) return false;
  return ownsWebContents(event.sender);
}

/** A path segment the control client puts in a URL: never empty, "." or "..". */
const segment = z
  .string()
  .min(1)
  .max(1024)
  .refine((text) => text !== '.' && text !== '..', 'must not be "." or ".."');
const sha256 = z.string().regex(/^[0-9a-f]{64}$/, 'a sha256 in hex');

/**
 * One handler per WardenApi request method, listed explicitly: the arguments it accepts (a zod
 * tuple, so extra or missing arguments are refused) and the ControlClient call it makes with
 * them. The daemon validates every body again; this is the first gate, at the process boundary.
 */
const HANDLERS = {
  status: handler(z.tuple([]), (api) => api.status()),
  servers: handler(z.tuple([]), (api) => api.servers()),
  approveServer: handler(z.tuple([segment, sha256]), (api, [name, hash]) => api.approveServer(name, hash)),
  restartServer: handler(z.tuple([segment]), (api, [name]) => api.restartServer(name)),
  pause: handler(z.tuple([]), (api) => api.pause()),
  resume: handler(z.tuple([]), (api) => api.resume()),
  approvals: handler(z.tuple([]), (api) => api.approvals()),
  answer: handler(z.tuple([segment, approvalAnswerBodySchema]), (api, [id, body]) => api.answer(id, body)),
  rules: handler(z.tuple([]), (api) => api.rules()),
  revokeRule: handler(z.tuple([z.number().int().nonnegative()]), (api, [id]) => api.revokeRule(id)),
  pins: handler(z.tuple([]), (api) => api.pins()),
  approvePin: handler(z.tuple([segment, segment, segment, sha256]), (api, [server, kind, name, hash]) =>
    api.approvePin(server, kind, name, hash),
  ),
  policyStatus: handler(z.tuple([]), (api) => api.policyStatus()),
  effectivePolicy: handler(z.tuple([]), (api) => api.effectivePolicy()),
  syncPolicy: handler(z.tuple([]), (api) => api.syncPolicy()),
  explain: handler(z.tuple([explainQuerySchema]), (api, [query]) => api.explain(query)),
  audit: handler(z.tuple([auditQuerySchema]), (api, [query]) => api.audit(query)),
  exportAudit: handler(z.tuple([auditQuerySchema, auditExportFormatSchema]), (api, [query, format]) =>
    api.exportAudit(query, format),
  ),
  clients: handler(z.tuple([]), (api) => api.clients()),
  previewProtect: handler(z.tuple([segment]), (api, [id]) => api.previewProtect(id)),
  protect: handler(z.tuple([segment, sha256, z.array(z.string()).optional()]), (api, [id, hash, servers]) =>
    api.protect(id, hash, servers),
  ),
  restore: handler(z.tuple([segment]), (api, [id]) => api.restore(id)),
  secrets: handler(z.tuple([]), (api) => api.secrets()),
  setSecret: handler(z.tuple([segment, secretSetBodySchema.shape.value]), (api, [name, value]) =>
    api.setSecret(name, value),
  ),
  deleteSecret: handler(z.tuple([segment]), (api, [name]) => api.deleteSecret(name)),
} satisfies Record<WardenApiMethod, IpcHandler>;

interface IpcHandler {
  args: z.ZodType<unknown[]>;
  call: (api: WardenApi, args: unknown[]) => Promise<unknown>;
}

function handler<S extends z.ZodType<unknown[]>>(
  args: S,
  call: (api: WardenApi, args: z.output<S>) => Promise<unknown>,
): IpcHandler {
  return { args, call: (api, values) => call(api, values as z.output<S>) };
}

/**
 * Registers `warden:<method>` with ipcMain.handle for every name in WARDEN_API_METHODS. Each
 * handler first checks the sender (isTrustedSender; else it throws FORBIDDEN
 * UNTRUSTED_FRAME_MESSAGE), then the arguments (else INVALID_REQUEST "refused: bad arguments for
 * <method>: …"), then forwards them to `api` and returns its result. Every error leaves as
 * toIpcError (errors.ts) of it, so the preload bridge rebuilds the same WardenError (code and
 * message) in the renderer.
 */
export function registerIpcHandlers(
  ipcMain: Pick<IpcMain, 'handle'>,
  api: WardenApi,
  ownsWebContents: (contents: WebContents) => boolean,
): void {
  for (const method of WARDEN_API_METHODS) {
    const { args, call } = HANDLERS[method];
    ipcMain.handle(ipcChannel(method), (event, ...values: unknown[]) => {
      if (!isTrustedSender(event, ownsWebContents))
        throw toIpcError(new WardenError('FORBIDDEN', UNTRUSTED_FRAME_MESSAGE));
      const parsed = args.safeParse(values);
      if (!parsed.success) {
        throw toIpcError(
          new WardenError(
            'INVALID_REQUEST',
            `refused: bad arguments for ${method}: ${z.prettifyError(parsed.error)}`,
          ),
        );
      }
      return call(api, parsed.data).catch((error: unknown) => {
        throw toIpcError(error);
      });
    });
  }
}
