import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { build as buildPlist, parse as parsePlist, type PlistValue } from 'plist';
import { isWardenError } from '../../main/core/errors.ts';
import {
  documentFromSettings,
  MANAGED_BUNDLE_ID,
  MANAGED_SETTING_NAMES,
  managedPreferenceSettings,
  parseRegQuery,
  readPlatformManagedPolicy,
  WINDOWS_POLICY_KEY,
  type RunCommand,
} from '../../main/core/policy/platform-managed.ts';
import { parsePolicy } from '../../main/core/policy/sources.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const KEY = {
  kty: 'OKP',
  crv: 'Ed25519',
  x: 'DciLm0_00rGr281zoo31ubzDGJKGVwVU07r_Og2iHqo',
  kid: 'acme-2026',
};
const MACHINE_PLIST = `/Library/Managed Preferences/${MANAGED_BUNDLE_ID}.plist`;
const USER_PLIST = `/Library/Managed Preferences/alice/${MANAGED_BUNDLE_ID}.plist`;

/** Asserts `fn` throws WardenError POLICY_INVALID whose message matches every pattern. */
function assertInvalid(fn: () => unknown, ...patterns: RegExp[]): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(isWardenError(error, 'POLICY_INVALID'), `expected POLICY_INVALID, got ${String(error)}`);
    for (const pattern of patterns) assert.match(error.message, pattern);
    return true;
  });
}

const validate = (document: unknown) => parsePolicy(JSON.stringify(document), 'test');

// ---------------------------------------------------------------------------------------------
// documentFromSettings

test('documentFromSettings: individual settings are laid over PolicyJson; locks are merged', () => {
  const document = documentFromSettings(
    {
      PolicyJson: JSON.stringify({
        lock: ['userAllowRules'],
        orgPolicy: { url: 'https://old.example.com/p.jws', keys: [KEY], pollSeconds: 600 },
        catalogOnly: false,
        rules: [{ tool: '*delete*', action: 'deny' }],
        approvalTimeoutSeconds: 60,
      }),
      OrgPolicyUrl: 'https://policy.example.com/mcp-warden/policy.jws',
      OrgId: 'acme',
      OrgGraceHours: 24,
      CatalogOnly: true,
      LockServerApprovals: true,
      LockUserAllowRules: true,
      LockAlwaysAllow: false,
      ApprovalTimeoutSeconds: 300,
    },
    'test',
  );
  assert.deepEqual(document, {
    lock: ['userAllowRules', 'serverApprovals'],
    orgPolicy: {
      url: 'https://policy.example.com/mcp-warden/policy.jws',
      keys: [KEY],
      pollSeconds: 600,
      org: 'acme',
      graceHours: 24,
    },
    catalogOnly: true,
    rules: [{ tool: '*delete*', action: 'deny' }],
    approvalTimeoutSeconds: 300,
  });
  assert.equal(validate(document).orgPolicy?.pollSeconds, 600);
});

test('documentFromSettings: without PolicyJson; DWORD 0/1 booleans; multi-line JSON from REG_MULTI_SZ', () => {
  const document = documentFromSettings(
    {
      OrgPolicyUrl: 'https://policy.example.com/p.jws',
      OrgPolicyKeys: ['[', JSON.stringify(KEY), ']'],
      OrgPollSeconds: 120,
      CatalogOnly: 0,
      LockAlwaysAllow: 1,
    },
    'test',
  );
  assert.deepEqual(document, {
    orgPolicy: { url: 'https://policy.example.com/p.jws', keys: [KEY], pollSeconds: 120 },
    catalogOnly: false,
    lock: ['alwaysAllow'],
  });
  assert.deepEqual(documentFromSettings({}, 'test'), {});
  assert.deepEqual(documentFromSettings({ LockServerApprovals: false }, 'test'), {}, 'false adds no lock');
  assert.deepEqual(
    documentFromSettings({ PolicyJson: '{"lock":["alwaysAllow"]}', LockAlwaysAllow: true }, 'test'),
    { lock: ['alwaysAllow'] },
    'a lock named twice appears once',
  );
});

