import fs from 'node:fs';
import { describeError, isWardenError, WardenError } from '../errors.ts';
import { faultPoint, startFaultCount } from './fault-point.ts';
import {
  journalFile,
  readJournal,
  removeJournal,
  writeDurably,
  writeJournal,
  type Journal,
} from './journal.ts';
import { prepare, type Intent } from './prepare.ts';
import { doStep, finishStep, undoStep, type ChangeContext, type StepValues } from './steps.ts';

export type { Intent } from './prepare.ts';
export type { ChangeContext } from './steps.ts';

/** What a later run did with a change an earlier one left unfinished. */
export interface RecoveredChange {
  what: string;
  pid: number;
  startedAt: string;
  outcome: 'undone' | 'finished';
  /** Every file the change touched. */
  files: string[];
}

/** A change that ran: interrupted ones it recovered first, and clean-up that must wait. */
export interface ChangeOutcome {
  recovered: RecoveredChange[];
  /** Set when the change is made but its clean-up failed; the next run finishes it. */
  warning?: string;
}

/** A journal older than this whose process still seems alive is taken for a reused pid, ms. */
const STALE_AFTER_MS = 15 * 60_000;

/** How long a change waits for another process's change to finish, ms. */
const WAIT_FOR_OTHER_MS = 10_000;

/** Ids of the changes this process is making (a journal with our pid and another id is stale). */
const active = new Set<string>();
let queue: Promise<unknown> = Promise.resolve();

/**
 * Makes a multi-step change all or nothing. Every step's undo information goes into a journal
 * in `ctx.journalDir` before the first write (no secret value ever does: replaced keychain values
 * are stashed in the keychain itself); new file contents are staged next to their files and
 * switched in by rename, the old ones kept as hard links until the end; the journal is marked
 * committed after the last step. Any failure before that undoes every step, in reverse; a crash
 * leaves the journal for the next run ({@link recoverChanges}) to undo (pending) or finish
 * (committed). Changes of one process run one at a time; of several, one at a time too.
 * Validating the complete result is the caller's part, before calling this.
 * @param what what the person asked for, shown when a later run recovers it.
 * @throws the failing step's error (its message saying nothing was changed), WardenError
 *   CONFLICT when a file is no longer what `expect` says, CHANGE_PENDING when another change is in
 *   progress or an interrupted one cannot be recovered, KEYCHAIN_UNAVAILABLE.
 */
export function runChange(ctx: ChangeContext, what: string, intents: Intent[]): Promise<ChangeOutcome> {
  const run = queue.then(() => {
    startFaultCount();
    return runAlone(ctx, what, intents);
  });
  queue = run.catch(() => undefined);
  return run;
}

async function runAlone(ctx: ChangeContext, what: string, intents: Intent[]): Promise<ChangeOutcome> {
  const recovered: RecoveredChange[] = [];
  const deadline = Date.now() + WAIT_FOR_OTHER_MS;
  // Warden's own directory: made first, so the directories a change creates are only its files'.
  fs.mkdirSync(ctx.journalDir, { recursive: true, mode: 0o700 });
  for (;;) {
    const found = await recoverOrWait(ctx, deadline);
    if (found) recovered.push(found);
    const { journal, values, contents } = await prepare(ctx, what, intents);
    try {
      writeJournal(ctx.journalDir, journal, true);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') continue; // another process just began one
      throw error;
    }
    active.add(journal.id);
    try {
      await apply(ctx, journal, values, contents);
      return { recovered, ...(await finish(ctx, journal)) };
    } finally {
      active.delete(journal.id);
    }
  }
}

