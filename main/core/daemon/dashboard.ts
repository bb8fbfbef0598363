import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** A dashboard ticket is good for this long after it was issued, ms (10 min). */
export const TICKET_TTL_MS = 10 * 60_000;
/** A dashboard session token is good for this long, ms (12 h); the daemon's restart ends it too. */
export const SESSION_TTL_MS = 12 * 3600_000;
/** Tickets issued but not redeemed, at most (the oldest is dropped). */
const MAX_TICKETS = 20;

/** Where the browser build of the UI is (vite's output): dist/renderer under the project root. */
export const DEFAULT_UI_DIR = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  ...(import.meta.url.includes('/dist/')
    ? ['..', '..', '..', 'renderer']
    : ['..', '..', '..', 'dist', 'renderer']),
);

const hash = (value: string): string => createHash('sha256').update(value).digest('hex');

/**
 * Access to the dashboard from a plain browser. `mcp-warden serve` (or `mcp-warden dashboard`)
 * prints a URL with a one-time ticket in its fragment (never sent in a request line, so it stays
 * out of logs and Referer headers); the page trades it once for a session token, kept in the
 * page's memory and sent as a bearer token. No cookie: a page of another site cannot ride on
 * the dashboard's access (and the daemon refuses foreign Origins anyway). Session tokens reach
 * only the control API, never the MCP endpoints.
 */
export class DashboardAccess {
  /** Ticket hash -> expiry (ms since the epoch). */
  readonly #tickets = new Map<string, number>();
  /** Session token hash -> expiry. */
  readonly #sessions = new Map<string, number>();
  readonly #now: () => number;

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  /** A new one-time ticket (43 characters of base64url, 256 bits). */
  issueTicket(): string {
    const ticket = randomBytes(32).toString('base64url');
    this.#tickets.set(hash(ticket), this.#now() + TICKET_TTL_MS);
    while (this.#tickets.size > MAX_TICKETS) this.#tickets.delete(this.#tickets.keys().next().value!);
    return ticket;
  }

  /** Trades a ticket for a session token; undefined when the ticket is unknown, used or expired. */
  redeem(ticket: string): string | undefined {
    const key = hash(ticket);
    const expiry = this.#tickets.get(key);
    this.#tickets.delete(key);
    if (expiry === undefined || expiry < this.#now()) return undefined;
    const token = randomBytes(32).toString('base64url');
    this.#sessions.set(hash(token), this.#now() + SESSION_TTL_MS);
    return token;
  }

  /** Whether `authorization` ("Bearer <token>") carries a live dashboard session token. */
  accepts(authorization: string | undefined): boolean {
    const token = /^Bearer (\S+)$/.exec(authorization ?? '')?.[1];
    if (!token) return false;
    const expiry = this.#sessions.get(hash(token));
    if (expiry === undefined) return false;
    if (expiry < this.#now()) {
      this.#sessions.delete(hash(token));
      return false;
    }
    return true;
  }
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.woff2': 'font/woff2',
};

/** The dashboard's Content-Security-Policy: only its own scripts and styles, talks only to the daemon. */
export const DASHBOARD_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/**
 * Serves the UI's files under /ui/ from `dir` (GET and HEAD only). Paths never leave `dir`;
 * unknown paths under /ui/ get index.html (the UI routes by fragment). Every answer carries the
 * CSP above, nosniff, no-referrer and DENY framing.
 * Answers 503 with a hint when the UI is not built.
 */
export function serveUi(req: IncomingMessage, res: ServerResponse, url: URL, dir: string): void {
  const headers = {
    'content-security-policy': DASHBOARD_CSP,
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    'x-frame-options': 'DENY',
    'cross-origin-opener-policy': 'same-origin',
    'cross-origin-resource-policy': 'same-origin',
  };
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { ...headers, allow: 'GET, HEAD', 'content-type': 'text/plain' });
    res.end('method not allowed\n');
    return;
  }
  if (url.pathname === '/ui') {
    res.writeHead(308, { ...headers, location: '/ui/' });
    res.end();
    return;
  }
  const index = path.join(dir, 'index.html');
  if (!fs.existsSync(index)) {
    res.writeHead(503, { ...headers, 'content-type': 'text/plain; charset=utf-8' });
    res.end(`the dashboard is not built (no ${index}): run \`npm run build:renderer\`\n`);
    return;
  }
  let relative: string;
  try {
    relative = decodeURIComponent(url.pathname.slice('/ui/'.length));
  } catch {
    relative = '';
  }
  let file = path.resolve(dir, relative || 'index.html');
  if (!file.startsWith(dir + path.sep) || !fs.existsSync(file) || !fs.statSync(file).isFile()) file = index;
  const body = fs.readFileSync(file);
  res.writeHead(200, {
    ...headers,
    'content-type': TYPES[path.extname(file)] ?? 'application/octet-stream',
    'content-length': body.length,
    'cache-control': file === index ? 'no-store' : 'max-age=3600',
  });
  res.end(req.method === 'HEAD' ? undefined : body);
}