test('documentFromSettings: unknown names are refused, naming the origin, the name and the known names', () => {
  assertInvalid(
    () => documentFromSettings({ CatalogOnyl: true, OrgId: 'acme' }, 'Group Policy X'),
    /^Group Policy X: unknown setting "CatalogOnyl"/,
    /refused rather than ignored/,
    /Known settings: PolicyJson, OrgPolicyUrl, OrgPolicyKeys, OrgId, OrgPollSeconds, OrgGraceHours, CatalogOnly, LockServerApprovals, LockUserAllowRules, LockAlwaysAllow, ApprovalTimeoutSeconds$/,
  );
  assertInvalid(
    () => documentFromSettings({ catalogonly: true, Rules: '[]' }, 'o'),
    /unknown settings "catalogonly" \(did you mean "CatalogOnly"\?\), "Rules";/,
  );
});

test('documentFromSettings: JSON settings that are not JSON, or not the right JSON, are refused', () => {
  assertInvalid(
    () => documentFromSettings({ PolicyJson: '{"rules": [' }, 'macOS managed preferences F'),
    /^macOS managed preferences F: setting "PolicyJson" is not valid JSON: /,
  );
  assertInvalid(
    () => documentFromSettings({ PolicyJson: '[1]' }, 'o'),
    /setting "PolicyJson" must be a JSON object \(a policy document\), not an array/,
  );
  assertInvalid(
    () => documentFromSettings({ OrgPolicyKeys: 'x' }, 'o'),
    /^o: setting "OrgPolicyKeys" is not valid JSON/,
  );
  assertInvalid(
    () => documentFromSettings({ OrgPolicyKeys: JSON.stringify(KEY) }, 'o'),
    /setting "OrgPolicyKeys" must be a JSON array of Ed25519 public keys \(JWK\), not a dictionary/,
  );
  assertInvalid(
    () => documentFromSettings({ PolicyJson: '{"orgPolicy": "x"}', OrgId: 'acme' }, 'o'),
    /"orgPolicy" in setting "PolicyJson" must be an object to combine it with OrgId/,
  );
  assertInvalid(
    () => documentFromSettings({ PolicyJson: '{"lock": "alwaysAllow"}', LockAlwaysAllow: true }, 'o'),
    /"lock" in setting "PolicyJson" must be an array/,
  );
});

test('documentFromSettings: values of the wrong type are refused, saying what was expected', () => {
  assertInvalid(
    () => documentFromSettings({ OrgPollSeconds: '300' }, 'o'),
    /^o: setting "OrgPollSeconds" must be an integer \(plist <integer>, REG_DWORD\), not a string \("300"\)$/,
  );
  assertInvalid(
    () => documentFromSettings({ ApprovalTimeoutSeconds: 1.5 }, 'o'),
    /"ApprovalTimeoutSeconds" must be an integer .*not the number 1\.5/,
  );
  assertInvalid(
    () => documentFromSettings({ CatalogOnly: 'true' }, 'o'),
    /"CatalogOnly" must be a boolean \(plist <true\/>\/<false\/>, REG_DWORD 0 or 1\), not a string/,
  );
  assertInvalid(
    () => documentFromSettings({ LockServerApprovals: 2 }, 'o'),
    /"LockServerApprovals" must be a boolean .*not the integer 2/,
  );
  assertInvalid(
    () => documentFromSettings({ OrgPolicyUrl: ['https://a', 'https://b'] }, 'o'),
    /"OrgPolicyUrl" must be a string \(plist <string>, REG_SZ\), not an array/,
  );
  assertInvalid(
    () => documentFromSettings({ OrgId: 7 }, 'o'),
    /"OrgId" must be a string .*not the integer 7/,
  );
  assertInvalid(
    () => documentFromSettings({ PolicyJson: { rules: [] } }, 'o'),
    /"PolicyJson" must be JSON text .*not a dictionary/,
  );
  assertInvalid(() => documentFromSettings({ OrgGraceHours: new Date(0) }, 'o'), /not a date/);
});