async function recoverOrWait(ctx: ChangeContext, deadline: number): Promise<RecoveredChange | undefined> {
  for (;;) {
    const journal = readJournalOrReport(ctx.journalDir);
    if (!journal) return undefined;
    if (!ownerAlive(journal)) return recover(ctx, journal);
    if (Date.now() > deadline)
      throw new WardenError(
        'CHANGE_PENDING',
        `another MCP Warden process (pid ${journal.pid}) is making a change (${journal.what}, since ${journal.startedAt}); try again when it is done`,
      );
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/**
 * Recovers what an interrupted change left (a crash, a kill, a power loss): a pending change is
 * undone step by step, a committed one finished. Changes still in progress in a live process
 * are left alone. Run at the start of every command that could see its files, and of the daemon.
 * @returns what was recovered, or undefined when nothing was left.
 * @throws WardenError CHANGE_PENDING when the journal cannot be read or a step cannot be
 *   recovered now (e.g. the keychain is locked); the journal stays for the next run.
 */
export async function recoverChanges(ctx: ChangeContext): Promise<RecoveredChange | undefined> {
  const journal = readJournalOrReport(ctx.journalDir);
  if (!journal || ownerAlive(journal)) return undefined;
  return recover(ctx, journal);
}

/** A sentence for a person: what was found and what became of it. */
export function describeRecovery(change: RecoveredChange): string {
  const files = change.files.length ? change.files.join(', ') : 'no files';
  return change.outcome === 'undone'
    ? `an interrupted change (${change.what}, pid ${change.pid}, started ${change.startedAt}) was undone: ${files} ${change.files.length === 1 ? 'is' : 'are'} as before it, and so are the keychain and state.db`
    : `an interrupted change (${change.what}, pid ${change.pid}, started ${change.startedAt}) had been made and is now finished: ${files} ${change.files.length === 1 ? 'has' : 'have'} its result`;
}

function readJournalOrReport(dir: string): Journal | undefined {
  try {
    return readJournal(dir);
  } catch (error) {
    throw new WardenError(
      'CHANGE_PENDING',
      `the journal of an interrupted change, ${journalFile(dir)}, cannot be read (${describeError(error)}); ` +
        'check the files it names, then remove it',
    );
  }
}

function ownerAlive(journal: Journal): boolean {
  if (journal.pid === process.pid) return active.has(journal.id);
  try {
    process.kill(journal.pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  return Date.now() - Date.parse(journal.startedAt) < STALE_AFTER_MS;
}

async function recover(ctx: ChangeContext, journal: Journal): Promise<RecoveredChange> {
  const report: RecoveredChange = {
    what: journal.what,
    pid: journal.pid,
    startedAt: journal.startedAt,
    outcome: journal.state === 'pending' ? 'undone' : 'finished',
    files: filesOf(journal),
  };
  try {
    if (journal.state === 'pending')
      for (const step of [...journal.steps].reverse()) await undoStep(step, ctx);
    else for (const step of journal.steps) await finishStep(step, ctx);
    removeJournal(ctx.journalDir);
  } catch (error) {
    // Another command that started at the same moment recovered it first.
    if (readJournalOrReport(ctx.journalDir)?.id !== journal.id) return report;
    throw new WardenError(
      'CHANGE_PENDING',
      `an interrupted change (${journal.what}, pid ${journal.pid}) could not be ${report.outcome === 'undone' ? 'undone' : 'finished'} yet: ` +
        `${describeError(error)}. Run any mcp-warden command again once that is fixed (journal: ${journalFile(ctx.journalDir)})`,
      { cause: error },
    );
  }
  return report;
}

const filesOf = (journal: Journal): string[] =>
  journal.steps.flatMap((s) =>
    s.kind === 'file-write' ? [s.file] : s.kind === 'file-rename' ? [s.from] : [],
  );

async function apply(
  ctx: ChangeContext,
  journal: Journal,
  values: StepValues,
  contents: Map<number, string | Buffer>,
): Promise<void> {
  try {
    faultPoint('journal created');
    for (const [index, step] of journal.steps.entries()) {
      if (step.kind !== 'file-write') continue;
      for (const dir of step.createdDirs) {
        if (fs.existsSync(dir)) continue; // an earlier file of this change needed it too
        fs.mkdirSync(dir);
        faultPoint(`created directory ${dir}`);
      }
      writeDurably(step.temp, contents.get(index)!, step.mode);
      faultPoint(`staged ${step.temp}`);
    }
    for (const [index, step] of journal.steps.entries()) await doStep(step, index, ctx, values);
  } catch (error) {
    return rollBack(ctx, journal, error);
  }
  journal.state = 'committed';
  try {
    writeJournal(ctx.journalDir, journal, false);
  } catch (error) {
    // Failed after the committed journal was in place: the change is made.
    if (readJournal(ctx.journalDir)?.state === 'committed') return;
    journal.state = 'pending';
    return rollBack(ctx, journal, error);
  }
}

async function rollBack(ctx: ChangeContext, journal: Journal, error: unknown): Promise<never> {
  try {
    for (const step of [...journal.steps].reverse()) await undoStep(step, ctx);
    removeJournal(ctx.journalDir);
  } catch (undoError) {
    if (!fs.existsSync(journalFile(ctx.journalDir))) return rolledBack(error); // only the last write failed
    throw new WardenError(
      'CHANGE_PENDING',
      `${describeError(error)}; undoing what was done so far failed too (${describeError(undoError)}). ` +
        `The next mcp-warden command undoes the rest (journal: ${journalFile(ctx.journalDir)})`,
      { cause: error },
    );
  }
  return rolledBack(error);
}

function rolledBack(error: unknown): never {
  const message = `${describeError(error).replace(/\.?$/, '.')} Nothing was changed.`;
  throw new WardenError(isWardenError(error) ? error.code : 'CHANGE_FAILED', message, { cause: error });
}

/** Cleans up a committed change; a failure leaves the journal for the next run to finish. */
async function finish(ctx: ChangeContext, journal: Journal): Promise<{ warning?: string }> {
  try {
    for (const step of journal.steps) await finishStep(step, ctx);
    removeJournal(ctx.journalDir);
    return {};
  } catch (error) {
    return {
      warning:
        `the change is made, but cleaning up after it failed (${describeError(error)}); ` +
        `the next mcp-warden command finishes it (journal: ${journalFile(ctx.journalDir)})`,
    };
  }
}
