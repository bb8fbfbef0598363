import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fc from 'fast-check';
import { formatCommandLine, quoteArg } from '../../main/core/command-line.ts';
import { anyName } from '../helpers/names.ts';

/** Runs a pasted command line in `shell` and returns what `printf '%s\0'` printed, split. */
function pasted(shell: string, line: string): { status: number | null; words: string[] } {
  const result = spawnSync(shell, ['-c', 'eval "$1"', 'sh', line], { encoding: 'utf8' });
  return { status: result.status, words: result.stdout.split('\0').slice(0, -1) };
}

// argv elements cannot hold NUL; everything else may come from a hostile config or server. A lone
// surrogate reaches the process (and the shell) as U+FFFD, so that is the word it must see.
const word = fc.oneof(
  anyName,
  fc.string({ unit: 'binary' }),
  fc.string({ unit: fc.constantFrom(...`'"\\$\`!*?[]{}~#&|;<>()= \t\n`) }),
);
const arg = word.map((w) => w.replace(/\0/g, ''));

test('a formatted command line pasted into sh and bash runs exactly the command and words meant', () => {
  fc.assert(
    fc.property(fc.array(arg, { maxLength: 5 }), (args) => {
      const line = formatCommandLine({ command: 'printf', args: ['%s\\0', 'start', ...args] });
      for (const shell of ['sh', 'bash'])
        assert.deepEqual(
          pasted(shell, line),
          { status: 0, words: ['start', ...args.map((a) => a.replace(/\p{Cs}/gu, '\uFFFD'))] },
          `${shell}: ${line}`,
        );
    }),
    {
      numRuns: 300,
      examples: [[["it's", 'a b', '$(touch /tmp/x)', '`id`', '!!', '; rm -rf ~', '--port=8080', '']]],
    },
  );
});

test('plain words stay readable, and a first word that looks like an assignment is quoted', () => {
  assert.equal(
    formatCommandLine({ command: 'npx', args: ['-y', '@scope/server-x', '--port=8080', 'dir/a.json'] }),
    'npx -y @scope/server-x --port=8080 dir/a.json',
  );
  assert.equal(quoteArg(''), "''");
  // Pasted as the command, FOO=bar must be looked up as a command (127), not set a variable (0).
  const line = formatCommandLine({ command: 'FOO=bar', args: [] });
  assert.notEqual(line, 'FOO=bar');
  for (const shell of ['sh', 'bash']) assert.equal(pasted(shell, line).status, 127);
});

/**
 * Pastes `line` into an interactive bash (history expansion on, as in a person's terminal) after
 * one earlier command, so a `!!` or `!x` left unquoted would expand into it or fail the line.
 */
function pastedInteractive(line: string): { status: number | null; words: string[] } {
  const result = spawnSync('bash', ['--norc', '--noprofile', '-i'], {
    input: `true earlier\n${line}\n`,
    encoding: 'utf8',
    env: { ...process.env, HISTFILE: '/dev/null', PS1: '', PS2: '' },
  });
  return { status: result.status, words: result.stdout.split('\0').slice(0, -1) };
}

test('a formatted command line pasted into an interactive bash is not changed by history expansion', () => {
  const bang = fc.string({ unit: fc.constantFrom(...`!'"\\$^ #:ab-`), minLength: 1, maxLength: 8 });
  fc.assert(
    fc.property(fc.array(bang, { minLength: 1, maxLength: 4 }), (args) => {
      const line = formatCommandLine({ command: 'printf', args: ['%s\\0', 'start', ...args] });
      assert.deepEqual(pastedInteractive(line), { status: 0, words: ['start', ...args] }, line);
    }),
    { numRuns: 80, examples: [[['!!', "it's!", '"!x"', 'a!b c', '^a^b', '!-1', "!'"]]] },
  );
});
