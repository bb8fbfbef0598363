import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { openChangeContext } from '../../main/core/change/context.ts';
import { clientLocations } from '../../main/core/clients/locations.ts';
import { applyProtect, planProtect, secretNameFor } from '../../main/core/clients/protect.ts';
import { restoreClient } from '../../main/core/clients/restore.ts';
import { MemorySecretStore } from '../../main/core/secrets/secret-store.ts';

test('client config locations per OS', () => {
  const mac = clientLocations({ platform: 'darwin', home: '/Users/me', cwd: '/w', env: {} });
  assert.equal(
    mac.find((l) => l.id === 'claude-desktop')?.file,
    '/Users/me/Library/Application Support/Claude/claude_desktop_config.json',
  );
  assert.equal(
    mac.find((l) => l.id === 'vscode')?.file,
    '/Users/me/Library/Application Support/Code/User/mcp.json',
  );
  const win = clientLocations({
    platform: 'win32',
    home: 'C:\\Users\\me',
    cwd: 'C:\\w',
    env: { APPDATA: 'C:\\Users\\me\\AppData\\Roaming' },
  });
  assert.equal(
    win.find((l) => l.id === 'claude-desktop')?.file,
    'C:\\Users\\me\\AppData\\Roaming\\Claude\\claude_desktop_config.json',
  );
  assert.equal(win.find((l) => l.id === 'cursor')?.file, 'C:\\Users\\me\\.cursor\\mcp.json');
  const linux = clientLocations({ platform: 'linux', home: '/home/me', cwd: '/w', env: {} });
  assert.equal(linux.find((l) => l.id === 'claude-code')?.file, '/home/me/.claude.json');
  assert.equal(linux.find((l) => l.id === 'claude-code-project')?.file, '/w/.mcp.json');
  assert.equal(linux.find((l) => l.id === 'vscode-workspace')?.key, 'servers');
});

test('restore after the file changed since protect: merges the original entries back and keeps the rest', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'warden-clients-'));
  const location = {
    ...clientLocations({ platform: 'linux', home: dir, cwd: dir, env: {} }).find((l) => l.id === 'cursor')!,
    file: path.join(dir, 'mcp.json'),
  };
  const warden = path.join(dir, 'config.json');
  fs.writeFileSync(warden, '{ "mcpServers": {} }\n');
  fs.writeFileSync(
    location.file,
    JSON.stringify(
      {
        mcpServers: {
          a: { command: 'a-server', env: { A_TOKEN: 'sekret-value-1' } },
          b: { command: 'b-server' },
        },
      },
      null,
      2,
    ),
  );
  const store = new MemorySecretStore();
  const { ctx } = openChangeContext({ dataDir: dir, stateDb: path.join(dir, 'state.db') }, store);
  const plan = await planProtect(location, warden, '/opt/warden', ['a']);
  await applyProtect(plan, { wardenConfigFile: warden, ctx, backupDir: path.join(dir, 'backups') });
  assert.equal(await store.get(secretNameFor('a', 'A_TOKEN')), 'sekret-value-1');
  assert.ok(!fs.readFileSync(location.file, 'utf8').includes('sekret-value-1'));
  // The user adds a server after protecting.
  const changed = JSON.parse(fs.readFileSync(location.file, 'utf8')) as {
    mcpServers: Record<string, unknown>;
  };
  changed.mcpServers.c = { command: 'c-server' };
  fs.writeFileSync(location.file, JSON.stringify(changed, null, 2));
  const report = await restoreClient(location, { ctx, backupDir: path.join(dir, 'backups') });
  assert.match(report.join('\n'), /changed since it was protected; merging:\n {2}a: original entry restored/);
  const restored = JSON.parse(fs.readFileSync(location.file, 'utf8')) as {
    mcpServers: Record<string, unknown>;
  };
  assert.deepEqual(restored.mcpServers, {
    a: { command: 'a-server', env: { A_TOKEN: 'sekret-value-1' } },
    b: { command: 'b-server' },
    c: { command: 'c-server' },
  });
  await assert.rejects(restoreClient(location, { ctx, backupDir: path.join(dir, 'backups') }), /no backup/);
  fs.rmSync(dir, { recursive: true, force: true });
});