// ---------------------------------------------------------------------------------------------
// macOS

interface FakeFile {
  settings: Record<string, PlistValue>;
  uid?: number;
  mode?: number;
}

/** A fake macOS: plutil prints XML (as it would from the binary files) and stat reports owners. */
function fakeMac(files: Record<string, FakeFile>) {
  const calls: { cmd: string; args: string[] }[] = [];
  const run: RunCommand = (cmd, args) => {
    calls.push({ cmd, args });
    const file = files[args.at(-1) ?? ''];
    if (!file)
      return { status: 1, stdout: '', stderr: `${args.at(-1)}: file does not exist or is not readable` };
    return { status: 0, stdout: buildPlist(file.settings), stderr: '' };
  };
  const stat = ((file: string) => {
    const entry = files[file];
    if (!entry) throw Object.assign(new Error(`ENOENT: ${file}`), { code: 'ENOENT' });
    return { uid: entry.uid ?? 0, mode: entry.mode ?? 0o100644 } as fs.Stats;
  }) as typeof fs.statSync;
  return {
    calls,
    options: {
      platform: 'darwin' as const,
      run,
      stat,
      user: 'alice',
      exists: (file: string) => Object.hasOwn(files, file),
    },
  };
}

const profileBookkeeping = {
  PayloadUUID: 'BDEA9ABF-33CB-4060-AAA3-BDD7755EB3AD',
  PayloadIdentifier: 'com.example.acme.mcp-warden.settings',
  PayloadType: MANAGED_BUNDLE_ID,
  PayloadVersion: 1,
  PayloadDisplayName: 'MCP Warden settings',
  _manualProfile: true,
  'com.apple.some-tracking-key': 'x',
};

test('macOS: managed preferences become a policy that parsePolicy accepts', () => {
  const mac = fakeMac({
    [MACHINE_PLIST]: {
      settings: {
        ...profileBookkeeping,
        OrgPolicyUrl: 'https://policy.example.com/mcp-warden/policy.jws',
        OrgPolicyKeys: JSON.stringify([KEY]),
        OrgId: 'acme',
        OrgPollSeconds: 300,
        CatalogOnly: true,
        LockServerApprovals: true,
        ApprovalTimeoutSeconds: 90,
        PolicyJson: JSON.stringify({ rules: [{ server: '*', tool: '*delete*', action: 'deny' }] }),
      },
    },
  });
  const result = readPlatformManagedPolicy(mac.options);
  assert.ok(result);
  assert.equal(result.origin, `macOS managed preferences ${MACHINE_PLIST}`);
  const policy = validate(result.document);
  assert.equal(policy.orgPolicy?.url, 'https://policy.example.com/mcp-warden/policy.jws');
  assert.equal(policy.orgPolicy?.keys[0]?.kid, 'acme-2026');
  assert.equal(policy.orgPolicy?.org, 'acme');
  assert.equal(policy.orgPolicy?.pollSeconds, 300);
  assert.equal(policy.catalogOnly, true);
  assert.deepEqual(policy.lock, ['serverApprovals']);
  assert.equal(policy.approvalTimeoutSeconds, 90);
  assert.equal(policy.rules?.[0]?.action, 'deny');
  assert.deepEqual(mac.calls, [
    { cmd: '/usr/bin/plutil', args: ['-convert', 'xml1', '-o', '-', MACHINE_PLIST] },
  ]);
});

test('macOS: a machine setting wins over the per-user setting of the same name; both files are named', () => {
  const mac = fakeMac({
    [MACHINE_PLIST]: { settings: { ApprovalTimeoutSeconds: 60, LockAlwaysAllow: true } },
    [USER_PLIST]: { settings: { ApprovalTimeoutSeconds: 3000, CatalogOnly: true } },
  });
  const result = readPlatformManagedPolicy(mac.options);
  assert.ok(result);
  assert.equal(result.origin, `macOS managed preferences ${MACHINE_PLIST} and ${USER_PLIST}`);
  assert.deepEqual(validate(result.document), {
    approvalTimeoutSeconds: 60,
    catalogOnly: true,
    lock: ['alwaysAllow'],
  });

  const userOnly = fakeMac({ [USER_PLIST]: { settings: { CatalogOnly: true } } });
  const fromUser = readPlatformManagedPolicy(userOnly.options);
  assert.equal(fromUser?.origin, `macOS managed preferences ${USER_PLIST}`);
  assert.deepEqual(fromUser?.document, { catalogOnly: true });
});

