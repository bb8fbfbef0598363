import fs from 'node:fs';
import path from 'node:path';
import { WardenError } from '../errors.ts';
import type { SecretBinding } from '../store/secret-bindings.ts';
import type { ServerApproval } from '../store/server-approvals.ts';
import { faultPoint } from './fault-point.ts';

/**
 * One step of a change, with what is needed to undo it. Secret values are never in a step:
 * a value being replaced is stashed in the keychain itself (`stash`), the new one stays in memory.
 * `previous` is read before anything is written: 'none' (did not exist), 'stashed' (the old value
 * goes to `stash` before it is replaced or deleted) or 'same' (already the value to set).
 */
export type Step =
  | { kind: 'secret-set'; name: string; stash: string; previous: 'none' | 'stashed' | 'same' }
  | { kind: 'secret-delete'; name: string; stash: string; previous: 'none' | 'stashed' }
  | {
      kind: 'file-write';
      /** The real path (symbolic links resolved). */
      file: string;
      /** The new content, staged next to the file. */
      temp: string;
      /** A hard link to (or copy of) the file as it was, until the change is finished. */
      old: string;
      /** sha256 of the content it had, or null when it did not exist. */
      before: string | null;
      /** sha256 of the content it gets. */
      after: string;
      mode: number;
      /** Directories created for it, outermost first (removed again when undone, if empty). */
      createdDirs: string[];
    }
  | { kind: 'file-rename'; from: string; to: string }
  | { kind: 'approve-server'; row: ServerApproval; previous: ServerApproval | null }
  | { kind: 'bind-secret'; row: SecretBinding; previous: SecretBinding | null }
  | { kind: 'unbind-secret'; name: string; previous: SecretBinding | null };

/**
 * The intent file of a change in flight (`<dataDir>/journal/current.json`): written before the
 * first step, marked committed after the last one, removed when finished. A change found
 * 'pending' by a later run is undone; one found 'committed' is finished.
 */
export interface Journal {
  version: 1;
  id: string;
  /** What the person asked for, e.g. "clients protect claude-desktop". */
  what: string;
  pid: number;
  startedAt: string;
  state: 'pending' | 'committed';
  steps: Step[];
}

/** The journal of the change in flight, if any. */
export const journalFile = (dir: string): string => path.join(dir, 'current.json');

/**
 * Reads the journal.
 * @returns undefined when there is none.
 * @throws WardenError CHANGE_PENDING when it exists but is not JSON or not a journal this version
 *   knows (reported, never guessed at: the change must be finished by hand or by a newer version);
 *   the file system's error when it cannot be read.
 */
export function readJournal(dir: string): Journal | undefined {
  let text: string;
  try {
    text = fs.readFileSync(journalFile(dir), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  let journal: Journal;
  try {
    journal = JSON.parse(text) as Journal;
  } catch (error) {
    throw new WardenError('CHANGE_PENDING', `${journalFile(dir)} is damaged (not JSON)`, { cause: error });
  }
  if (journal.version !== 1 || !Array.isArray(journal.steps))
    throw new WardenError(
      'CHANGE_PENDING',
      `${journalFile(dir)} is not a change journal this version of MCP Warden knows`,
    );
  return journal;
}

/**
 * Writes the journal atomically (temp file, fsync, then link or rename).
 * @param create true for a new change: fails with EEXIST when another change's journal is there.
 */
export function writeJournal(dir: string, journal: Journal, create: boolean): void {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const temp = path.join(dir, `current.json.${journal.id}.tmp`);
  writeDurably(temp, JSON.stringify(journal, null, 2) + '\n', 0o600);
  try {
    if (create) {
      fs.linkSync(temp, journalFile(dir));
      fs.unlinkSync(temp);
    } else {
      fs.renameSync(temp, journalFile(dir));
    }
  } catch (error) {
    fs.rmSync(temp, { force: true });
    throw error;
  }
  syncDir(dir);
  // A new journal's fault point is the change's first step (see runChange), inside its undo.
  if (!create) faultPoint(`journal ${journal.state}`);
}

/** Removes the journal of a finished change, and temp files a crash left in the directory. */
export function removeJournal(dir: string): void {
  fs.rmSync(journalFile(dir), { force: true });
  syncDir(dir);
  faultPoint('journal removed');
  removeStrayTemps(dir);
}

/** Journal temp files no journal refers to (a crash while one was written). */
export function removeStrayTemps(dir: string): void {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names)
    if (/^current\.json\.[0-9a-f]+\.tmp$/.test(name)) fs.rmSync(path.join(dir, name), { force: true });
}

/** Writes `data` to a new file and flushes it to the disk before returning. */
export function writeDurably(file: string, data: string | Buffer, mode: number): void {
  const fd = fs.openSync(file, 'wx', mode);
  try {
    fs.fchmodSync(fd, mode);
    fs.writeFileSync(fd, data);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** Flushes a directory's entries (renames, links) to the disk where the OS allows it. */
export function syncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = fs.openSync(dir, 'r');
    fs.fsyncSync(fd);
  } catch {
    // Windows cannot open or fsync a directory; its renames are durable on their own.
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}
