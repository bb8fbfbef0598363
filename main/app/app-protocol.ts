import fs from 'node:fs';
import path from 'node:path';
import type { CustomScheme } from 'electron';
import { APP_HOST, APP_SCHEME, CONTENT_SECURITY_POLICY } from './window-options.ts';

/**
 * The renderer is served through a custom `app://warden` protocol rather than loaded with
 * loadFile (file://), for three reasons:
 * - A file:// page has an opaque origin: 'self' in the CSP and the IPC sender check would have
 *   to trust "any local file", and such a page could read other local files once the
 *   grantFileProtocolExtraPrivileges fuse is on. With that fuse off (electron-builder.yml),
 *   file:// pages also lose fetch/module privileges we would otherwise rely on.
 * - Every response carries our CSP as an HTTP header, including `frame-ancestors`, which a
 *   meta tag cannot express; no session.webRequest hook is needed.
 * - Only files under dist/renderer can be served: the handler refuses any path outside it.
 *
 * The scheme is standard (relative URLs and a real origin) and secure (a secure context). It is
 * not corsEnabled, so no other origin may read it, and it does not bypass the CSP.
 */
export const APP_SCHEME_PRIVILEGES: CustomScheme = {
  scheme: APP_SCHEME,
  privileges: { standard: true, secure: true, supportFetchAPI: true },
};

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.map': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.ttf': 'font/ttf',
  '.txt': 'text/plain; charset=utf-8',
  '.wasm': 'application/wasm',
};

/** Headers of every app:// response. */
export const APP_RESPONSE_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': CONTENT_SECURITY_POLICY,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-cache',
};

/**
 * Creates the `protocol.handle('app', …)` handler serving the built renderer.
 * `app://warden/` and `app://warden/index.html` give index.html; any other path gives that file
 * under `rendererDir`. Answers 404 for another host, a path that leaves `rendererDir` (also
 * through encoded `..` or backslashes), or a missing file; 405 for methods other than GET and
 * HEAD; 400 for a malformed escape. Every response carries APP_RESPONSE_HEADERS.
 * @param rendererDir absolute path of dist/renderer (may be inside app.asar: Electron's fs reads it).
 * @param readFile how files are read (tests inject their own).
 */
export function createAppProtocolHandler(
  rendererDir: string,
  readFile: (file: string) => Promise<Uint8Array> = (file) => fs.promises.readFile(file),
): (request: Request) => Promise<Response> {
  const root = path.resolve(rendererDir);
  const answer = (status: number, body: string): Response =>
    new Response(body, {
      status,
      headers: { ...APP_RESPONSE_HEADERS, 'content-type': 'text/plain; charset=utf-8' },
    });

  return async (request) => {
    const url = new URL(request.url);
    if (url.protocol !== `${APP_SCHEME}:` || url.host !== APP_HOST) return answer(404, 'not found');
    if (request.method !== 'GET' && request.method !== 'HEAD') return answer(405, 'method not allowed');
    let relative: string;
    try {
      relative = decodeURIComponent(url.pathname);
    } catch {
      return answer(400, 'bad path');
    }
    if (relative.includes('\0') || relative.includes('\\')) return answer(404, 'not found');
    if (relative === '/' || relative === '') relative = '/index.html';
    const file = path.resolve(root, '.' + relative);
    if (!file.startsWith(root + path.sep)) return answer(404, 'not found');
    let body: Uint8Array;
    try {
      body = await readFile(file);
    } catch {
      return answer(404, 'not found');
    }
    const type = CONTENT_TYPES[path.extname(file).toLowerCase()] ?? 'application/octet-stream';
    return new Response(request.method === 'HEAD' ? null : new Uint8Array(body), {
      status: 200,
      headers: { ...APP_RESPONSE_HEADERS, 'content-type': type },
    });
  };
}