test('macOS: no managed preferences, or only profile bookkeeping keys -> undefined', () => {
  const none = fakeMac({});
  assert.equal(readPlatformManagedPolicy(none.options), undefined);
  assert.deepEqual(none.calls, [], 'plutil is not run when there is no file');
  assert.equal(
    readPlatformManagedPolicy(fakeMac({ [MACHINE_PLIST]: { settings: profileBookkeeping } }).options),
    undefined,
  );
});

test('macOS: a file not owned by root, or writable by others, is refused (fail closed)', () => {
  assertInvalid(
    () =>
      readPlatformManagedPolicy(
        fakeMac({ [USER_PLIST]: { settings: { CatalogOnly: true }, uid: 501 } }).options,
      ),
    /macOS managed preferences \/Library\/Managed Preferences\/alice\/dev\.mcp-warden\.app\.plist is not owned by root \(uid 501\)/,
  );
  assertInvalid(
    () =>
      readPlatformManagedPolicy(
        fakeMac({ [MACHINE_PLIST]: { settings: { CatalogOnly: true }, mode: 0o100666 } }).options,
      ),
    /is writable by group or others \(mode 666\)/,
  );
});

test('macOS: plutil failing, a non-dictionary plist and bad settings are refused, naming the file', () => {
  const failing = fakeMac({ [MACHINE_PLIST]: { settings: {} } });
  failing.options.run = () => ({
    status: 1,
    stdout: '',
    stderr: 'Property List error: Unexpected character',
  });
  assertInvalid(
    () => readPlatformManagedPolicy(failing.options),
    /cannot read the macOS managed preferences .*dev\.mcp-warden\.app\.plist: plutil exited with status 1: Property List error/,
  );
  const array = fakeMac({ [MACHINE_PLIST]: { settings: {} } });
  array.options.run = () => ({ status: 0, stdout: buildPlist(['CatalogOnly']), stderr: '' });
  assertInvalid(
    () => readPlatformManagedPolicy(array.options),
    /expected a dictionary of settings, found an array/,
  );
  const garbage = fakeMac({ [MACHINE_PLIST]: { settings: {} } });
  garbage.options.run = () => ({ status: 0, stdout: '<nope/>', stderr: '' });
  assertInvalid(() => readPlatformManagedPolicy(garbage.options), /is not a property list/);
  assertInvalid(
    () =>
      readPlatformManagedPolicy(
        fakeMac({
          [MACHINE_PLIST]: { settings: { CatalogOnly: true } },
          [USER_PLIST]: { settings: { OrgPollSeconds: '300' } },
        }).options,
      ),
    /^macOS managed preferences \/Library\/Managed Preferences\/alice\/dev\.mcp-warden\.app\.plist: setting "OrgPollSeconds" must be an integer/,
  );
});

test('macOS: a user name that is not a single path component is refused', () => {
  const mac = fakeMac({});
  assertInvalid(() => readPlatformManagedPolicy({ ...mac.options, user: '../bob' }), /user name "..\/bob"/);
});

test('Linux and other platforms have no platform channel: undefined, nothing run', () => {
  const run: RunCommand = () => assert.fail('nothing may be run on Linux');
  assert.equal(readPlatformManagedPolicy({ platform: 'linux', run }), undefined);
  assert.equal(readPlatformManagedPolicy({ platform: 'freebsd', run }), undefined);
});

// ---------------------------------------------------------------------------------------------
// Windows

const REG_HEADER = '\r\nHKEY_LOCAL_MACHINE\\SOFTWARE\\Policies\\MCP Warden\r\n';
const regOutput = (...lines: string[]) => `${REG_HEADER}${lines.map((l) => `    ${l}\r\n`).join('')}\r\n`;
const NOT_FOUND = 'ERROR: The system was unable to find the specified registry key or value.\r\n';

