/**
 * Multi-step changes are all or nothing, even when the process dies half way. Each change runs
 * under MCP_WARDEN_FAULT_AFTER_WRITES=N, which SIGKILLs it right after its Nth durable write,
 * for N = 1, 2, … until it completes. After each kill every file is as it was before or as the
 * change leaves it, never half written; the next command (the real CLI) undoes or finishes the
 * change and says so; then everything (files, keychain, state.db) is entirely before or entirely
 * after, no temp file is left, no secret is in a file it should not be in, and the person can
 * carry on (restore gives the original bytes back). `N:error` makes the Nth write fail instead:
 * the command then reports the error and has changed nothing.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { pino } from 'pino';
import { FAULT_ENV_VAR } from '../../main/core/change/fault-point.ts';
import { loadConfig } from '../../main/core/config/load.ts';
import { startDaemon } from '../../main/core/daemon/daemon.ts';
import { startKeyring, type TestKeyring } from '../helpers/keyring.ts';
import { keyringMissing } from '../helpers/requirements.ts';
import { filesUnder, secretsAtRest } from '../helpers/secret-files.ts';
import {
  CLI,
  EVERYTHING_JS,
  NODE,
  ROOT,
  everythingServer,
  makeWardenEnv,
  type WardenEnv,
} from '../helpers/warden-env.ts';

const TOKEN = 'ghp_' + 'Z9y8X7w6V5u4T3s2R1q0P9o8N7m6L5k4J3i2';
/** A hand-written Claude Desktop config: a comment, its own indentation, a key Warden does not own. */
const ORIGINAL = `{
    // my servers
    "globalShortcut": "Ctrl+Space",
    "mcpServers": {
        "everything": {
            "command": ${JSON.stringify(NODE)},
            "args": [${JSON.stringify(EVERYTHING_JS)}, "stdio"],
            "env": { "GITHUB_TOKEN": "${TOKEN}" }
        }
    }
}
`;
const MAX_WRITES = 60;
const skip = keyringMissing();

interface Run {
  code: number;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

function run(env: NodeJS.ProcessEnv, file: string, args: string[], input = ''): Promise<Run> {
  return new Promise((resolve) => {
    const child = execFile(file, args, { env }, (error, stdout, stderr) => {
      const e = error as (Error & { code?: number; signal?: NodeJS.Signals }) | null;
      resolve({ code: e ? (e.code ?? -1) : 0, signal: e?.signal ?? null, stdout, stderr });
    });
    child.stdin!.end(input);
  });
}

const faulty = (env: NodeJS.ProcessEnv, spec: string): NodeJS.ProcessEnv => ({
  ...env,
  [FAULT_ENV_VAR]: spec,
});

/** A test user with a keychain of their own, a Claude Desktop config and an empty Warden config. */
class Scene {
  readonly w: WardenEnv;
  readonly keyring: TestKeyring | undefined;
  readonly clientFile: string;

  constructor(options: { keyring?: boolean; mcpServers?: Record<string, unknown> } = {}) {
    this.w = makeWardenEnv();
    if (options.keyring !== false) {
      this.keyring = startKeyring(this.w.home, this.w.env);
      Object.assign(this.w.env, this.keyring.env);
    }
    this.clientFile = path.join(this.w.env.XDG_CONFIG_HOME!, 'Claude', 'claude_desktop_config.json');
    fs.mkdirSync(path.dirname(this.clientFile), { recursive: true });
    fs.writeFileSync(this.clientFile, ORIGINAL);
    this.w.writeConfig({ mcpServers: options.mcpServers ?? {} });
  }

