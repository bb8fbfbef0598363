import type { Readable, Writable } from 'node:stream';
import confirmPrompt from '@inquirer/confirm';
import passwordPrompt from '@inquirer/password';
import { WardenError } from '../core/errors.ts';

/**
 * Where a prompt reads and writes: stdin and a terminal stream by default (tests pass streams).
 * `input.isTTY` decides between asking a person and reading a pipe or refusing.
 */
export interface PromptIo {
  input?: Readable & { isTTY?: boolean };
  output?: Writable;
}

/**
 * Reads a secret value, never from argv: on a terminal from a hidden prompt (@inquirer/password,
 * nothing echoed, written to stderr so stdout stays clean), else all of stdin with one trailing
 * newline removed.
 * @throws WardenError USAGE "cancelled" when the person presses Ctrl-C at the prompt.
 */
export async function readSecret(name: string, io: PromptIo = {}): Promise<string> {
  const input = io.input ?? process.stdin;
  if (!input.isTTY) {
    const chunks: Buffer[] = [];
    for await (const chunk of input as AsyncIterable<Buffer>) chunks.push(chunk);
    return Buffer.concat(chunks)
      .toString('utf8')
      .replace(/\r?\n$/, '');
  }
  return ask(() =>
    passwordPrompt(
      { message: `Value for secret "${name}" (input hidden):` },
      { input, output: io.output ?? process.stderr },
    ),
  );
}

/**
 * Asks a yes/no question (@inquirer/confirm, default no) unless `yes` already says yes.
 * @param refusal the USAGE message when stdin is not a terminal and `yes` is not set (it should
 *   say how to proceed, e.g. "pass --yes").
 * @returns true for yes, false for no.
 * @throws WardenError USAGE with `refusal` without a terminal; USAGE "cancelled" on Ctrl-C.
 */
export async function confirm(
  question: string,
  options: { yes?: boolean; refusal: string },
  io: PromptIo = {},
): Promise<boolean> {
  if (options.yes) return true;
  const input = io.input ?? process.stdin;
  if (!input.isTTY) throw new WardenError('USAGE', options.refusal);
  return ask(() =>
    confirmPrompt({ message: question, default: false }, { input, output: io.output ?? process.stdout }),
  );
}

/** Runs a prompt; Inquirer's ExitPromptError (Ctrl-C) becomes WardenError USAGE "cancelled". */
async function ask<T>(prompt: () => Promise<T>): Promise<T> {
  try {
    return await prompt();
  } catch (error) {
    if (error instanceof Error && error.name === 'ExitPromptError')
      throw new WardenError('USAGE', 'cancelled', { cause: error });
    throw error;
  }
}