/** A fake reg.exe: answers by key (the second argument). */
function fakeReg(answers: Record<string, { status: number; stdout?: string; stderr?: string }>) {
  const calls: string[][] = [];
  const run: RunCommand = (cmd, args) => {
    assert.match(cmd, /reg\.exe$/i);
    calls.push(args);
    const answer = answers[args[1] ?? ''] ?? { status: 1, stderr: NOT_FOUND };
    return { status: answer.status, stdout: answer.stdout ?? '', stderr: answer.stderr ?? '' };
  };
  return { calls, run };
}

test('Windows: reg query output (REG_SZ with spaces, REG_DWORD, REG_MULTI_SZ, REG_EXPAND_SZ) becomes the policy', () => {
  const stdout = regOutput(
    'OrgPolicyUrl    REG_SZ    https://policy.example.com/mcp-warden/policy.jws',
    `OrgPolicyKeys    REG_SZ    ${JSON.stringify([KEY])}`,
    'OrgId    REG_EXPAND_SZ    acme',
    'OrgPollSeconds    REG_DWORD    0x12c',
    'OrgGraceHours    REG_DWORD    0x0',
    'CatalogOnly    REG_DWORD    0x1',
    'LockServerApprovals    REG_DWORD    0x1',
    'LockUserAllowRules    REG_DWORD    0x0',
    'LockAlwaysAllow    REG_DWORD    0x1',
    'ApprovalTimeoutSeconds    REG_DWORD    0x78',
    'PolicyJson    REG_MULTI_SZ    {\\0  "rules": [\\0    { "tool": "*delete*", "action": "deny", "reason": "IT policy: no deleting, see the wiki" }\\0  ],\\0  "limits": [{ "dailyQuota": 1000, "concurrency": 5 }]\\0}',
  );
  const reg = fakeReg({ [WINDOWS_POLICY_KEY]: { status: 0, stdout } });
  const result = readPlatformManagedPolicy({ platform: 'win32', run: reg.run });
  assert.ok(result);
  assert.equal(result.origin, 'Group Policy HKLM\\SOFTWARE\\Policies\\MCP Warden');
  assert.deepEqual(reg.calls, [['query', 'HKLM\\SOFTWARE\\Policies\\MCP Warden', '/reg:64']]);
  const policy = validate(result.document);
  assert.deepEqual(policy.orgPolicy, {
    url: 'https://policy.example.com/mcp-warden/policy.jws',
    keys: [KEY],
    org: 'acme',
    pollSeconds: 300,
    graceHours: 0,
  });
  assert.equal(policy.catalogOnly, true);
  assert.deepEqual(policy.lock, ['serverApprovals', 'alwaysAllow']);
  assert.equal(policy.approvalTimeoutSeconds, 120);
  assert.equal(policy.rules?.[0]?.reason, 'IT policy: no deleting, see the wiki');
  assert.deepEqual(policy.limits?.[0], { server: '*', tool: '*', dailyQuota: 1000, concurrency: 5 });
});

test('Windows: parseRegQuery keeps spaces, matches names case-insensitively, skips an empty default', () => {
  const settings = parseRegQuery(
    regOutput(
      '(Default)    REG_SZ    ',
      'orgid    REG_SZ    acme  corp ',
      'OrgPolicyUrl    REG_SZ    ',
      'PolicyJson    REG_MULTI_SZ    ',
      'ApprovalTimeoutSeconds    REG_QWORD    0x3c',
      'Unknown Name    REG_SZ    x',
    ),
    'o',
  );
  assert.deepEqual(settings, {
    OrgId: 'acme  corp ',
    OrgPolicyUrl: '',
    PolicyJson: [],
    ApprovalTimeoutSeconds: 60,
    'Unknown Name': 'x',
  });
});

