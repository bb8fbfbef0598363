/**
 * A child process that writes audit rows until the test kills it with SIGKILL, for the
 * durability tests: the child prints `call <id> <i>` once a call's row is committed and
 * `done <id>` once its outcome is, and the test checks afterwards that every printed row is in
 * the file.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';

/** What the child printed before it was killed: call ids with their index, and completed ids. */
export interface KilledWriterOutput {
  calls: Map<number, number>;
  done: Set<number>;
}

/**
 * Runs `script` (an ES module, as `node --input-type=module -e`, or a module file) and kills it with SIGKILL as soon
 * as `killWhen` holds for what it has printed so far. Resolves once it is gone.
 * @throws AssertionError when the child ended without being killed (its stderr in the message).
 */
export async function runUntilKilled(
  script: string,
  killWhen: (output: KilledWriterOutput) => boolean,
  options: { args?: string[]; env?: NodeJS.ProcessEnv } = {},
): Promise<KilledWriterOutput> {
  // A script given as a file path (ending in .ts or .js) runs as that file, with `args`.
  const argv = /\.(ts|js)$/.test(script)
    ? [script, ...(options.args ?? [])]
    : ['--input-type=module', '-e', script];
  const child = spawn(process.execPath, argv, {
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(options.env ? { env: options.env } : {}),
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const output: KilledWriterOutput = { calls: new Map(), done: new Set() };
  let buffered = '';
  const exited = new Promise<NodeJS.Signals | null>((resolve) =>
    child.on('exit', (_code, signal) => resolve(signal)),
  );
  child.stdout.on('data', (chunk: Buffer) => {
    buffered += chunk.toString();
    const lines = buffered.split('\n');
    buffered = lines.pop() ?? '';
    for (const line of lines) {
      const [kind, id, i] = line.split(' ');
      if (kind === 'call') output.calls.set(Number(id), Number(i));
      if (kind === 'done') output.done.add(Number(id));
    }
    if (killWhen(output) && !child.killed) child.kill('SIGKILL');
  });
  const signal = await exited;
  assert.equal(signal, 'SIGKILL', `the child should have been killed; stderr: ${stderr}`);
  return output;
}
