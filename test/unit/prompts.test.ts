import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { confirm, readSecret } from '../../main/cli/prompts.ts';

/** A stand-in terminal: a keyboard stream that says it is a TTY, and the screen's text. */
function terminal(): { input: PassThrough & { isTTY: boolean }; output: PassThrough; screen: () => string } {
  const input = Object.assign(new PassThrough(), { isTTY: true });
  const output = new PassThrough();
  let text = '';
  output.on('data', (chunk: Buffer) => (text += chunk.toString()));
  return { input, output, screen: () => text };
}

/** Types `keys` once the prompt has drawn its question. */
async function typeWhenAsked(t: ReturnType<typeof terminal>, question: string, keys: string): Promise<void> {
  while (!t.screen().includes(question)) await new Promise((resolve) => t.output.once('data', resolve));
  t.input.write(keys);
}

test('a secret typed at the hidden prompt is returned and never shown', async () => {
  const t = terminal();
  const value = readSecret('api-token', t);
  await typeWhenAsked(t, 'Value for secret "api-token" (input hidden)', 's3cret-VALUE\r');
  assert.equal(await value, 's3cret-VALUE');
  assert.doesNotMatch(t.screen(), /s3cret|VALUE/);
});

test('Ctrl-C at the hidden prompt is USAGE "cancelled"', async () => {
  const t = terminal();
  const value = readSecret('api-token', t);
  await typeWhenAsked(t, 'api-token', 'abc\u0003');
  await assert.rejects(value, { name: 'WardenError', code: 'USAGE', message: 'cancelled' });
});

test('a piped secret is read whole, one trailing newline removed', async () => {
  const input = new PassThrough();
  input.end('line one\nline two\n');
  assert.equal(await readSecret('x', { input }), 'line one\nline two');
});

test('confirm: y is yes, Enter alone is no (the default), --yes skips the question', async () => {
  for (const [keys, expected] of [
    ['y\r', true],
    ['\r', false],
    ['n\r', false],
  ] as const) {
    const t = terminal();
    const answer = confirm('Approve?', { refusal: 'no tty' }, t);
    await typeWhenAsked(t, 'Approve?', keys);
    assert.equal(await answer, expected, JSON.stringify(keys));
  }
  const untouched = new PassThrough();
  assert.equal(await confirm('Approve?', { yes: true, refusal: 'no tty' }, { input: untouched }), true);
});

test('confirm: an answer that is neither yes nor no is asked again, never taken as yes', async () => {
  const t = terminal();
  const answer = confirm('Approve?', { refusal: 'no tty' }, t);
  await typeWhenAsked(t, 'Approve?', 'maybe\r');
  // Asked again (the error is shown and nothing is answered yet); Ctrl-C then ends the prompt.
  await typeWhenAsked(t, 'You must answer with', '\u0003');
  await assert.rejects(answer, { code: 'USAGE', message: 'cancelled' });
});

test('confirm without a terminal refuses with the given message and asks nothing', async () => {
  const input = new PassThrough();
  const output = new PassThrough();
  let shown = '';
  output.on('data', (chunk: Buffer) => (shown += chunk.toString()));
  await assert.rejects(
    confirm('Approve?', { refusal: 'not a terminal: pass --yes to approve' }, { input, output }),
    {
      name: 'WardenError',
      code: 'USAGE',
      message: 'not a terminal: pass --yes to approve',
    },
  );
  assert.equal(shown, '');
});
