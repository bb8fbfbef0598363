/**
 * electron-builder.yml: packaging cannot run here (Electron's binaries are not downloadable on
 * these machines), so the config is checked statically: every key exists in electron-builder's
 * own JSON schema (node_modules/app-builder-lib/scheme.json, the version installed), the values
 * the release depends on are set, and every file the config names is in the repository.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { appPaths } from '../../main/app/app-paths.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

interface JsonSchema {
  properties?: Record<string, JsonSchema>;
  definitions?: Record<string, JsonSchema>;
  anyOf?: JsonSchema[];
  $ref?: string;
  additionalProperties?: boolean;
}

const schema = JSON.parse(
  fs.readFileSync(path.join(ROOT, 'node_modules/app-builder-lib/scheme.json'), 'utf8'),
) as JsonSchema;

/** The object schema a property refers to (through anyOf / $ref), e.g. mac -> MacConfiguration. */
function objectSchema(property: JsonSchema): JsonSchema {
  for (const option of [property, ...(property.anyOf ?? [])]) {
    if (option.$ref) return schema.definitions![option.$ref.replace('#/definitions/', '')]!;
    if (option.properties) return option;
  }
  throw new Error(`no object schema in ${JSON.stringify(property).slice(0, 200)}`);
}

type Config = Record<string, unknown> & {
  mac: Record<string, unknown>;
  win: Record<string, unknown>;
  linux: Record<string, unknown>;
  nsis: Record<string, unknown>;
  electronFuses: Record<string, unknown>;
  files: string[];
  asarUnpack: string[];
  extraMetadata: Record<string, unknown>;
  directories: Record<string, string>;
};

const config = parse(fs.readFileSync(path.join(ROOT, 'electron-builder.yml'), 'utf8')) as Config;

test('every key is one electron-builder 26 knows (its scheme.json)', () => {
  const top = schema.properties!;
  const unknownTop = Object.keys(config).filter((key) => !(key in top));
  assert.deepEqual(unknownTop, [], 'top-level keys');
  for (const section of ['mac', 'win', 'linux', 'nsis', 'electronFuses', 'directories'] as const) {
    const known = objectSchema(top[section]!).properties!;
    const unknown = Object.keys(config[section]).filter((key) => !(key in known));
    assert.deepEqual(unknown, [], `${section} keys`);
  }
  // The fuses object admits nothing else (additionalProperties: false): a typo would fail the build.
  assert.equal(objectSchema(top.electronFuses!).additionalProperties, false);
});

test("electron-builder's own validator accepts the config (and rejects a misplaced key)", async () => {
  // The check `electron-builder` runs before packaging (ajv over scheme.json, plus its deprecations).
  const fromBuilder = createRequire(path.join(ROOT, 'node_modules/app-builder-lib/package.json'));
  const { validateConfiguration } = fromBuilder('./out/util/config/config.js') as {
    validateConfiguration: (config: unknown, logger: unknown) => Promise<void>;
  };
  const { DebugLogger } = fromBuilder('builder-util') as { DebugLogger: new (enabled: boolean) => unknown };
  await validateConfiguration(structuredClone(config), new DebugLogger(false));
  const misplaced = structuredClone(config);
  misplaced.mac.oneClick = false;
  await assert.rejects(validateConfiguration(misplaced, new DebugLogger(false)), /configuration\.mac/);
});

