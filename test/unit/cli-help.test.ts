/**
 * The help of every command, as `mcp-warden … --help` prints it: fixed by the snapshot next to
 * this file (cli-help.test.ts.snapshot, recorded before the commands' actions were loaded on
 * demand), so a change to how commands are declared or loaded cannot change what a person reads.
 * A deliberate change of a help text is recorded with `node --test --test-update-snapshots`.
 */
import assert from 'node:assert/strict';
import { snapshot, test } from 'node:test';
import { CommanderError, type Command } from 'commander';
import { buildProgram } from '../../main/cli/program.ts';
import { runProcess } from '../helpers/run.ts';
import { CLI } from '../helpers/warden-env.ts';

// The help texts as they are, one snapshot entry each (the default serializer would escape them).
snapshot.setDefaultSnapshotSerializers([(value) => String(value)]);

/** The names leading to every command, the program itself first ([]). */
function commandPaths(command: Command, prefix: string[] = []): string[][] {
  return [prefix, ...command.commands.flatMap((c) => commandPaths(c, [...prefix, c.name()]))];
}

/** What `mcp-warden <names> --help` writes to stdout, at commander's default width of 80 columns. */
async function helpOf(names: string[]): Promise<string> {
  const program = buildProgram();
  let text = '';
  for (const command of commandPaths(program).map((p) => find(program, p))) {
    command.configureOutput({
      writeOut: (chunk) => (text += chunk),
      writeErr: (chunk) => (text += `[stderr] ${chunk}`),
      getOutHelpWidth: () => 80,
      getErrHelpWidth: () => 80,
      getOutHasColors: () => false,
      getErrHasColors: () => false,
    });
  }
  try {
    await program.parseAsync([...names, '--help'], { from: 'user' });
  } catch (error) {
    if (!(error instanceof CommanderError) || error.code !== 'commander.helpDisplayed') throw error;
  }
  return text;
}

function find(program: Command, names: string[]): Command {
  let command = program;
  for (const name of names) command = command.commands.find((c) => c.name() === name)!;
  return command;
}

const paths = commandPaths(buildProgram());

test('every command has a help text (the list of commands is the one recorded)', (t) => {
  t.assert.snapshot(paths.map((p) => ['mcp-warden', ...p].join(' ')).join('\n'));
});

for (const names of paths) {
  test(`mcp-warden ${[...names, '--help'].join(' ')}`, async (t) => {
    t.assert.snapshot(await helpOf(names));
  });
}

test('the built CLI (bin/mcp-warden, from dist/) prints the same help as the sources', async () => {
  for (const names of [[], ['connect'], ['audit', 'tail'], ['policy', 'explain']]) {
    const result = await runProcess(CLI, [...names, '--help']);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, await helpOf(names), names.join(' '));
  }
});
