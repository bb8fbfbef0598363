/**
 * Window hardening (main/app): navigation, window.open, webviews and permissions refused, the CSP,
 * our page's URL, and the app:// protocol serving the renderer and nothing else.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import {
  APP_RESPONSE_HEADERS,
  APP_SCHEME_PRIVILEGES,
  createAppProtocolHandler,
} from '../../main/app/app-protocol.ts';
import { denyAllPermissions, hardenWebContents } from '../../main/app/harden.ts';
import {
  APP_PAGE_URL,
  CONTENT_SECURITY_POLICY,
  appUrl,
  isAppPageUrl,
} from '../../main/app/window-options.ts';
import { FakeWebContents } from '../helpers/fake-electron.ts';

test('hardening: navigation away from the app page, window.open and webviews are blocked; permissions denied', () => {
  const contents = new FakeWebContents();
  hardenWebContents(contents as never);
  const navigate = (event: string, url: string): boolean => {
    let prevented = false;
    contents.emit(event, { url, preventDefault: () => void (prevented = true) });
    return prevented;
  };
  assert.equal(navigate('will-navigate', 'https://evil.example/'), true);
  assert.equal(navigate('will-navigate', 'file:///etc/passwd'), true);
  assert.equal(navigate('will-navigate', 'app://warden/other.html'), true);
  assert.equal(navigate('will-navigate', `${APP_PAGE_URL}#/activity`), false, 'the app page itself may load');
  assert.equal(navigate('will-redirect', 'https://evil.example/'), true);
  assert.equal(navigate('will-attach-webview', APP_PAGE_URL), true);
  assert.deepEqual(contents.windowOpenHandler!({ url: 'https://example.com/' }), { action: 'deny' });
  assert.deepEqual(contents.windowOpenHandler!({ url: APP_PAGE_URL }), { action: 'deny' });

  let requested:
    ((contents: unknown, permission: string, callback: (granted: boolean) => void) => void) | null = null;
  let checked: (() => boolean) | null = null;
  denyAllPermissions({
    setPermissionRequestHandler: (handler: never) => void (requested = handler),
    setPermissionCheckHandler: (handler: never) => void (checked = handler),
  });
  const answers: boolean[] = [];
  for (const permission of ['media', 'geolocation', 'notifications', 'clipboard-read'])
    requested!(contents, permission, (granted) => answers.push(granted));
  assert.deepEqual(answers, [false, false, false, false]);
  assert.equal(checked!(), false);
});

test('CSP: strict, no eval, no inline, nothing framed or posted', () => {
  const directives = new Map(
    CONTENT_SECURITY_POLICY.split(';').map((d) => {
      const [name, ...values] = d.trim().split(/\s+/);
      return [name!, values] as const;
    }),
  );
  assert.deepEqual(directives.get('default-src'), ["'self'"]);
  assert.deepEqual(directives.get('script-src'), ["'self'"]);
  assert.deepEqual(directives.get('object-src'), ["'none'"]);
  assert.deepEqual(directives.get('base-uri'), ["'none'"]);
  assert.deepEqual(directives.get('frame-ancestors'), ["'none'"]);
  assert.deepEqual(directives.get('form-action'), ["'none'"]);
  assert.deepEqual(directives.get('img-src'), ["'self'", 'data:']);
  assert.doesNotMatch(CONTENT_SECURITY_POLICY, /unsafe-eval|unsafe-inline|\*/);
});

test('app URLs: only app://warden/index.html is our page', () => {
  assert.equal(appUrl('/servers'), 'app://warden/index.html#/servers');
  assert.equal(isAppPageUrl('app://warden/index.html#/approval/x'), true);
  assert.equal(isAppPageUrl('app://warden/index.html'), true);
  for (const url of [
    'app://warden/',
    'app://warden:80/index.html',
    'http://warden/index.html',
    'not a url',
    '',
  ])
    assert.equal(isAppPageUrl(url), false, url);
});

test('app:// protocol: serves the renderer with the CSP header, nothing outside it', async () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'warden-renderer-'));
  fs.mkdirSync(path.join(root, 'renderer', 'assets'), { recursive: true });
  fs.writeFileSync(path.join(root, 'renderer', 'index.html'), '<!doctype html><title>w</title>');
  fs.writeFileSync(path.join(root, 'renderer', 'assets', 'index-1.js'), 'console.log(1)');
  fs.writeFileSync(path.join(root, 'secret.txt'), 'do not serve');
  const handle = createAppProtocolHandler(path.join(root, 'renderer'));
  const get = (url: string, method = 'GET') => handle(new Request(url, { method }));
  try {
    const page = await get('app://warden/index.html');
    assert.equal(page.status, 200);
    assert.equal(page.headers.get('content-type'), 'text/html; charset=utf-8');
    assert.equal(page.headers.get('content-security-policy'), CONTENT_SECURITY_POLICY);
    assert.equal(page.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(await page.text(), '<!doctype html><title>w</title>');
    assert.equal((await get('app://warden/')).status, 200);
    const script = await get('app://warden/assets/index-1.js');
    assert.equal(script.headers.get('content-type'), 'text/javascript; charset=utf-8');
    assert.equal(await script.text(), 'console.log(1)');

    for (const url of [
      'app://warden/../secret.txt',
      'app://warden/%2e%2e/secret.txt',
      'app://warden/assets/..%2F..%2Fsecret.txt',
      'app://warden/..%5Csecret.txt',
      'app://warden/missing.js',
      'app://other/index.html',
    ]) {
      const response = await get(url);
      assert.equal(response.status, 404, url);
      assert.doesNotMatch(await response.text(), /do not serve/);
      assert.equal(
        response.headers.get('content-security-policy'),
        APP_RESPONSE_HEADERS['content-security-policy'],
      );
    }
    assert.equal((await get('app://warden/index.html', 'POST')).status, 405);
    assert.equal((await get('app://warden/%E0%A4%A.js')).status, 400);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
  assert.deepEqual(APP_SCHEME_PRIVILEGES.privileges, { standard: true, secure: true, supportFetchAPI: true });
});
