import type {
  ApprovalAnswerBody,
  ApprovalRequest,
  AuditExportFormat,
  AuditPage,
  AuditQuery,
  ClientConfig,
  ControlEvent,
  EffectivePolicy,
  ExplainResponse,
  OrgSyncStatus,
  PinsResponse,
  PolicyStatus,
  ProtectPreview,
  ProtectResult,
  RememberedRule,
  RestoreResult,
  SecretEntry,
  ServerEntry,
  StatusResponse,
} from './contract.ts';

/**
 * What the UI may do, and nothing more: one method per control API route (contract.ts).
 * Implemented by ControlClient over HTTP (CLI, browser dashboard) and by the Electron preload
 * over IPC, which exposes exactly these methods under `window.warden`. Every method rejects
 * with an Error whose message is meant for a person.
 */
export interface WardenApi {
  status(): Promise<StatusResponse>;
  servers(): Promise<ServerEntry[]>;
  approveServer(name: string, identityHash: string): Promise<unknown>;
  restartServer(name: string): Promise<unknown>;
  pause(): Promise<unknown>;
  resume(): Promise<unknown>;
  approvals(): Promise<ApprovalRequest[]>;
  answer(id: string, body: ApprovalAnswerBody): Promise<unknown>;
  rules(): Promise<RememberedRule[]>;
  revokeRule(id: number): Promise<unknown>;
  pins(): Promise<PinsResponse>;
  /**
   * Approves a pending pin review by the hash the person saw (reviewHash in pins/pin-store.ts);
   * rejects (409) when the definition changed since.
   */
  approvePin(server: string, kind: string, name: string, hash: string): Promise<unknown>;
  policyStatus(): Promise<PolicyStatus>;
  effectivePolicy(): Promise<EffectivePolicy>;
  syncPolicy(): Promise<OrgSyncStatus>;
  explain(query: {
    server: string;
    tool: string;
    args?: string;
    annotations?: string;
  }): Promise<ExplainResponse>;
  audit(query: AuditQuery): Promise<AuditPage>;
  /** The filtered log as text (CSV or JSON lines), for the UI to save. */
  exportAudit(query: AuditQuery, format: AuditExportFormat): Promise<string>;
  clients(): Promise<ClientConfig[]>;
  previewProtect(id: string): Promise<ProtectPreview>;
  protect(id: string, clientSha256: string, servers?: string[]): Promise<ProtectResult>;
  restore(id: string): Promise<RestoreResult>;
  secrets(): Promise<SecretEntry[]>;
  setSecret(name: string, value: string): Promise<unknown>;
  deleteSecret(name: string): Promise<unknown>;
  /**
   * Follows the daemon's events (approvals requested and resolved, audit rows, status changes).
   * `onOpen` runs each time the stream is (re)connected: read the current state there, so
   * nothing falls between a read and the stream. Reconnects after 1 s when the stream drops.
   * @returns a function that stops following.
   */
  subscribe(onEvent: (event: ControlEvent) => void, onOpen?: () => void): () => void;
}

/** The request methods of WardenApi (all but `subscribe`), for the IPC bridge to list one by one. */
export const WARDEN_API_METHODS = [
  'status',
  'servers',
  'approveServer',
  'restartServer',
  'pause',
  'resume',
  'approvals',
  'answer',
  'rules',
  'revokeRule',
  'pins',
  'approvePin',
  'policyStatus',
  'effectivePolicy',
  'syncPolicy',
  'explain',
  'audit',
  'exportAudit',
  'clients',
  'previewProtect',
  'protect',
  'restore',
  'secrets',
  'setSecret',
  'deleteSecret',
] as const satisfies readonly (keyof WardenApi)[];

export type WardenApiMethod = (typeof WARDEN_API_METHODS)[number];
