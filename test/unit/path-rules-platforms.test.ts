/**
 * Path rules of Windows and macOS as pure functions (path.win32 / path.posix chosen explicitly),
 * and path conditions over an in-memory file system with those platforms' naming rules.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { CallPaths, conditionHolds, type ConditionMode } from '../../main/core/policy/conditions.ts';
import {
  escapeGlob,
  isWithin,
  joinParts,
  normalizeParts,
  parseAbsolute,
  pathKey,
  splitPathGlob,
  underDirectoryGlob,
  type PathFlavor,
} from '../../main/core/policy/path-rules.ts';
import { PathResolver } from '../../main/core/policy/real-path.ts';
import { policyDocumentSchema } from '../../main/core/config/policy-schema.ts';
import { memoryFs, type MemoryFs } from '../helpers/memory-fs.ts';

/** The normalized path, or the doubt's reason prefixed with "doubt: ". */
function lexical(raw: string, flavor: PathFlavor): string {
  const parsed = parseAbsolute(raw, flavor);
  return parsed.ok ? joinParts(normalizeParts(parsed.parts), flavor) : `doubt: ${parsed.reason}`;
}

describe('Windows paths, read as Win32 reads them', () => {
  test('drive letters, both separators, UNC shares, and the \\\\.\\ and //?/ prefixes normalize to one path', () => {
    const cases: [string, string][] = [
      ['C:\\Users\\me\\x.txt', 'C:\\Users\\me\\x.txt'],
      ['c:/Users//me/./x.txt', 'c:\\Users\\me\\x.txt'],
      ['C:\\Users\\me\\..\\..\\..\\x', 'C:\\x'],
      ['\\\\srv\\share\\dir\\f', '\\\\srv\\share\\dir\\f'],
      ['//srv/share/dir/../../../f', '\\\\srv\\share\\f'],
      ['\\\\?\\C:\\Users\\me', 'C:\\Users\\me'],
      ['\\\\?\\UNC\\srv\\share\\x', '\\\\srv\\share\\x'],
      ['\\\\.\\C:\\a\\..\\b', 'C:\\b'],
      ['//?/C:/a/../b', 'C:\\b'],
      ['\\\\.\\UNC\\srv\\share\\x', '\\\\srv\\share\\x'],
    ];
    for (const [raw, expected] of cases) assert.equal(lexical(raw, 'win32'), expected, raw);
  });

  test('what Win32 could read otherwise than it looks is a doubt, never a path', () => {
    const doubts: [string, RegExp][] = [
      ['\\\\?\\C:\\safe\\..\\x', /does not normalize/],
      ['\\\\?\\C:\\safe/../x', /takes "\/" as part of a name/],
      ['\\\\?\\C:', /device/],
      ['\\\\.\\pipe\\warden', /device/],
      ['\\\\?\\Volume{0b1c}\\x', /device/],
      ['\\\\?\\GLOBALROOT\\Device\\x', /device/],
      ['C:x.txt', /current directory of drive C:/],
      ['\\Users\\me', /current drive/],
      ['Users\\me', /not an absolute path/],
      ['~\\x', /not an absolute path/],
      ['C:\\safe\\x.txt:hidden', /alternate data stream/],
      ['C:\\safe\\x::$DATA', /alternate data stream/],
      ['C:\\safe.\\x', /dot or space/],
      ['C:\\safe \\x', /dot or space/],
      ['C:\\safe\\x...', /dot or space/],
      ['C:\\safe\\x\0.txt', /NUL/],
      ['\\\\srv', /no share/],
    ];
    for (const [raw, reason] of doubts) assert.match(lexical(raw, 'win32'), reason, raw);
  });

  test('names compare case-insensitively, one code point to one (ß is not SS), on whole segments', () => {
    assert.equal(isWithin('C:\\Users\\Me', 'c:\\USERS\\me\\x', 'win32'), true);
    assert.equal(isWithin('C:\\Users\\Me', 'C:\\Users\\Me', 'win32'), true);
    assert.equal(isWithin('C:\\Users\\Me', 'C:\\Users\\Men\\x', 'win32'), false);
    assert.equal(isWithin('C:\\straße', 'C:\\STRASSE\\x', 'win32'), false);
    assert.equal(isWithin('C:\\', 'c:\\anything', 'win32'), true);
    assert.equal(isWithin('\\\\srv\\share\\', '\\\\SRV\\Share\\x', 'win32'), true);
    assert.equal(pathKey('C:\\Ä', 'win32'), pathKey('c:\\ä', 'win32'));
  });

  test('a directory glob keeps "/" and escapes glob characters (Windows allows [ ] { } ( ) ! + @ in names)', () => {
    assert.equal(underDirectoryGlob('C:\\Users\\me\\[x] (1)', 'win32'), 'C:/Users/me/\\[x\\] \\(1\\)/**');
    assert.equal(underDirectoryGlob('C:\\', 'win32'), 'C:/**');
    assert.equal(underDirectoryGlob('\\\\srv\\share\\', 'win32'), '//srv/share/**');
    assert.deepEqual(splitPathGlob('C:/Users/me/\\[x\\] \\(1\\)/**'), {
      base: 'C:/Users/me/[x] (1)',
      rest: '**',
    });
  });
});

