import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import type {
  OAuthClientMetadata,
  OAuthClientProvider,
  StoredOAuthClientInformation,
  StoredOAuthTokens,
} from '@modelcontextprotocol/client';
import { isWardenError, WardenError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { secretSafeServerName } from '../config/server-name.ts';
import type { SecretStore } from '../secrets/secret-store.ts';

/** Path of the daemon's OAuth redirect endpoint (reached by the user's browser, no bearer token). */
export const OAUTH_CALLBACK_PATH = '/oauth/callback';

/** How long a flow waits for the person to finish signing in, ms (5 min). */
export const AUTHORIZATION_TIMEOUT_MS = 5 * 60_000;

/** Environment variable naming a program to open authorization URLs with (instead of the OS default). */
export const BROWSER_ENV_VAR = 'MCP_WARDEN_BROWSER';

/**
 * Opens an authorization URL in the user's browser without a shell: only http(s) URLs, passed as
 * one argv element to `open` (macOS), `xdg-open` (Linux) or the URL protocol handler (Windows),
 * or to $MCP_WARDEN_BROWSER.
 * @throws WardenError USAGE for any other scheme.
 */
export function openInBrowser(url: URL, env: NodeJS.ProcessEnv = process.env): void {
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new WardenError('USAGE', `refusing to open a ${url.protocol} URL as an authorization page`);
  }
  const custom = env[BROWSER_ENV_VAR];
  const [command, args] = custom
    ? [custom, [url.href]]
    : process.platform === 'darwin'
      ? ['open', [url.href]]
      : process.platform === 'win32'
        ? ['rundll32', ['url.dll,FileProtocolHandler', url.href]]
        : ['xdg-open', [url.href]];
  const child = spawn(command, args, { shell: false, stdio: 'ignore', detached: true, env });
  child.on('error', () => undefined);
  child.unref();
}

interface Pending {
  server: string;
  resolve: (callback: URLSearchParams) => void;
  reject: (error: Error) => void;
  promise: Promise<URLSearchParams>;
}

/**
 * The daemon's OAuth 2.1 flows for remote upstreams (MCP 2025-11-25, basic/authorization): one
 * flow at a time per server, however many sessions connect at once (`exclusive`), a `state`
 * per flow, and the redirect answered at {@link OAUTH_CALLBACK_PATH} on the daemon's own
 * loopback port.
 */
export class OAuthCoordinator {
  readonly #secrets: SecretStore;
  readonly #log: Logger;
  readonly #open: (url: URL) => void;
  #redirectUrl = '';
  readonly #byState = new Map<string, Pending>();
  readonly #latest = new Map<string, Pending>();
  readonly #locks = new Map<string, Promise<unknown>>();

  constructor(secrets: SecretStore, logger: Logger, open: (url: URL) => void = (url) => openInBrowser(url)) {
    this.#secrets = secrets;
    this.#log = logger;
    this.#open = open;
  }

  /** Set once the daemon knows its port. */
  setRedirectUrl(url: string): void {
    this.#redirectUrl = url;
  }

