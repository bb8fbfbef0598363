/**
 * Changes made from the dashboard (the control API of a real WardenCore, real files, the real
 * keychain) are the same all-or-nothing changes as the CLI's: protect validates the complete
 * result first, a write that fails half way leaves every file, the keychain and state.db as they
 * were, and deleting a secret removes its binding in the same change.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { FAULT_ENV_VAR } from '../../main/core/change/fault-point.ts';
import { loadConfig } from '../../main/core/config/load.ts';
import { protectPreviewSchema } from '../../main/core/control/contract.ts';
import { WardenCore } from '../../main/core/runtime/warden-core.ts';
import { silentLogger } from '../../main/core/log.ts';
import { KeychainSecretStore } from '../../main/core/secrets/secret-store.ts';
import { startKeyring, type TestKeyring } from '../helpers/keyring.ts';
import { keyringMissing } from '../helpers/requirements.ts';
import { secretsAtRest } from '../helpers/secret-files.ts';
import { everythingServer, makeWardenEnv, type WardenEnv } from '../helpers/warden-env.ts';
import { serveControlApi } from '../helpers/control.ts';

const TOKEN = 'ghp_' + 'Q1w2E3r4T5y6U7i8O9p0A1s2D3f4G5h6J7k8';
const skip = keyringMissing();

describe('changes made through the control API', { skip }, () => {
  let w: WardenEnv;
  let keyring: TestKeyring;
  let core: WardenCore;
  let closeServer: (() => void) | undefined;
  let base: string;
  let cursorFile: string;
  const saved = { ...process.env };
  const ENV_KEYS = ['HOME', 'XDG_CONFIG_HOME', 'DBUS_SESSION_BUS_ADDRESS'] as const;
  const call = async (method: string, route: string, body?: unknown) => {
    const response = await fetch(`${base}${route}`, {
      method,
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return {
      status: response.status,
      body: (await response.json()) as Record<string, unknown> & {
        error?: { code: string; message: string };
      },
    };
  };
  const read = (file: string) => fs.readFileSync(file, 'utf8');

  before(async () => {
    w = makeWardenEnv();
    keyring = startKeyring(w.home, w.env);
    // The control API finds client configs and the keychain through this process's environment.
    Object.assign(
      process.env,
      { HOME: w.home, XDG_CONFIG_HOME: w.env.XDG_CONFIG_HOME },
      {
        DBUS_SESSION_BUS_ADDRESS: keyring.env.DBUS_SESSION_BUS_ADDRESS,
      },
    );
    w.writeConfig({ mcpServers: { fs: everythingServer() } });
    cursorFile = path.join(w.home, '.cursor', 'mcp.json');
    fs.mkdirSync(path.dirname(cursorFile), { recursive: true });
    core = WardenCore.open(loadConfig(w.paths, { createDefault: false }), w.paths, silentLogger(), {
      secrets: new KeychainSecretStore(),
    });
    ({ base, close: closeServer } = await serveControlApi(core));
  });

  after(() => {
    closeServer?.();
    core?.close();
    keyring?.stop();
    w?.cleanup();
    for (const key of ENV_KEYS) {
      if (saved[key] === undefined) delete process.env[key];
      else process.env[key] = saved[key];
    }
  });

  test('protect refuses a result the daemon could not load, with a 409 naming the field; nothing changes', async () => {
    const original = `{"mcpServers":{"web":{"command":"node","env":{"API_KEY":"${TOKEN}","PORT":8080}}}}`;
    fs.writeFileSync(cursorFile, original);
    const warden = read(w.paths.configFile);
    const preview = await call('POST', '/clients/cursor/preview');
    // The request is fine; the client file cannot be used as it is.
    assert.equal(preview.status, 409);
    assert.match(preview.body.error!.message, /Warden's config would not be valid afterwards[\s\S]*PORT/);
    assert.equal(read(cursorFile), original);
    assert.equal(read(w.paths.configFile), warden);
    assert.deepEqual(await core.secrets.store.list(), []);
  });

  test('a write that fails at any point of a dashboard protect leaves files, keychain and state.db as they were', async () => {
    const original = `{\n  "mcpServers": {\n    "web": { "command": "node", "args": ["web.js"], "env": { "API_KEY": "${TOKEN}" } }\n  }\n}\n`;
    fs.writeFileSync(cursorFile, original);
    const warden = read(w.paths.configFile);
    const { clientSha256 } = protectPreviewSchema.parse((await call('POST', '/clients/cursor/preview')).body);
    let n = 1;
    try {
      for (; ; n++) {
        assert.ok(n < 60);
        process.env[FAULT_ENV_VAR] = `${n}:error`;
        const result = await call('POST', '/clients/cursor/protect', { clientSha256 });
        if (result.status === 200) break;
        assert.match(
          result.body.error!.message,
          /injected failure after write .*Nothing was changed/s,
          `write ${n}`,
        );
        assert.equal(read(cursorFile), original, `write ${n}`);
        assert.equal(read(w.paths.configFile), warden, `write ${n}`);
        assert.deepEqual(await core.secrets.store.list(), [], `write ${n}`);
        assert.equal(core.serverApprovals.forServer('web').length, 0, `write ${n}`);
        assert.ok(
          !fs.existsSync(path.join(w.paths.dataDir, 'backups')) ||
            !fs.readdirSync(path.join(w.paths.dataDir, 'backups')).length,
        );
      }
    } finally {
      delete process.env[FAULT_ENV_VAR];
    }
    assert.ok(n > 10, `only ${n - 1} writes`);
    // The protect that went through: the client launches the shim, the server is approved.
    assert.match(read(cursorFile), /"connect",\s*"web"/);
    assert.equal(core.serverApprovals.forServer('web')[0]?.approvedBy, 'dashboard protect cursor');
    assert.equal(await core.secrets.store.get('web-api_key'), TOKEN);
    assert.deepEqual(secretsAtRest(w.home, [TOKEN]), []);
    const restored = await call('POST', '/clients/cursor/restore');
    assert.equal(restored.status, 200);
    assert.equal(read(cursorFile), original);
  });

  test('deleting a secret removes its binding in the same change; an unknown one is 404', async () => {
    assert.equal((await call('PUT', '/secrets/bound-token', { value: 'v-1234567890' })).status, 200);
    core.secretBindings.bind('bound-token', core.config.servers.get('fs')!);
    assert.equal(core.secretBindings.all().length, 1);
    assert.equal((await call('DELETE', '/secrets/bound-token')).status, 200);
    assert.equal(await core.secrets.store.get('bound-token'), undefined);
    assert.deepEqual(core.secretBindings.all(), []);
    const missing = await call('DELETE', '/secrets/bound-token');
    assert.equal(missing.status, 404);
  });
});