test('a policy glob written with Windows backslashes is refused with how to write it (a backslash escapes)', () => {
  for (const glob of ['C:\\Users\\me\\**', '\\\\srv\\share\\**']) {
    const parsed = policyDocumentSchema.safeParse({
      rules: [{ action: 'allow', when: [{ pointer: '/path', glob }] }],
    });
    assert.equal(parsed.success, false, glob);
    assert.match(
      parsed.error?.issues[0]?.message ?? '',
      /write paths in globs with "\/".*"C:\/Users\/me\/\*\*"/,
    );
  }
  assert.equal(
    policyDocumentSchema.safeParse({
      rules: [{ action: 'allow', when: [{ pointer: '/path', glob: 'C:/Users/me/**' }] }],
    }).success,
    true,
  );
});

describe('macOS paths: POSIX syntax, names insensitive to case and Unicode normalization', () => {
  test('NFC and NFD spellings and case variants are one name; other names are not', () => {
    const nfc = '/Users/me/Caf\u00e9';
    const nfd = '/users/ME/cafe\u0301/x';
    assert.equal(isWithin(nfc, nfd, 'darwin'), true);
    assert.equal(isWithin(nfc, nfd, 'posix'), false, 'Linux compares bytes');
    assert.equal(isWithin('/Users/me', '/Users/me2/x', 'darwin'), false);
    assert.match(lexical('Users/me', 'darwin'), /not an absolute path/);
    assert.match(lexical('~/x', 'darwin'), /"~" has no base/);
  });
});

function holds(fs: MemoryFs, flavor: PathFlavor, path: unknown, glob: string, mode: ConditionMode): boolean {
  const resolver = new PathResolver({ platform: flavor === 'posix' ? 'linux' : flavor, fs });
  return conditionHolds({ path }, { pointer: '/path', glob }, mode, new CallPaths(resolver));
}