test('Windows: a key with no values, or no key at all -> undefined', () => {
  assert.equal(
    readPlatformManagedPolicy({
      platform: 'win32',
      run: fakeReg({ [WINDOWS_POLICY_KEY]: { status: 0, stdout: REG_HEADER } }).run,
    }),
    undefined,
  );
  const missing = fakeReg({ [WINDOWS_POLICY_KEY]: { status: 1, stderr: NOT_FOUND } });
  assert.equal(readPlatformManagedPolicy({ platform: 'win32', run: missing.run }), undefined);
  assert.equal(missing.calls.length, 1, 'the English message is enough');
});

test('Windows: a translated "not found" is recognised by listing the parent key', () => {
  const german =
    'FEHLER: Das System kann den angegebenen Registrierungsschlüssel bzw. Wert nicht finden.\r\n';
  const parentListing = (...subkeys: string[]) =>
    `\r\nHKEY_LOCAL_MACHINE\\SOFTWARE\\Policies\r\n${subkeys.map((k) => `HKEY_LOCAL_MACHINE\\SOFTWARE\\Policies\\${k}\r\n`).join('')}`;
  const absent = fakeReg({
    [WINDOWS_POLICY_KEY]: { status: 1, stderr: german },
    'HKLM\\SOFTWARE\\Policies': { status: 0, stdout: parentListing('Microsoft', 'Google') },
  });
  assert.equal(readPlatformManagedPolicy({ platform: 'win32', run: absent.run }), undefined);
  assert.deepEqual(absent.calls[1], ['query', 'HKLM\\SOFTWARE\\Policies', '/reg:64']);
  const present = fakeReg({
    [WINDOWS_POLICY_KEY]: { status: 1, stderr: 'FEHLER: Zugriff verweigert\r\n' },
    'HKLM\\SOFTWARE\\Policies': { status: 0, stdout: parentListing('Microsoft', 'MCP Warden') },
  });
  assertInvalid(
    () => readPlatformManagedPolicy({ platform: 'win32', run: present.run }),
    /^cannot read Group Policy HKLM\\SOFTWARE\\Policies\\MCP Warden: reg query exited with status 1: FEHLER: Zugriff verweigert$/,
  );
});

test('Windows: other failures and unusable output are refused (fail closed)', () => {
  const denied = fakeReg({
    [WINDOWS_POLICY_KEY]: { status: 1, stderr: 'ERROR: Access is denied.\r\n' },
    'HKLM\\SOFTWARE\\Policies': { status: 1, stderr: 'ERROR: Access is denied.\r\n' },
  });
  assertInvalid(
    () => readPlatformManagedPolicy({ platform: 'win32', run: denied.run }),
    /reg query exited with status 1: ERROR: Access is denied\.$/,
  );
  const notStarted: RunCommand = () => ({ status: -1, stdout: '', stderr: 'spawnSync reg.exe ENOENT' });
  assertInvalid(
    () => readPlatformManagedPolicy({ platform: 'win32', run: notStarted }),
    /exited with status -1: spawnSync reg\.exe ENOENT/,
  );
  const read = (stdout: string) =>
    readPlatformManagedPolicy({
      platform: 'win32',
      run: fakeReg({ [WINDOWS_POLICY_KEY]: { status: 0, stdout } }).run,
    });
  assertInvalid(
    () => read(regOutput('CatalogOnly    REG_SZ    1')),
    /^Group Policy HKLM\\SOFTWARE\\Policies\\MCP Warden: setting "CatalogOnly" must be a boolean/,
  );
  assertInvalid(
    () => read(regOutput('OrgPollSeconds    REG_SZ    300')),
    /setting "OrgPollSeconds" must be an integer .*not a string \("300"\)/,
  );
  assertInvalid(() => read(regOutput('CatalogOnlyy    REG_DWORD    0x1')), /unknown setting "CatalogOnlyy"/);
  assertInvalid(
    () => read(regOutput('PolicyJson    REG_BINARY    7B7D')),
    /value "PolicyJson" has type REG_BINARY; MCP Warden reads REG_SZ/,
  );
  assertInvalid(
    () =>
      read(
        `${regOutput('CatalogOnly    REG_DWORD    0x1')}HKEY_LOCAL_MACHINE\\SOFTWARE\\Policies\\MCP Warden\\Extra\r\n`,
      ),
    /unexpected key .*MCP Warden\\Extra; MCP Warden reads only the values/,
  );
  assertInvalid(() => read(`${REG_HEADER}garbage\r\n`), /cannot parse this line of reg query: garbage/);
  assertInvalid(
    () => read(regOutput('PolicyJson    REG_SZ    {"rules":[{"tool":"caf\uFFFD","action":"deny"}]}')),
    /characters reg\.exe does not print faithfully; use ASCII only/,
  );
  assertInvalid(
    () => read(regOutput('PolicyJson    REG_MULTI_SZ    {\\0"rules": [')),
    /"PolicyJson" is not valid JSON/,
  );
});

