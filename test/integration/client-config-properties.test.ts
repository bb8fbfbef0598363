/**
 * Client config files as people and tools write them (fast-check): JSONC with comments anywhere,
 * odd whitespace, a byte order mark, CRLF, \u escapes, trailing commas, duplicate keys, broken
 * bytes, truncation, very large files. For each one, protect either works (the client entries
 * launch the shim, nothing else in the file changed, Warden's config validates, no moved secret
 * is in any file but the user's own, and restore gives the original bytes back) or fails with a
 * clear error, and then nothing already on disk changed. Real files and the real keychain.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { parse } from 'jsonc-parser';
import { openChangeContext } from '../../main/core/change/context.ts';
import type { ChangeContext } from '../../main/core/change/run-change.ts';
import { clientLocations, type ClientLocation } from '../../main/core/clients/locations.ts';
import { applyProtect, planProtect, secretNameFor } from '../../main/core/clients/protect.ts';
import { restoreClient } from '../../main/core/clients/restore.ts';
import { parseConfig } from '../../main/core/config/load.ts';
import { serverNameProblem } from '../../main/core/config/server-name.ts';
import { isWardenError } from '../../main/core/errors.ts';
import { KeychainSecretStore } from '../../main/core/secrets/secret-store.ts';
import { startKeyring, type TestKeyring } from '../helpers/keyring.ts';
import { keyringMissing } from '../helpers/requirements.ts';
import { filesUnder, secretsAtRest } from '../helpers/secret-files.ts';
import { makeWardenEnv, type WardenEnv } from '../helpers/warden-env.ts';

const GITHUB_TOKEN = 'ghp_' + 'A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8';
const LAUNCHER = '/opt/mcp-warden/bin/mcp-warden';
const skip = keyringMissing();

type Entry = Record<string, unknown>;
interface Model {
  servers: [string, Entry][];
  extras: [string, unknown][];
}
interface Style {
  bom: boolean;
  eol: '\n' | '\r\n';
  indent: string;
  /** 0..1: how often a comment or odd whitespace goes between two tokens. */
  noise: number;
  trailingCommas: boolean;
  asciiEscapes: boolean;
  duplicate: 'none' | 'server' | 'servers-key';
  damage: 'none' | 'truncate' | 'bad-utf8' | 'nbsp';
  seed: number;
  /** Bytes of padding in an unrelated key (a very large file). */
  padding: number;
}

