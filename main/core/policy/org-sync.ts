import fs from 'node:fs';
import path from 'node:path';
import writeFileAtomic from 'write-file-atomic';
import { describeError, WardenError } from '../errors.ts';
import type { Logger } from '../log.ts';
import {
  MAX_ORG_POLICY_BYTES,
  verifyOrgPolicy,
  type OrgPolicyPayload,
  type TrustedKey,
} from './org-policy.ts';
import type { OrgPolicySource, PolicySource } from '../config/policy-schema.ts';

/** What `policy status` shows about the org policy. */
export interface OrgSyncStatus {
  url: string;
  /** The version in force (null before any was accepted). */
  version: number | null;
  org: string | null;
  expires: string | null;
  /** Past `expires`, still in force within the grace period. */
  inGrace: boolean;
  /** ISO times. */
  lastSuccess: string | null;
  lastAttempt: string | null;
  lastError: string | null;
}

interface SyncState {
  highestAccepted: number;
  etag: string | null;
  lastSuccess: string | null;
}

/**
 * Keeps the org policy in force: verifies the cached last good document at start, then polls
 * the URL with If-None-Match (ETag) and jittered exponential backoff after failures. A rejected
 * or unreachable document never replaces the last good one; `status()` says why.
 * Files: `org-policy.jws` (last good) and `org-policy.state.json` (highest version, ETag) in
 * the data dir.
 */
export class OrgPolicySync {
  readonly #config: OrgPolicySource;
  readonly #keys: TrustedKey[];
  readonly #dir: string;
  readonly #log: Logger;
  readonly #onChange: (payload: OrgPolicyPayload) => void;
  #state: SyncState = { highestAccepted: 0, etag: null, lastSuccess: null };
  #current: { payload: OrgPolicyPayload; inGrace: boolean } | undefined;
  #lastAttempt: string | null = null;
  #lastError: string | null = null;
  #failures = 0;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;

  constructor(options: {
    config: OrgPolicySource;
    dataDir: string;
    logger: Logger;
    onChange: (payload: OrgPolicyPayload) => void;
  }) {
    this.#config = options.config;
    this.#keys = options.config.keys.map((jwk) => ({ kid: jwk.kid, jwk }));
    this.#dir = options.dataDir;
    this.#log = options.logger;
    this.#onChange = options.onChange;
  }

  get #graceMs(): number {
    return (this.#config.graceHours ?? 72) * 3_600_000;
  }

  /** The org policy as a policy source, if one is in force. */
  source(): PolicySource | undefined {
    return this.#current
      ? {
          kind: 'org',
          origin: `${this.#config.url} (version ${this.#current.payload.version})`,
          document: this.#current.payload.policy,
        }
      : undefined;
  }

  /** The catalog of the policy in force. */
  catalog(): OrgPolicyPayload['catalog'] {
    return this.#current?.payload.catalog ?? [];
  }

  status(): OrgSyncStatus {
    const p = this.#current?.payload;
    return {
      url: this.#config.url,
      version: p?.version ?? null,
      org: p?.org ?? null,
      expires: p?.expires ?? null,
      inGrace: this.#current?.inGrace ?? false,
      lastSuccess: this.#state.lastSuccess,
      lastAttempt: this.#lastAttempt,
      lastError: this.#lastError,
    };
  }

  /** Loads the cached last good document (works offline), then starts polling. */
  async start(): Promise<void> {
    try {
      this.#state = {
        ...this.#state,
        ...(JSON.parse(fs.readFileSync(this.#file('state.json'), 'utf8')) as SyncState),
      };
    } catch {
      // first start
    }
    try {
      const cached = fs.readFileSync(this.#file('jws'), 'utf8');
      const verified = await verifyOrgPolicy(cached, this.#keys, {
        graceMs: this.#graceMs,
        ...(this.#config.org ? { expectedOrg: this.#config.org } : {}),
      });
      this.#current = { payload: verified.payload, inGrace: verified.inGrace };
      this.#onChange(verified.payload);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT')
        this.#lastError = `the cached org policy was not used: ${describeError(error)}`;
    }
    void this.syncNow().finally(() => this.#schedule());
  }

  #syncing: Promise<void> | undefined;

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
  }

  /**
   * Fetches the document once (conditional GET). Never throws; the outcome is in status().
   * A call while a fetch is under way joins it (so "sync now" resolves only once the document
   * it reports is in force).
   */
  syncNow(): Promise<void> {
    return (this.#syncing ??= this.#syncOnce().finally(() => (this.#syncing = undefined)));
  }

  async #syncOnce(): Promise<void> {
    this.#lastAttempt = new Date().toISOString();
    try {
      const response = await fetch(this.#config.url, {
        headers: this.#state.etag ? { 'if-none-match': this.#state.etag } : {},
        signal: AbortSignal.timeout(15_000),
      });
      if (response.status === 304) return this.#succeeded();
      if (!response.ok)
        throw new WardenError('ORG_POLICY_REJECTED', `the policy server answered HTTP ${response.status}`);
      const declared = Number(response.headers.get('content-length') ?? 0);
      if (declared > MAX_ORG_POLICY_BYTES)
        throw new WardenError(
          'ORG_POLICY_REJECTED',
          `the document is ${declared} bytes, over the ${MAX_ORG_POLICY_BYTES}-byte limit`,
        );
      const text = await response.text();
      const verified = await verifyOrgPolicy(text, this.#keys, {
        highestAccepted: this.#state.highestAccepted,
        graceMs: this.#graceMs,
        ...(this.#config.org ? { expectedOrg: this.#config.org } : {}),
      });
      const changed = verified.payload.version !== this.#current?.payload.version;
      this.#current = { payload: verified.payload, inGrace: verified.inGrace };
      this.#state.highestAccepted = Math.max(this.#state.highestAccepted, verified.payload.version);
      this.#state.etag = response.headers.get('etag');
      await writeFileAtomic(this.#file('jws'), text, { mode: 0o600 });
      this.#succeeded();
      if (changed) {
        this.#log.info(
          { version: verified.payload.version, org: verified.payload.org },
          'org policy accepted',
        );
        this.#onChange(verified.payload);
      }
    } catch (error) {
      this.#failures++;
      this.#lastError = describeError(error);
      this.#log.warn({ err: this.#lastError }, 'org policy not updated; the last good one stays in force');
    }
  }

  #succeeded(): void {
    this.#failures = 0;
    this.#lastError = null;
    this.#state.lastSuccess = new Date().toISOString();
    fs.mkdirSync(this.#dir, { recursive: true, mode: 0o700 });
    fs.writeFileSync(this.#file('state.json'), JSON.stringify(this.#state), { mode: 0o600 });
  }

  #schedule(): void {
    if (this.#stopped) return;
    const poll = (this.#config.pollSeconds ?? 300) * 1000;
    // After failures: 5 s doubling, capped at the poll interval; ±20 % jitter either way.
    const base = this.#failures ? Math.min(poll, 5000 * 2 ** (this.#failures - 1)) : poll;
    this.#timer = setTimeout(
      () => void this.syncNow().finally(() => this.#schedule()),
      Math.round(base * (0.8 + 0.4 * Math.random())),
    );
    this.#timer.unref();
  }

  #file(ext: string): string {
    return path.join(this.#dir, `org-policy.${ext}`);
  }
}