describe('path conditions on Windows (in-memory file system with NTFS naming)', () => {
  const winFs = (): MemoryFs =>
    memoryFs('win32')
      .dir('C:\\Users')
      .dir('C:\\Users\\Me')
      .dir('C:\\Users\\Me\\Safe')
      .dir('D:\\Other')
      .link('C:\\Users\\Me\\Safe\\junction', '\\??\\D:\\Other')
      .link('C:\\Users\\Me\\Safe\\up', '..\\..\\..\\Windows')
      .link('C:\\Users\\Me\\Safe\\rel', '..\\Outside')
      .link('C:\\Users\\Me\\Safe\\share', '\\\\srv\\share\\docs')
      .link('C:\\Users\\Me\\Safe\\loop', 'C:\\Users\\Me\\Safe\\loop')
      .dir('C:\\Users\\Me\\Safe\\locked')
      .failAt('C:\\Users\\Me\\Safe\\locked\\x', 'EACCES');
  const safe = 'C:/Users/Me/Safe/**';

  test('inside the directory, however it is spelled: case, separators, \\\\?\\, "." and ".." by name', () => {
    const fs = winFs();
    for (const p of [
      'C:\\Users\\Me\\Safe\\a.txt',
      'c:\\users\\ME\\safe\\a.txt',
      'C:/Users/Me/Safe//new/a.txt',
      '\\\\?\\C:\\Users\\Me\\Safe\\a.txt',
      '\\\\.\\c:\\users\\me\\safe\\.\\a.txt',
      'C:\\Users\\Me\\Safe\\junction\\..\\a.txt', // Win32 removes ".." before the junction is seen
      'C:\\Users\\Me\\Other\\..\\Safe\\a.txt',
    ])
      assert.equal(holds(fs, 'win32', p, safe, 'allow'), true, p);
  });

  test('through a junction, a symbolic link (absolute, relative, to a share) or ".." out of it: not inside', () => {
    const fs = winFs();
    for (const p of [
      'C:\\Users\\Me\\Safe\\junction\\y.txt',
      'C:\\Users\\Me\\Safe\\up\\y.txt',
      'C:\\Users\\Me\\Safe\\rel\\y.txt',
      'C:\\Users\\Me\\Safe\\share\\y.txt',
      'C:\\Users\\Me\\Safe\\..\\y.txt',
      'D:\\Users\\Me\\Safe\\y.txt',
    ])
      assert.equal(holds(fs, 'win32', p, safe, 'allow'), false, p);
    assert.equal(holds(fs, 'win32', 'c:\\users\\me\\safe\\JUNCTION\\y.txt', 'D:/Other/**', 'restrict'), true);
    assert.equal(holds(fs, 'win32', 'C:\\Users\\Me\\Safe\\share\\y', '//srv/share/**', 'restrict'), true);
  });

  test('doubts: an allow does not match, a deny does', () => {
    const fs = winFs();
    for (const p of [
      'C:\\Users\\Me\\Safe\\loop\\x',
      'C:\\Users\\Me\\Safe\\locked\\x',
      '\\\\?\\C:\\Users\\Me\\Safe\\..\\..\\x',
      'C:\\Users\\Me\\Safe\\x.txt::$INDEX_ALLOCATION',
      'C:\\Users\\Me\\Safe\\x.',
      'Safe\\x',
      42,
      ['C:\\Users\\Me\\Safe\\x'],
    ]) {
      assert.equal(holds(fs, 'win32', p, safe, 'allow'), false, String(p));
      assert.equal(holds(fs, 'win32', p, 'D:/Other/**', 'restrict'), true, String(p));
    }
  });

  test('property: with no links, a path is inside exactly when its segments, ".." taken by name, case folded, start with the directory', () => {
    const fs = memoryFs('win32').dir('C:\\Users').dir('C:\\Users\\Me');
    const segment = fc.constantFrom('Users', 'users', 'ME', 'Me', 'me2', 'Safe', 'SAFE', 'x', '.', '..', '');
    const separator = fc.constantFrom('\\', '/', '\\\\', '/./');
    fc.assert(
      fc.property(
        fc.constantFrom('C:', 'c:', '\\\\?\\C:', '//./c:'),
        fc.array(fc.tuple(separator, segment), { maxLength: 7 }),
        (drive, parts) => {
          const raw = drive + parts.map(([sep, seg]) => sep + seg).join('');
          const stack: string[] = [];
          for (const [, seg] of parts) {
            if (seg === '..') stack.pop();
            else if (seg !== '.' && seg !== '') stack.push(seg.toLowerCase());
          }
          const verbatimDoubt =
            drive.startsWith('\\\\?\\') &&
            parts.some(
              ([sep, seg], i) =>
                sep !== '\\' || seg === '.' || seg === '..' || (seg === '' && i < parts.length - 1),
            );
          const inside =
            stack.length >= 3 && stack[0] === 'users' && stack[1] === 'me' && stack[2] === 'safe';
          assert.equal(
            holds(fs, 'win32', raw, 'C:/Users/Me/Safe/**', 'allow'),
            inside && !verbatimDoubt,
            raw,
          );
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('path conditions on macOS (in-memory file system with APFS naming)', () => {
  test('a directory named in another case or normalization is the same directory; a link out is not inside', () => {
    const fs = memoryFs('darwin')
      .dir('/Users')
      .dir('/Users/me')
      .dir('/Users/me/Caf\u00e9')
      .dir('/private')
      .dir('/private/tmp')
      .link('/tmp', 'private/tmp')
      .link('/Users/me/Caf\u00e9/out', '/private/tmp');
    assert.equal(holds(fs, 'darwin', '/users/ME/cafe\u0301/x.txt', '/Users/me/Caf\u00e9/**', 'allow'), true);
    assert.equal(
      holds(fs, 'darwin', '/Users/me/CAF\u00c9/out/x.txt', '/Users/me/Caf\u00e9/**', 'allow'),
      false,
    );
    assert.equal(holds(fs, 'darwin', '/Users/me/Caf\u00e9/out/x.txt', '/tmp/**', 'restrict'), true);
    assert.equal(holds(fs, 'darwin', '/private/tmp/x', '/tmp/**', 'allow'), true, '/tmp is /private/tmp');
    const linux = memoryFs('posix').dir('/Users').dir('/Users/me').dir('/Users/me/Caf\u00e9');
    assert.equal(holds(linux, 'posix', '/users/me/Caf\u00e9/x', '/Users/me/Caf\u00e9/**', 'allow'), false);
    assert.equal(holds(linux, 'posix', '/Users/me/Caf\u00e9/x', '/Users/me/Caf\u00e9/**', 'allow'), true);
  });
});

test('property: a directory with any name (glob syntax, backslashes) is remembered literally and exactly', () => {
  const fs = memoryFs('posix');
  const name = fc
    .string({
      unit: fc.constantFrom(
        'a',
        'b',
        '*',
        '?',
        '[',
        ']',
        '{',
        '}',
        '(',
        ')',
        '!',
        '+',
        '@',
        '|',
        ',',
        '\\',
        ' ',
        '.',
        '^',
        '$',
      ),
      minLength: 1,
      maxLength: 8,
    })
    .filter((n) => n !== '.' && n !== '..');
  fc.assert(
    fc.property(name, name, (a, b) => {
      const glob = underDirectoryGlob(`/x/${a}`, 'posix');
      assert.equal(glob, `/x/${escapeGlob(a)}/**`);
      assert.deepEqual(splitPathGlob(glob), { base: `/x/${a}`, rest: '**' });
      assert.equal(holds(fs, 'posix', `/x/${b}/f`, glob, 'allow'), a === b, `${glob} vs /x/${b}/f`);
      assert.equal(holds(fs, 'posix', `/x/${b}/f`, glob, 'grant'), a === b, `${glob} vs /x/${b}/f`);
    }),
    { numRuns: 1000 },
  );
});