  get env(): NodeJS.ProcessEnv {
    return this.w.env;
  }
  get journal(): string {
    return path.join(this.w.paths.dataDir, 'journal', 'current.json');
  }
  get backupDir(): string {
    return path.join(this.w.paths.dataDir, 'backups');
  }
  client(): string {
    return fs.readFileSync(this.clientFile, 'utf8');
  }
  config(): string {
    return fs.readFileSync(this.w.paths.configFile, 'utf8');
  }
  /** Backup files (not yet restored). */
  backups(): string[] {
    return fs.existsSync(this.backupDir)
      ? fs.readdirSync(this.backupDir).filter((f) => f.endsWith('.json'))
      : [];
  }
  restoredBackups(): string[] {
    return fs.existsSync(this.backupDir)
      ? fs.readdirSync(this.backupDir).filter((f) => f.endsWith('.restored'))
      : [];
  }
  /** Files a change stages or keeps while it runs, and journal temp files. */
  strays(): string[] {
    return filesUnder(this.w.home).filter((f) => /\.warden-(new|old)$|current\.json/.test(f));
  }
  rows<T>(sql: string): T[] {
    if (!fs.existsSync(this.w.paths.stateDb)) return [];
    const db = new Database(this.w.paths.stateDb, { readonly: true });
    try {
      return db.prepare(sql).all() as T[];
    } finally {
      db.close();
    }
  }
  approvals(): string[] {
    return this.rows<{ server: string }>('SELECT server FROM server_approvals ORDER BY server').map(
      (r) => r.server,
    );
  }
  bindings(): string[] {
    return this.rows<{ name: string; server: string }>('SELECT name, server FROM secret_bindings').map(
      (r) => `${r.name}->${r.server}`,
    );
  }
  /** The keychain's names, read by the CLI (which first recovers what a killed change left). */
  async secretNames(): Promise<{ names: string[]; stderr: string }> {
    const listed = await run(this.env, CLI, ['secrets', 'list']);
    assert.equal(listed.code, 0, listed.stderr);
    const names = listed.stdout
      .trim()
      .split('\n')
      .filter((l) => l && l !== 'no secrets')
      .map((l) => l.split(' ')[0]!);
    return { names, stderr: listed.stderr };
  }
  stop(): void {
    this.keyring?.stop();
    this.w.cleanup();
  }
}

/** Asserts a kill at write `n` left each of `files` wholly in one of its allowed states. */
function assertWhole(n: number, files: [string, string, string[]][]): void {
  for (const [label, now, allowed] of files)
    assert.ok(
      allowed.includes(now),
      `after a kill at write ${n}, ${label} is neither before nor after:\n${now}`,
    );
}

/** Asserts the next command reported what it recovered, when a journal was left. */
function assertReported(n: number, journalLeft: boolean, stderr: string, outcome: 'before' | 'after'): void {
  if (!journalLeft) return assert.doesNotMatch(stderr, /interrupted change/, `write ${n}`);
  assert.match(
    stderr,
    outcome === 'before' ? /an interrupted change \(.*\) was undone/ : /is now finished/,
    `write ${n}`,
  );
}

describe('multi-step changes survive a kill between any two writes', { skip }, () => {
  test(
    'clients protect: killed after each write, the next command undoes or finishes it; never a half-protected client',
    { timeout: 900_000 },
    async () => {
      const reference = new Scene();
      const done = await run(reference.env, CLI, ['clients', 'protect', 'claude-desktop', '--yes']);
      assert.equal(done.code, 0, done.stderr);
      const clientAfter = reference.client();
      const wardenAfter = reference.config();
      reference.stop();
      const outcomes: string[] = [];
      // A scene found entirely "before" is as new, and serves the next kill too.
      let s = new Scene();
      const wardenBefore = s.config();
      try {
        for (let n = 1; ; n++) {
          assert.ok(n <= MAX_WRITES, `protect completes within ${MAX_WRITES} writes`);
          const killed = await run(faulty(s.env, String(n)), CLI, [
            'clients',
            'protect',
            'claude-desktop',
            '--yes',
          ]);
          if (killed.code === 0) {
            assert.ok(n > 10, `only ${n - 1} writes were kill points`);
            break;
          }
          assert.equal(killed.signal, 'SIGKILL', killed.stderr);
          assertWhole(n, [
            ['the client config', s.client(), [ORIGINAL, clientAfter]],
            ["Warden's config", s.config(), [wardenBefore, wardenAfter]],
          ]);
          for (const b of s.backups())
            assert.equal(JSON.parse(fs.readFileSync(path.join(s.backupDir, b), 'utf8')).version, 2);
          // The token is where it was (the client file, and the link to it kept while it is replaced), nowhere else.
          const kept = s.strays().filter((f) => f.endsWith('.warden-old'));
          assert.deepEqual(secretsAtRest(s.w.home, [TOKEN], [s.clientFile, ...kept]), [], `write ${n}`);

          const journalLeft = fs.existsSync(s.journal);
          const { names, stderr } = await s.secretNames();
          const outcome = s.client() === ORIGINAL ? 'before' : 'after';
          outcomes.push(outcome);
          assertReported(n, journalLeft, stderr, outcome);
          assert.deepEqual(s.strays(), [], `write ${n}: temp files left`);
          if (outcome === 'before') {
            assert.equal(s.config(), wardenBefore);
            assert.deepEqual(s.backups(), []);
            assert.deepEqual(names, [], `write ${n}`);
            assert.deepEqual(s.approvals(), []);
            assert.deepEqual(secretsAtRest(s.w.home, [TOKEN], [s.clientFile]), []);
            continue;
          }
          assert.equal(s.config(), wardenAfter);
          assert.equal(s.backups().length, 1);
          assert.deepEqual(
            names.filter((x) => !x.startsWith('backup.')),
            ['everything-github_token'],
          );
          assert.equal(names.filter((x) => x.startsWith('backup.')).length, 1);
          assert.deepEqual(s.approvals(), ['everything']);
          assert.deepEqual(secretsAtRest(s.w.home, [TOKEN]), [], `write ${n}`);
          const restored = await run(s.env, CLI, ['clients', 'restore', 'claude-desktop']);
          assert.equal(restored.code, 0, restored.stderr);
          assert.equal(s.client(), ORIGINAL);
          s.stop();
          s = new Scene();
        }
      } finally {
        s.stop();
      }
      assert.ok(outcomes.includes('before') && outcomes.includes('after'), outcomes.join(' '));
    },
  );

  test('clients protect: a write that fails changes nothing, and says so', { timeout: 600_000 }, async () => {
    const s = new Scene();
    try {
      const wardenBefore = s.config();
      for (let n = 1; ; n++) {
        assert.ok(n <= MAX_WRITES);
        const failed = await run(faulty(s.env, `${n}:error`), CLI, [
          'clients',
          'protect',
          'claude-desktop',
          '--yes',
        ]);
        if (failed.code === 0) {
          // Past the commit: the change is made; a failed clean-up is finished by the next command.
          assert.notEqual(s.client(), ORIGINAL);
          const next = await s.secretNames();
          if (/cleaning up after it failed/.test(failed.stderr)) assert.match(next.stderr, /is now finished/);
          assert.deepEqual(s.strays(), []);
          // Nothing an earlier, failed attempt put in the keychain is left: only this protect's two.
          assert.deepEqual(
            next.names.filter((x) => !x.startsWith('backup.')),
            ['everything-github_token'],
          );
          assert.equal(next.names.length, 2, next.names.join(', '));
          break;
        }
        assert.match(failed.stderr, /injected failure after write \d+ .*Nothing was changed/s, `write ${n}`);
        assert.equal(s.client(), ORIGINAL, `write ${n}`);
        assert.equal(s.config(), wardenBefore, `write ${n}`);
        assert.deepEqual(s.backups(), []);
        assert.deepEqual(s.strays(), [], `write ${n}`);
        assert.deepEqual(s.approvals(), []);
        assert.equal(fs.existsSync(s.journal), false);
      }
    } finally {
      s.stop();
    }
  });

  test(
    'clients restore: killed after each write, the client is protected or restored, never half',
    { timeout: 600_000 },
    async () => {
      let s: Scene | undefined;
      let protectedText = '';
      try {
        for (let n = 1; ; n++) {
          assert.ok(n <= MAX_WRITES);
          if (!s) {
            s = new Scene();
            assert.equal((await run(s.env, CLI, ['clients', 'protect', 'claude-desktop', '--yes'])).code, 0);
            protectedText = s.client();
          }
          const killed = await run(faulty(s.env, String(n)), CLI, ['clients', 'restore', 'claude-desktop']);
          if (killed.code === 0) {
            assert.equal(s.client(), ORIGINAL);
            assert.ok(n > 4, `only ${n - 1} writes were kill points`);
            break;
          }
          assert.equal(killed.signal, 'SIGKILL', killed.stderr);
          assertWhole(n, [['the client config', s.client(), [protectedText, ORIGINAL]]]);
          const staged = s.strays().filter((f) => f.endsWith('.warden-new'));
          assert.deepEqual(secretsAtRest(s.w.home, [TOKEN], [s.clientFile, ...staged]), [], `write ${n}`);
          const journalLeft = fs.existsSync(s.journal);
          const { stderr, names } = await s.secretNames();
          const outcome = s.client() === ORIGINAL ? 'after' : 'before';
          assertReported(n, journalLeft, stderr, outcome);
          assert.deepEqual(s.strays(), [], `write ${n}`);
          assert.ok(names.includes('everything-github_token'), 'restore leaves the keychain as it is');
          if (outcome === 'before') {
            // Still protected, as before the restore: the next kill starts from here.
            assert.equal(s.client(), protectedText);
            assert.deepEqual([s.backups().length, s.restoredBackups().length], [1, 0]);
            assert.deepEqual(secretsAtRest(s.w.home, [TOKEN]), [], `write ${n}`);
            continue;
          }
          assert.deepEqual([s.backups().length, s.restoredBackups().length], [0, 1]);
          assert.deepEqual(secretsAtRest(s.w.home, [TOKEN], [s.clientFile]), [], `write ${n}`);
          s.stop();
          s = undefined;
        }
      } finally {
        s?.stop();
      }
    },
  );

  test(
    'secrets set --server and secrets delete: value and binding change together or not at all',
    { timeout: 600_000 },
    async () => {
      const OLD = 'old-value-3f9c1a7e55';
      const NEW = 'new-value-8b2d4c6e11';
      const s = new Scene({
        mcpServers: { a: everythingServer(), b: everythingServer({ args: [EVERYTHING_JS, 'stdio', 'b'] }) },
      });
      const value = async (): Promise<string> =>
        (await run(s.env, CLI, ['secrets', 'get', 'tok', '--reveal'])).stdout.trim();
      const setOld = async (): Promise<void> =>
        assert.equal((await run(s.env, CLI, ['secrets', 'set', 'tok', '--server', 'a'], OLD)).code, 0);
      try {
        await setOld();
        for (const [command, args, input] of [
          ['set', ['secrets', 'set', 'tok', '--server', 'b'], NEW],
          ['delete', ['secrets', 'delete', 'tok'], ''],
        ] as const) {
          for (let n = 1; ; n++) {
            assert.ok(n <= MAX_WRITES);
            const killed = await run(faulty(s.env, String(n)), CLI, [...args], input);
            if (killed.code === 0) {
              await setOld();
              break;
            }
            assert.equal(killed.signal, 'SIGKILL', `${command}: ${killed.stderr}`);
            assert.deepEqual(secretsAtRest(s.w.home, [OLD, NEW]), [], `${command}, write ${n}`);
            const journalLeft = fs.existsSync(s.journal);
            const { names, stderr } = await s.secretNames();
            assert.deepEqual(s.strays(), []);
            const before = names.includes('tok') && (await value()) === OLD;
            assertReported(n, journalLeft, stderr, before ? 'before' : 'after');
            if (before) {
              assert.deepEqual(names, ['tok'], `${command}, write ${n}: a stash is left`);
              assert.deepEqual(s.bindings(), ['tok->a']);
              continue;
            }
            if (command === 'set') {
              assert.deepEqual(names, ['tok']);
              assert.equal(await value(), NEW);
              assert.deepEqual(s.bindings(), ['tok->b']);
            } else {
              assert.deepEqual(names, []);
              assert.deepEqual(s.bindings(), []);
            }
            await setOld();
          }
        }
      } finally {
        s.stop();
      }
    },
  );
});

describe('a daemon started after a kill', { skip }, () => {
  test('recovers the change before it serves: the config it was handed is read again', async () => {
    const s = new Scene();
    const wardenBefore = s.config();
    const saved = process.env.DBUS_SESSION_BUS_ADDRESS;
    try {
      // Kill protect right after it replaced Warden's config, before it rewrote the client.
      for (let n = 1; ; n++) {
        assert.ok(n <= MAX_WRITES, 'a kill point between the two files');
        const killed = await run(faulty(s.env, String(n)), CLI, [
          'clients',
          'protect',
          'claude-desktop',
          '--yes',
        ]);
        assert.equal(killed.signal, 'SIGKILL', killed.stderr);
        if (s.config() !== wardenBefore) break;
        // Not there yet: the next command puts everything back, and the next kill goes one write further.
        await s.secretNames();
      }
      assert.equal(s.client(), ORIGINAL);
      assert.ok(fs.existsSync(s.journal));
      // What the tray app does: read the config, then start the daemon in this process.
      process.env.DBUS_SESSION_BUS_ADDRESS = s.env.DBUS_SESSION_BUS_ADDRESS;
      const config = loadConfig(s.w.paths, { createDefault: false });
      assert.ok(config.servers.has('everything'), 'the config as the kill left it');
      const lines: string[] = [];
      const logger = pino({ level: 'warn' }, { write: (line: string) => void lines.push(line) });
      const daemon = await startDaemon({
        config,
        paths: s.w.paths,
        logger,
        port: 0,
        managedPolicyFile: path.join(s.w.home, 'no-managed-policy.json'),
      });
      try {
        assert.match(lines.join(''), /an interrupted change \(clients protect claude-desktop.*was undone/);
        assert.deepEqual([...daemon.core.config.servers.keys()], []);
        assert.equal(s.config(), wardenBefore);
        assert.deepEqual(s.strays(), []);
        assert.ok(!fs.existsSync(s.journal));
      } finally {
        await daemon.close();
      }
    } finally {
      if (saved === undefined) delete process.env.DBUS_SESSION_BUS_ADDRESS;
      else process.env.DBUS_SESSION_BUS_ADDRESS = saved;
      s.stop();
    }
  });
});

describe('multi-step changes without the keychain survive a kill too', () => {
  test(
    'catalog install: Warden config and client config change together or not at all',
    { timeout: 600_000 },
    async () => {
      const fixture = path.join(ROOT, 'test/fixtures/catalog-install-process.ts');
      const entry = JSON.stringify({
        name: 'github',
        description: 'GitHub',
        command: 'npx',
        args: ['-y', 'gh-mcp@1.2.3'],
      });
      const s = new Scene({ keyring: false });
      const cursor = path.join(s.w.home, '.cursor', 'mcp.json');
      const read = (f: string) => (fs.existsSync(f) ? fs.readFileSync(f, 'utf8') : '(none)');
      const install = (env: NodeJS.ProcessEnv) =>
        run(env, NODE, [fixture, entry, cursor, s.w.paths.configFile, s.w.paths.dataDir]);
      try {
        const wardenBefore = s.config();
        // An uninterrupted install, for comparison, then put back by hand.
        assert.equal((await install(s.env)).code, 0);
        const [clientAfter, wardenAfter] = [read(cursor), s.config()];
        const undo = () => {
          fs.rmSync(path.dirname(cursor), { recursive: true, force: true });
          fs.writeFileSync(s.w.paths.configFile, wardenBefore);
        };
        undo();
        for (let n = 1; ; n++) {
          assert.ok(n <= MAX_WRITES);
          const killed = await install(faulty(s.env, String(n)));
          if (killed.code === 0) {
            assert.ok(n > 5, `only ${n - 1} writes were kill points`);
            assert.equal(read(cursor), clientAfter);
            break;
          }
          assert.equal(killed.signal, 'SIGKILL', killed.stderr);
          assertWhole(n, [
            ['the Cursor config', read(cursor), ['(none)', clientAfter]],
            ["Warden's config", s.config(), [wardenBefore, wardenAfter]],
          ]);
          const journalLeft = fs.existsSync(s.journal);
          const next = await run(s.env, CLI, ['clients', 'list']);
          assert.equal(next.code, 0, next.stderr);
          const outcome = read(cursor) === '(none)' ? 'before' : 'after';
          assertReported(n, journalLeft, next.stderr, outcome);
          assert.deepEqual(s.strays(), []);
          assert.equal(s.config(), outcome === 'before' ? wardenBefore : wardenAfter);
          assert.equal(
            fs.existsSync(path.dirname(cursor)),
            outcome === 'after',
            'the directory it created is gone again',
          );
          if (outcome === 'after') undo();
        }
      } finally {
        s.stop();
      }
    },
  );
});