test('identity, entry point and platform targets', () => {
  assert.equal(config.appId, 'dev.mcp-warden.app');
  assert.equal(config.productName, 'MCP Warden');
  assert.equal(config.extraMetadata.main, 'dist/main/app/main.js');
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as Record<string, unknown>;
  assert.equal(pkg.main, undefined, 'the npm package keeps no Electron "main"');

  assert.deepEqual(config.mac.target, ['dmg', 'zip']);
  assert.equal(config.mac.hardenedRuntime, true);
  assert.equal(config.mac.gatekeeperAssess, false);
  assert.equal(config.mac.category, 'public.app-category.developer-tools');
  assert.equal(config.mac.entitlements, 'resources/build/entitlements.mac.plist');
  assert.equal(config.mac.entitlementsInherit, 'resources/build/entitlements.mac.plist');
  assert.notEqual(config.mac.notarize, false, 'notarization is not switched off');

  assert.deepEqual(config.win.target, ['nsis']);
  assert.equal(config.nsis.oneClick, false);
  assert.equal(config.nsis.perMachine, false);

  assert.deepEqual(config.linux.target, ['AppImage', 'deb']);
  assert.equal(config.linux.category, 'Development');
  assert.equal(typeof config.linux.maintainer, 'string');
  assert.equal(config.linux.executableName, 'mcp-warden-app', 'does not shadow the npm CLI on PATH');
  assert.equal(config.npmRebuild, undefined, 'native modules are rebuilt for Electron (the default)');
});

test('files: the built core, app, preload and renderer, resources; no source maps; native modules unpacked', () => {
  for (const entry of [
    'dist/main/**',
    'dist/preload/**',
    'dist/renderer/**',
    'resources/**',
    'package.json',
    '!**/*.map',
  ])
    assert.ok(config.files.includes(entry), entry);
  assert.ok(!config.files.includes('dist/**'), 'not all of dist');
  for (const entry of ['**/node_modules/better-sqlite3/**', '**/node_modules/keytar/**', '**/*.node'])
    assert.ok(config.asarUnpack.includes(entry), entry);
});

test('fuses: no run-as-Node, no NODE_OPTIONS or inspector, asar only and validated, file:// unprivileged', () => {
  assert.deepEqual(config.electronFuses, {
    runAsNode: false,
    enableCookieEncryption: true,
    enableNodeOptionsEnvironmentVariable: false,
    enableNodeCliInspectArguments: false,
    enableEmbeddedAsarIntegrityValidation: true,
    onlyLoadAppFromAsar: true,
    loadBrowserProcessSpecificV8Snapshot: false,
    grantFileProtocolExtraPrivileges: false,
  });
});

test('entitlements: a valid plist granting allow-jit, and nothing that weakens library validation', async () => {
  // electron-builder's own plist parser (a dependency of app-builder-lib, installed with it).
  const plist = await import('plist');
  const entitlements = plist.parse(
    fs.readFileSync(path.join(ROOT, 'resources/build/entitlements.mac.plist'), 'utf8'),
  ) as Record<string, unknown>;
  assert.equal(entitlements['com.apple.security.cs.allow-jit'], true);
  for (const weakening of [
    'com.apple.security.cs.disable-library-validation',
    'com.apple.security.cs.allow-dyld-environment-variables',
    'com.apple.security.get-task-allow',
  ])
    assert.equal(entitlements[weakening], undefined, weakening);
});

test('every file the config and the app name is in the repository', () => {
  const files = [
    config.mac.entitlements as string,
    config.mac.entitlementsInherit as string,
    config.mac.icon as string,
    config.win.icon as string,
    config.linux.icon as string,
    'resources/config.schema.json',
    'resources/tray/tray.png',
    'resources/tray/trayTemplate.png',
    'resources/tray/trayTemplate@2x.png',
  ];
  for (const file of files) assert.ok(fs.existsSync(path.join(ROOT, file)), file);
  // The tray icons are the ones the app loads (app-paths.ts), and real PNGs.
  for (const platform of ['darwin', 'win32', 'linux'] as const) {
    const icon = appPaths(path.join(ROOT, 'dist/main/app'), platform).trayIcon;
    const bytes = fs.readFileSync(icon);
    assert.deepEqual([...bytes.subarray(0, 8)], [137, 80, 78, 71, 13, 10, 26, 10], icon);
  }
  // The app icon is large enough for every platform (macOS and Windows need 512 and 256 px).
  const icon = fs.readFileSync(path.join(ROOT, config.mac.icon as string));
  assert.ok(icon.readUInt32BE(16) >= 512 && icon.readUInt32BE(20) >= 512, 'icon.png is at least 512x512');
  // Build resources are not packed into the app.
  assert.equal(config.directories.buildResources, 'resources/build');
  assert.ok(config.files.includes('!resources/build/**'));
});