const envKey = fc.oneof(
  fc.constantFrom('API_KEY', 'GITHUB_TOKEN', 'LOG_LEVEL', 'DEBUG', 'PASSWORD', 'HOME_DIR', 'x-api-key'),
  fc.string({ minLength: 1, maxLength: 12 }),
);
const envValue = fc.oneof(
  fc.constant(GITHUB_TOKEN),
  fc.stringMatching(/^[A-Za-z0-9_-]{8,32}$/),
  fc.string({ minLength: 1, maxLength: 24, unit: 'grapheme' }),
  fc.constant('Bearer tok-7d1e0c2b9a8f'),
);
const stdioEntry = fc.record(
  {
    command: fc.constantFrom('node', 'npx', '/usr/local/bin/server'),
    args: fc.array(fc.string({ maxLength: 12 }), { maxLength: 3 }),
    env: fc.dictionary(envKey, envValue, { maxKeys: 4 }),
    cwd: fc.constantFrom('/tmp', '/home/me/project'),
  },
  { requiredKeys: ['command'] },
);
const httpEntry = fc.record(
  {
    url: fc.constantFrom('https://mcp.example.com/mcp', 'http://127.0.0.1:9/mcp'),
    headers: fc.dictionary(fc.constantFrom('Authorization', 'X-Team', 'x-api-key'), envValue, { maxKeys: 2 }),
  },
  { requiredKeys: ['url'] },
);
/** Entries the daemon's schema refuses: a number in env, both command and url. */
const oddEntry = fc.constantFrom<Entry>(
  { command: 'node', env: { PORT: 8080 } },
  { command: 'node', url: 'https://x.example/mcp' },
);
const serverName = fc.oneof(
  { weight: 6, arbitrary: fc.stringMatching(/^[a-z][a-z0-9-]{0,10}$/) },
  { weight: 1, arbitrary: fc.constantFrom('My Notes', 'notes — ü', 'a/b', '__proto__', 'constructor') },
);
const model: fc.Arbitrary<Model> = fc.record({
  servers: fc.uniqueArray(
    fc.tuple(
      serverName,
      fc.oneof(
        { weight: 5, arbitrary: stdioEntry },
        { weight: 2, arbitrary: httpEntry },
        { weight: 1, arbitrary: oddEntry },
      ),
    ),
    { minLength: 1, maxLength: 4, selector: ([name]) => name },
  ),
  extras: fc.uniqueArray(
    fc.tuple(
      fc.constantFrom('globalShortcut', 'preferences', 'x-extra', 'theme'),
      fc.jsonValue({ maxDepth: 2 }),
    ),
    {
      maxLength: 3,
      selector: ([key]) => key,
    },
  ),
});
const style: fc.Arbitrary<Style> = fc.record({
  bom: fc.boolean(),
  eol: fc.constantFrom('\n', '\r\n'),
  indent: fc.constantFrom('', ' ', '  ', '    ', '\t'),
  noise: fc.constantFrom(0, 0.1, 0.5),
  trailingCommas: fc.boolean(),
  asciiEscapes: fc.boolean(),
  duplicate: fc.constantFrom('none', 'none', 'none', 'server', 'servers-key'),
  damage: fc.constantFrom('none', 'none', 'none', 'none', 'truncate', 'bad-utf8', 'nbsp'),
  seed: fc.integer(),
  padding: fc.constantFrom(0, 0, 0, 0, 0, 200_000),
});