  /** Runs `fn` with no other flow-capable call for `server` running (a promise-chain mutex). */
  async exclusive<T>(server: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.#locks.get(server) ?? Promise.resolve();
    const run = previous.catch(() => undefined).then(fn);
    this.#locks.set(server, run);
    try {
      return await run;
    } finally {
      if (this.#locks.get(server) === run) this.#locks.delete(server);
    }
  }

  /**
   * The query of the redirect that ends the flow just started for `server` (its `code`, and the
   * `iss` of RFC 9207 when the authorization server sends one), once the browser comes back:
   * what the SDK transport's `finishAuth` takes.
   * @throws (the promise) WardenError UPSTREAM_UNAVAILABLE when no flow was started, when the
   *   authorization server answered with an error, or after {@link AUTHORIZATION_TIMEOUT_MS}.
   */
  waitForCallback(server: string): Promise<URLSearchParams> {
    const pending = this.#latest.get(server);
    if (!pending)
      return Promise.reject(
        new WardenError(
          'UPSTREAM_UNAVAILABLE',
          `server "${server}" asked for authorization, but no flow was started`,
        ),
      );
    const timer = setTimeout(
      () =>
        pending.reject(
          new WardenError(
            'UPSTREAM_UNAVAILABLE',
            `no one finished signing in to server "${server}" within ${AUTHORIZATION_TIMEOUT_MS / 1000} s`,
          ),
        ),
      AUTHORIZATION_TIMEOUT_MS,
    );
    timer.unref();
    return pending.promise.finally(() => clearTimeout(timer));
  }

  /**
   * Handles the browser's return to the redirect URI.
   * @returns the HTTP status and a short page for the person.
   */
  callback(url: URL): { status: number; text: string } {
    const state = url.searchParams.get('state') ?? '';
    const pending = this.#byState.get(state);
    if (!pending)
      return { status: 400, text: 'Unknown or expired sign-in attempt. Start again from your MCP client.' };
    this.#byState.delete(state);
    this.#latest.delete(pending.server);
    const code = url.searchParams.get('code');
    if (!code) {
      const error = url.searchParams.get('error_description') ?? url.searchParams.get('error') ?? 'no code';
      pending.reject(
        new WardenError(
          'UPSTREAM_UNAVAILABLE',
          `authorization for server "${pending.server}" failed: ${error}`,
        ),
      );
      return { status: 400, text: `Authorization failed: ${error}` };
    }
    pending.resolve(url.searchParams);
    return {
      status: 200,
      text: `MCP Warden is now authorized for "${pending.server}". You can close this window.`,
    };
  }

  /** The SDK OAuthClientProvider for one server, keeping everything in the OS keychain. */
  provider(server: string): OAuthClientProvider {
    const key = (what: string) => `oauth.${secretSafeServerName(server)}.${what}`;
    // Read from the keychain once, then from memory: the SDK asks for tokens on every request.
    // A server that never needed OAuth must work without a keychain, so a missing keychain
    // reads as "no tokens"; saving still fails loudly (no plain-text fallback).
    const cache = new Map<string, unknown>();
    const load = async <T>(what: string): Promise<T | undefined> => {
      if (cache.has(what)) return cache.get(what) as T | undefined;
      let value: T | undefined;
      try {
        const text = await this.#secrets.get(key(what));
        value = text === undefined ? undefined : (JSON.parse(text) as T);
      } catch (error) {
        if (!isWardenError(error, 'KEYCHAIN_UNAVAILABLE')) throw error;
      }
      cache.set(what, value);
      return value;
    };
    const save = async (what: string, value: unknown) => {
      await this.#secrets.set(key(what), JSON.stringify(value));
      cache.set(what, value);
    };
    const redirectUrl = (): string => this.#redirectUrl;
    return {
      get redirectUrl() {
        return redirectUrl();
      },
      get clientMetadata(): OAuthClientMetadata {
        return {
          client_name: `MCP Warden (${server})`,
          redirect_uris: [redirectUrl()],
          grant_types: ['authorization_code', 'refresh_token'],
          response_types: ['code'],
          token_endpoint_auth_method: 'none',
          application_type: 'native',
        };
      },
      state: () => {
        const state = randomBytes(24).toString('base64url');
        let resolve!: (callback: URLSearchParams) => void;
        let reject!: (error: Error) => void;
        const promise = new Promise<URLSearchParams>((res, rej) => {
          resolve = res;
          reject = rej;
        });
        promise.catch(() => undefined);
        const pending: Pending = { server, resolve, reject, promise };
        this.#byState.set(state, pending);
        this.#latest.set(server, pending);
        return state;
      },
      clientInformation: () => load<StoredOAuthClientInformation>('client'),
      saveClientInformation: (info) => save('client', info),
      tokens: () => load<StoredOAuthTokens>('tokens'),
      saveTokens: async (tokens) => {
        await save('tokens', tokens);
        this.#log.info({ server }, 'OAuth tokens stored in the OS keychain');
      },
      redirectToAuthorization: (url) => {
        this.#log.info({ server, url: url.href }, 'opening the authorization page in the browser');
        this.#open(url);
      },
      saveCodeVerifier: (verifier) => save('verifier', verifier),
      codeVerifier: async () => {
        const verifier = await load<string>('verifier');
        if (!verifier)
          throw new WardenError('UPSTREAM_UNAVAILABLE', `no PKCE code verifier for server "${server}"`);
        return verifier;
      },
      invalidateCredentials: async (scope) => {
        const what =
          scope === 'all' ? ['client', 'tokens', 'verifier'] : scope === 'discovery' ? [] : [scope];
        for (const w of what) {
          cache.delete(w);
          await this.#secrets.delete(key(w));
        }
      },
    };
  }
}