// ---------------------------------------------------------------------------------------------
// Shipped templates

test('the example .mobileconfig is a profile whose payload yields a valid managed policy', () => {
  const profile = parsePlist(
    fs.readFileSync(path.join(ROOT, 'resources/managed/dev.mcp-warden.app.mobileconfig'), 'utf8'),
  ) as Record<string, PlistValue>;
  assert.equal(profile.PayloadType, 'Configuration');
  assert.equal(profile.PayloadScope, 'System');
  assert.equal(profile.PayloadVersion, 1);
  assert.equal(typeof profile.PayloadUUID, 'string');
  assert.match(
    profile.PayloadUUID as string,
    /^[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}$/,
  );
  for (const key of ['PayloadIdentifier', 'PayloadDisplayName', 'PayloadOrganization']) {
    assert.equal(typeof profile[key], 'string', key);
  }
  const payloads = profile.PayloadContent as Record<string, PlistValue>[];
  assert.equal(payloads.length, 1);
  const payload = payloads[0];
  assert.ok(payload);
  assert.equal(payload.PayloadType, MANAGED_BUNDLE_ID);
  assert.match(
    payload.PayloadUUID as string,
    /^[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}$/,
  );
  assert.notEqual(payload.PayloadUUID, profile.PayloadUUID);
  assert.equal(payload.PayloadVersion, 1);

  const origin = 'example profile';
  const policy = validate(documentFromSettings(managedPreferenceSettings(payload, origin), origin));
  assert.equal(policy.orgPolicy?.url, 'https://policy.example.com/mcp-warden/policy.jws');
  assert.equal(policy.orgPolicy?.org, 'acme');
  assert.deepEqual(
    policy.orgPolicy?.keys.map((k) => [k.kid, k.kty, k.crv]),
    [['acme-2026', 'OKP', 'Ed25519']],
  );
  assert.equal(policy.catalogOnly, true);
  assert.ok(policy.lock?.includes('serverApprovals'));
  assert.ok(policy.lock?.includes('alwaysAllow'));
  assert.ok(policy.rules?.some((r) => r.action === 'deny' && r.tool === '*delete*'));
  assert.ok(policy.limits?.some((l) => l.dailyQuota === 1000 && l.concurrency === 5));
});

/** Attribute values of every `<tag …>` in `xml`, as name -> value maps. */
function elements(xml: string, tag: string): Record<string, string>[] {
  return [...xml.matchAll(new RegExp(`<${tag}\\b([^>]*)>`, 'g'))].map((m) => {
    const attributes: Record<string, string> = {};
    for (const a of (m[1] ?? '').matchAll(/([\w:]+)="([^"]*)"/g)) attributes[a[1] ?? ''] = a[2] ?? '';
    return attributes;
  });
}