/** A small deterministic random source, so fast-check can shrink the seed. */
function random(seed: number): () => number {
  let x = seed | 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

/** Writes the model as a JSONC file in the given style (the bytes a person or tool might save). */
function render(m: Model, st: Style): Buffer {
  const next = random(st.seed);
  const comment = (): string => {
    const text = ['note', 'old: ' + GITHUB_TOKEN.slice(0, 6), 'ü — 💥', '"quoted", {braces}'][
      Math.floor(next() * 4)
    ]!;
    return next() < 0.5 ? `// ${text}${st.eol}` : `/* ${text} */`;
  };
  const gap = (depth: number): string => {
    let out = st.indent ? st.eol + st.indent.repeat(depth) : '';
    if (next() < st.noise)
      out += [' ', '\t', st.eol, comment(), st.eol + st.indent.repeat(depth)][Math.floor(next() * 5)];
    return out;
  };
  const str = (s: string): string =>
    st.asciiEscapes
      ? JSON.stringify(s).replace(
          /[\u007f-\uffff]/g,
          (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
        )
      : JSON.stringify(s);
  const value = (v: unknown, depth: number): string => {
    if (Array.isArray(v))
      return list(
        v.map((x) => value(x, depth + 1)),
        '[',
        ']',
        depth,
      );
    if (v && typeof v === 'object')
      return list(
        Object.entries(v).map(([k, x]) => `${str(k)}:${st.indent ? ' ' : ''}${value(x, depth + 1)}`),
        '{',
        '}',
        depth,
      );
    return typeof v === 'string' ? str(v) : JSON.stringify(v);
  };
  const list = (items: string[], open: string, close: string, depth: number): string =>
    items.length
      ? `${open}${items.map((item) => gap(depth + 1) + item).join(',')}${st.trailingCommas ? ',' : ''}${gap(depth)}${close}`
      : `${open}${close}`;
  const servers = m.servers.map(([name, entry]) => `${str(name)}: ${value(entry, 2)}`);
  if (st.duplicate === 'server') servers.push(servers[0]!);
  const top = [
    ...m.extras.map(([k, v]) => `${str(k)}: ${value(v, 1)}`),
    `"mcpServers": ${list(servers, '{', '}', 1)}`,
    ...(st.duplicate === 'servers-key' ? ['"mcpServers": {}'] : []),
    ...(st.padding ? [`"x-padding": ${str('p'.repeat(st.padding))}`] : []),
  ];
  let text =
    (st.bom ? '\uFEFF' : '') +
    (next() < st.noise ? comment() + st.eol : '') +
    list(top, '{', '}', 0) +
    st.eol;
  if (st.damage === 'nbsp') text = text.replace('{', '{\u00a0');
  let bytes = Buffer.from(text, 'utf8');
  if (st.damage === 'truncate') bytes = bytes.subarray(0, Math.floor(bytes.length * next()));
  if (st.damage === 'bad-utf8')
    bytes = Buffer.concat([bytes.subarray(0, 1), Buffer.from([0xc3, 0x28]), bytes.subarray(1)]);
  return bytes;
}

/** Inputs that must be protected (no damage, no duplicates, names and entries Warden takes as they are). */
function mustWork(m: Model, st: Style): boolean {
  if (st.damage !== 'none' || st.duplicate !== 'none') return false;
  if (!m.servers.every(([name]) => serverNameProblem(name) === undefined)) return false;
  if (
    m.servers.some(
      ([, e]) =>
        typeof (e.env as Record<string, unknown> | undefined)?.PORT === 'number' || (e.command && e.url),
    )
  )
    return false;
  // Two secrets of one server whose names would coincide are refused.
  return m.servers.every(([name, e]) => {
    const keys = Object.keys({ ...(e.env as object), ...(e.headers as object) }).map((k) =>
      secretNameFor(name, k),
    );
    return new Set(keys).size === keys.length;
  });
}

describe('protecting client config files of every shape', { skip }, () => {
  let w: WardenEnv;
  let keyring: TestKeyring;
  let store: KeychainSecretStore;
  let counter = 0;

  before(() => {
    w = makeWardenEnv();
    keyring = startKeyring(w.home, w.env);
    // This process talks to the test keychain itself.
    process.env.DBUS_SESSION_BUS_ADDRESS = keyring.env.DBUS_SESSION_BUS_ADDRESS;
    store = new KeychainSecretStore();
  });
  after(() => {
    keyring?.stop();
    w?.cleanup();
  });

  /** A fresh user directory with a client config of the given bytes and a valid Warden config. */
  function scene(bytes: Buffer): {
    dir: string;
    location: ClientLocation;
    warden: string;
    ctx: ChangeContext;
    close: () => void;
  } {
    const dir = path.join(w.home, `case-${++counter}`);
    fs.mkdirSync(path.join(dir, 'client'), { recursive: true });
    const location = {
      ...clientLocations({ platform: 'linux', home: dir, cwd: dir, env: {} }).find(
        (l) => l.id === 'claude-desktop',
      )!,
      file: path.join(dir, 'client', 'claude_desktop_config.json'),
    };
    fs.writeFileSync(location.file, bytes);
    fs.writeFileSync(path.join(dir, 'client', 'sibling.json'), '{"untouched": true}\n');
    const warden = path.join(dir, 'config.json');
    fs.writeFileSync(warden, JSON.stringify({ mcpServers: {} }, null, 2) + '\n');
    const { ctx, close } = openChangeContext(
      { dataDir: path.join(dir, 'data'), stateDb: path.join(dir, 'data', 'state.db') },
      store,
    );
    return { dir, location, warden, ctx, close };
  }

  const snapshot = (dir: string): Map<string, string> =>
    new Map(filesUnder(dir).map((f) => [f, fs.readFileSync(f).toString('base64')]));

  async function check(m: Model, st: Style): Promise<void> {
    const bytes = render(m, st);
    const { dir, location, warden, ctx, close } = scene(bytes);
    const namesBefore = await store.list();
    const before = snapshot(dir);
    try {
      let plan;
      try {
        plan = await planProtect(location, warden, LAUNCHER);
        await applyProtect(plan, {
          wardenConfigFile: warden,
          ctx,
          backupDir: path.join(dir, 'data', 'backups'),
        });
      } catch (error) {
        // A clear error, and nothing changed: not a file, not the keychain.
        assert.ok(isWardenError(error), `not a clear error: ${String((error as Error).stack)}`);
        assert.match(
          error.message,
          /nothing was changed|is not a JSON object|not UTF-8|has no server|twice/i,
        );
        assert.ok(!mustWork(m, st), `refused an input it should protect: ${error.message}`);
        assert.deepEqual(snapshot(dir), before);
        assert.deepEqual(await store.list(), namesBefore);
        return;
      }
      if (st.duplicate !== 'none') assert.fail('a file with a duplicate key was edited');
      // (A no-break space is whitespace to JSONC parsers, as VS Code's: such a file may be protected.)
      if (st.damage === 'bad-utf8') assert.fail('a file that is not UTF-8 was edited');
      // The client launches the shim for each server; everything else in it is as it was.
      const text = fs.readFileSync(location.file, 'utf8');
      const was = parse(bytes.toString('utf8').replace(/^\uFEFF/, ''), [], {
        allowTrailingComma: true,
      }) as Record<string, Record<string, unknown>>;
      const now = parse(text.replace(/^\uFEFF/, ''), [], { allowTrailingComma: true }) as Record<
        string,
        Record<string, unknown>
      >;
      for (const s of plan.servers) {
        assert.deepEqual(now.mcpServers![s.name], { command: LAUNCHER, args: ['connect', s.name] });
        was.mcpServers![s.name] = now.mcpServers![s.name]!;
      }
      assert.deepEqual(now, was);
      assert.equal(text.startsWith('\uFEFF'), st.bom, 'the byte order mark is kept');
      if (st.eol === '\r\n' && st.indent)
        assert.doesNotMatch(text.replace(/\r\n/g, ''), /\n/, 'line endings kept');
      assert.equal(
        fs.readFileSync(path.join(dir, 'client', 'sibling.json'), 'utf8'),
        '{"untouched": true}\n',
      );
      // Warden's config is one the daemon takes, with every moved value in the keychain.
      const config = parseConfig(fs.readFileSync(warden, 'utf8'), warden);
      const moved = plan.servers.flatMap((s) => s.moves);
      for (const s of plan.servers) assert.ok(config.servers.has(s.name));
      for (const mv of moved) assert.equal(await store.get(mv.secret), mv.value);
      const allowed = moved.some((mv) => text.includes(mv.value)) ? [location.file] : [];
      assert.deepEqual(
        secretsAtRest(
          dir,
          moved.filter((mv) => mv.value.length >= 8).map((mv) => mv.value),
          allowed,
        ),
        [],
      );
      // Restore gives the exact bytes back.
      await restoreClient(location, { ctx, backupDir: path.join(dir, 'data', 'backups') });
      assert.ok(fs.readFileSync(location.file).equals(bytes), 'restore gives the original bytes back');
    } finally {
      close();
      for (const name of await store.list()) if (!namesBefore.includes(name)) await store.delete(name);
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }

  test(
    'any client config: protect works and restore gives the bytes back, or a clear error and nothing changed',
    { timeout: 600_000 },
    async () => {
      await fc.assert(fc.asyncProperty(model, style, check), { numRuns: 120 });
    },
  );

  test(
    'a very large client config (8 MiB) is protected and restored byte for byte',
    { timeout: 300_000 },
    async (t) => {
      const m: Model = {
        servers: [['github', { command: 'npx', env: { GITHUB_TOKEN } }]],
        extras: [['x-history', []]],
      };
      const started = Date.now();
      await check(m, {
        bom: false,
        eol: '\n',
        indent: '  ',
        noise: 0.1,
        trailingCommas: false,
        asciiEscapes: false,
        duplicate: 'none',
        damage: 'none',
        seed: 7,
        padding: 8 * 1024 * 1024,
      });
      t.diagnostic(`8 MiB: ${Date.now() - started} ms`);
    },
  );
});
