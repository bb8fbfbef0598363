import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ServerConfig } from '../../main/core/config/schema.ts';
import { isWardenError } from '../../main/core/errors.ts';
import { redactValues, referencedSecrets, resolveSecrets } from '../../main/core/secrets/references.ts';
import { keychainError, MemorySecretStore } from '../../main/core/secrets/secret-store.ts';

const stdio: ServerConfig = {
  kind: 'stdio',
  name: 'gh',
  command: 'npx',
  args: ['-y', 'server-github@1.0.0', '--token=${secret:gh-token}'],
  env: { GITHUB_TOKEN: '${secret:gh-token}', OTHER: 'Bearer ${secret:other.key}', PLAIN: 'x' },
  tools: { deny: [] },
};
const http: ServerConfig = {
  kind: 'http',
  name: 'api',
  url: 'https://mcp.example.com/mcp',
  headers: { Authorization: 'Bearer ${secret:api}' },
  tools: { deny: [] },
};

test('references in args, env and headers are found and resolved; the config itself is not changed', async () => {
  assert.deepEqual(referencedSecrets(stdio), ['gh-token', 'other.key']);
  const store = new MemorySecretStore();
  await store.set('gh-token', 'ghp_123456');
  await store.set('other.key', 'k-999');
  await store.set('api', 'a-1');
  const { server, values } = await resolveSecrets(stdio, store);
  assert.ok(server.kind === 'stdio');
  assert.deepEqual(server.args, ['-y', 'server-github@1.0.0', '--token=ghp_123456']);
  assert.deepEqual(server.env, { GITHUB_TOKEN: 'ghp_123456', OTHER: 'Bearer k-999', PLAIN: 'x' });
  assert.equal(values.get('gh-token'), 'ghp_123456');
  assert.equal(stdio.kind === 'stdio' && stdio.env.GITHUB_TOKEN, '${secret:gh-token}');
  const remote = await resolveSecrets(http, store);
  assert.ok(remote.server.kind === 'http' && remote.server.headers.Authorization === 'Bearer a-1');
});

test('a missing secret names the server and the secret; a refused binding says why', async () => {
  await assert.rejects(resolveSecrets(stdio, new MemorySecretStore()), (error: unknown) => {
    assert.ok(isWardenError(error, 'SECRET_MISSING'));
    assert.match(error.message, /server "gh" needs secret "gh-token", which is not in the keychain/);
    return true;
  });
  await assert.rejects(
    resolveSecrets(stdio, new MemorySecretStore(), () => 'it is bound to server "x"'),
    /may not use secret "gh-token": it is bound to server "x"/,
  );
});

test('values are redacted from text by name', () => {
  assert.equal(
    redactValues('token=ghp_123456 ok', new Map([['gh-token', 'ghp_123456']])),
    'token=[secret:gh-token] ok',
  );
});

test('keychain errors become messages that say what is missing and how to fix it', () => {
  assert.match(
    keychainError(new Error('Cannot autolaunch D-Bus without X11 $DISPLAY')).message,
    /no D-Bus session.*dbus-run-session/,
  );
  assert.match(
    keychainError(new Error('Cannot create an item in a locked collection')).message,
    /keyring is locked/,
  );
  assert.match(
    keychainError(new Error('The name org.freedesktop.secrets was not provided by any .service files'))
      .message,
    /no Secret Service is running/,
  );
});

test('authorization URLs: only http(s) are opened, never through a shell', async () => {
  const { openInBrowser } = await import('../../main/core/oauth/oauth.ts');
  assert.throws(() => openInBrowser(new URL('file:///etc/passwd')), /refusing to open a file: URL/);
  assert.throws(() => openInBrowser(new URL('javascript:alert(1)')), /refusing to open a javascript: URL/);
});

test("a bound secret goes only to its server, and not after that server's command changed", async () => {
  const fs = await import('node:fs');
  const os = await import('node:os');
  const path = await import('node:path');
  const { openStateDb } = await import('../../main/core/store/state-db.ts');
  const { SecretBindingStore } = await import('../../main/core/store/secret-bindings.ts');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'warden-bind-'));
  const db = openStateDb(path.join(dir, 'state.db'));
  try {
    const bindings = new SecretBindingStore(db);
    bindings.bind('gh-token', stdio);
    assert.equal(bindings.refusal('gh-token', stdio), undefined);
    assert.match(bindings.refusal('gh-token', { ...stdio, name: 'other' })!, /bound to server "gh"/);
    const changed: ServerConfig = { ...stdio, args: ['-y', 'server-github@6.6.6'] };
    assert.match(
      bindings.refusal('gh-token', changed)!,
      /server "gh" changed since the secret was bound to it .*bind it again/,
    );
    assert.equal(bindings.refusal('unbound', stdio), undefined);
  } finally {
    db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