test('the ADMX/ADML pair: one policy per setting, the right key, every reference defined', () => {
  const admx = fs.readFileSync(path.join(ROOT, 'resources/managed/mcp-warden.admx'), 'utf8');
  const adml = fs.readFileSync(path.join(ROOT, 'resources/managed/en-US/mcp-warden.adml'), 'utf8');
  const withoutComments = (xml: string) => xml.replace(/<!--[\s\S]*?-->/g, '');
  const x = withoutComments(admx);
  const l = withoutComments(adml);

  assert.match(x, /<policyDefinitions [^>]*revision="1\.0" schemaVersion="1\.0"/);
  assert.match(l, /<policyDefinitionResources [^>]*revision="1\.0" schemaVersion="1\.0"/);
  assert.deepEqual(elements(x, 'target'), [{ prefix: 'mcpwarden', namespace: 'MCPWarden.Policies' }]);

  const policies = elements(x, 'policy');
  assert.equal(policies.length, MANAGED_SETTING_NAMES.length);
  for (const policy of policies) {
    assert.equal(policy.key, 'SOFTWARE\\Policies\\MCP Warden', policy.name);
    assert.equal(policy.class, 'Machine', policy.name);
  }
  // Value names: a policy's own valueName (enabled/disabled DWORDs) or its elements' valueName.
  const valueNames = [
    ...policies.flatMap((p) => (p.valueName ? [p.valueName] : [])),
    ...['text', 'decimal', 'multiText'].flatMap((tag) =>
      elements(x, tag)
        .filter((e) => e.id) // not the <decimal value="1" /> of enabledValue/disabledValue
        .map((e) => e.valueName),
    ),
  ];
  assert.deepEqual([...valueNames].sort(), [...MANAGED_SETTING_NAMES].sort());
  for (const name of valueNames) assert.ok(MANAGED_SETTING_NAMES.includes(name as never), name);
  assert.deepEqual(
    elements(x, 'decimal')
      .filter((e) => e.id)
      .map((e) => [e.valueName, e.minValue, e.maxValue]),
    [
      ['OrgPollSeconds', '10', '86400'],
      ['OrgGraceHours', '0', '2160'],
      ['ApprovalTimeoutSeconds', '5', '3600'],
    ],
  );
  // Boolean policies write DWORD 1 when enabled and 0 when disabled.
  for (const name of ['CatalogOnly', 'LockServerApprovals', 'LockUserAllowRules', 'LockAlwaysAllow']) {
    const body = new RegExp(`<policy name="${name}"[^>]*valueName="${name}">([\\s\\S]*?)</policy>`).exec(
      x,
    )?.[1];
    assert.ok(body, name);
    assert.match(body, /<enabledValue>\s*<decimal value="1" \/>\s*<\/enabledValue>/);
    assert.match(body, /<disabledValue>\s*<decimal value="0" \/>\s*<\/disabledValue>/);
  }

  const strings = new Set(elements(l, 'string').map((s) => s.id));
  const presentations = new Set(elements(l, 'presentation').map((p) => p.id));
  const stringRefs = [...x.matchAll(/\$\(string\.([^)]+)\)/g)].map((m) => m[1]);
  const presentationRefs = [...x.matchAll(/\$\(presentation\.([^)]+)\)/g)].map((m) => m[1]);
  assert.ok(stringRefs.length > 2 * MANAGED_SETTING_NAMES.length);
  for (const ref of stringRefs) assert.ok(strings.has(ref), `string ${ref} is not in the ADML`);
  for (const ref of presentationRefs)
    assert.ok(presentations.has(ref), `presentation ${ref} is not in the ADML`);
  // Each presentation control refers to an element id of the ADMX.
  const elementIds = new Set(
    ['text', 'decimal', 'multiText'].flatMap((tag) =>
      elements(x, tag)
        .filter((e) => e.id)
        .map((e) => e.id),
    ),
  );
  const refIds = ['textBox', 'decimalTextBox', 'multiTextBox'].flatMap((tag) =>
    elements(l, tag).map((e) => e.refId),
  );
  assert.deepEqual([...refIds].sort(), [...elementIds].sort());
  // Categories and supportedOn references resolve within the ADMX.
  const categories = new Set(elements(x, 'category').map((c) => c.name));
  for (const ref of elements(x, 'parentCategory')) assert.ok(categories.has(ref.ref));
  const supported = new Set(elements(x, 'definition').map((d) => d.name));
  for (const ref of elements(x, 'supportedOn').filter((s) => s.ref)) assert.ok(supported.has(ref.ref));
});
