import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { WardenError } from '../errors.ts';
import type { SecretStore } from '../secrets/secret-store.ts';
import type { SecretBindingStore } from '../store/secret-bindings.ts';
import type { ServerApprovalStore } from '../store/server-approvals.ts';
import { faultPoint } from './fault-point.ts';
import { syncDir, type Step } from './journal.ts';

/** The state.db stores a change writes to (server approvals, secret bindings). */
export interface StateStores {
  approvals: Pick<ServerApprovalStore, 'get' | 'put' | 'remove'>;
  bindings: Pick<SecretBindingStore, 'get' | 'put' | 'unbind'>;
}

/** What steps act on: the keychain and state.db (opened on first use). */
export interface StepTargets {
  secrets: SecretStore;
  state: () => StateStores;
}

/** Where a change is journaled and what it acts on. */
export interface ChangeContext extends StepTargets {
  /** `<dataDir>/journal`. */
  journalDir: string;
}

/** Values a running change holds in memory only: new secret values and the ones they replace. */
export interface StepValues {
  /** By step index: the value a secret-set step stores. */
  set: Map<number, string>;
  /** By step index: the value a secret-set or secret-delete step replaces (stashed first). */
  previous: Map<number, string>;
}

/** sha256 of bytes, hex. */
export const sha256 = (data: string | Buffer): string => createHash('sha256').update(data).digest('hex');

/** sha256 of a file's bytes, or null when it does not exist. */
export function fileHash(file: string): string | null {
  try {
    return sha256(fs.readFileSync(file));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}

const exists = (file: string): boolean => fs.existsSync(file);

function sameFile(a: string, b: string): boolean {
  try {
    const [x, y] = [fs.statSync(a), fs.statSync(b)];
    return x.ino === y.ino && x.dev === y.dev;
  } catch {
    return false;
  }
}

/**
 * Carries out one step. Each durable write is a fault point.
 * @throws WardenError CONFLICT when a file is no longer as the change expects it; whatever the
 *   keychain, the file system or state.db throw.
 */
export async function doStep(
  step: Step,
  index: number,
  targets: StepTargets,
  values: StepValues,
): Promise<void> {
  switch (step.kind) {
    case 'secret-set': {
      if (step.previous === 'same') return;
      if (step.previous === 'stashed') {
        await targets.secrets.set(step.stash, values.previous.get(index)!);
        faultPoint(`keychain: stashed the old value of ${step.name}`);
      }
      await targets.secrets.set(step.name, values.set.get(index)!);
      faultPoint(`keychain: set ${step.name}`);
      return;
    }
    case 'secret-delete': {
      if (step.previous === 'none') return;
      await targets.secrets.set(step.stash, values.previous.get(index)!);
      faultPoint(`keychain: stashed ${step.name}`);
      await targets.secrets.delete(step.name);
      faultPoint(`keychain: deleted ${step.name}`);
      return;
    }
    case 'file-write': {
      if (fileHash(step.file) !== step.before)
        throw new WardenError('CONFLICT', `${step.file} changed while this change was made; run it again`);
      if (step.before === null) {
        try {
          fs.linkSync(step.temp, step.file);
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code === 'EEXIST')
            throw new WardenError(
              'CONFLICT',
              `${step.file} appeared while this change was made; run it again`,
            );
          if (exists(step.file)) throw error;
          fs.renameSync(step.temp, step.file);
        }
        syncDir(path.dirname(step.file));
        faultPoint(`created ${step.file}`);
        fs.rmSync(step.temp, { force: true });
        faultPoint(`removed ${step.temp}`);
        return;
      }
      keepOld(step.file, step.old);
      faultPoint(`kept ${step.file} as ${step.old}`);
      fs.renameSync(step.temp, step.file);
      syncDir(path.dirname(step.file));
      faultPoint(`replaced ${step.file}`);
      return;
    }
    case 'file-rename': {
      if (!exists(step.from) || exists(step.to))
        throw new WardenError('CONFLICT', `${step.from} changed while this change was made; run it again`);
      fs.renameSync(step.from, step.to);
      syncDir(path.dirname(step.to));
      faultPoint(`renamed ${step.from}`);
      return;
    }
    case 'approve-server':
      targets.state().approvals.put(step.row);
      faultPoint(`state.db: approved ${step.row.server}`);
      return;
    case 'bind-secret':
      targets.state().bindings.put(step.row);
      faultPoint(`state.db: bound ${step.row.name}`);
      return;
    case 'unbind-secret':
      targets.state().bindings.unbind(step.name);
      faultPoint(`state.db: unbound ${step.name}`);
      return;
  }
}

/**
 * Puts the keychain value kept in `stash` back under `name`, then removes the stash. The stash
 * is written before the value is replaced or deleted: no stash, nothing was changed.
 */
async function putBackFromStash(name: string, stash: string, targets: StepTargets): Promise<void> {
  const old = await targets.secrets.get(stash);
  if (old === undefined) return;
  await targets.secrets.set(name, old);
  faultPoint(`undo: keychain: put back ${name}`);
  await targets.secrets.delete(stash);
  faultPoint(`undo: keychain: removed the stash of ${name}`);
}

/**
 * Undoes one step, whether it ran fully, partly or not at all (a crash may have stopped it
 * anywhere); running it twice is the same as once.
 */
export async function undoStep(step: Step, targets: StepTargets): Promise<void> {
  switch (step.kind) {
    case 'secret-set': {
      if (step.previous === 'same') return;
      if (step.previous === 'none') {
        await targets.secrets.delete(step.name);
        faultPoint(`undo: keychain: deleted ${step.name}`);
        return;
      }
      return putBackFromStash(step.name, step.stash, targets);
    }
    case 'secret-delete': {
      if (step.previous === 'none') return;
      return putBackFromStash(step.name, step.stash, targets);
    }
    case 'file-write': {
      if (exists(step.old)) {
        // Killed between keeping the link and the switch, both names are the same file, and
        // rename(2) of a file onto itself does nothing: the link alone goes then.
        if (sameFile(step.old, step.file)) fs.rmSync(step.old, { force: true });
        else fs.renameSync(step.old, step.file);
        syncDir(path.dirname(step.file));
        faultPoint(`undo: put back ${step.file}`);
      } else if (step.before === null && fileHash(step.file) === step.after) {
        fs.rmSync(step.file, { force: true });
        faultPoint(`undo: removed ${step.file}`);
      }
      if (exists(step.temp)) {
        fs.rmSync(step.temp, { force: true });
        faultPoint(`undo: removed ${step.temp}`);
      }
      for (const dir of [...step.createdDirs].reverse()) {
        try {
          fs.rmdirSync(dir);
        } catch {
          // not empty (someone else put a file there) or already gone: leave it
        }
      }
      return;
    }
    case 'file-rename':
      if (exists(step.to) && !exists(step.from)) {
        fs.renameSync(step.to, step.from);
        faultPoint(`undo: renamed back ${step.from}`);
      }
      return;
    case 'approve-server': {
      const { approvals } = targets.state();
      if (step.previous) approvals.put(step.previous);
      else approvals.remove(step.row.server, step.row.identityHash);
      faultPoint(`undo: state.db: approval of ${step.row.server}`);
      return;
    }
    case 'bind-secret':
    case 'unbind-secret': {
      const { bindings } = targets.state();
      const name = step.kind === 'bind-secret' ? step.row.name : step.name;
      if (step.previous) bindings.put(step.previous);
      else bindings.unbind(name);
      faultPoint(`undo: state.db: binding of ${name}`);
      return;
    }
  }
}

/** Cleans up after a committed step: stashed old values and kept old files go. Idempotent. */
export async function finishStep(step: Step, targets: StepTargets): Promise<void> {
  if ((step.kind === 'secret-set' || step.kind === 'secret-delete') && step.previous === 'stashed') {
    if (await targets.secrets.delete(step.stash)) faultPoint(`keychain: removed the stash of ${step.name}`);
  } else if (step.kind === 'file-write') {
    for (const file of [step.old, step.temp]) {
      if (!exists(file)) continue;
      fs.rmSync(file, { force: true });
      faultPoint(`removed ${file}`);
    }
  }
}

/**
 * Keeps the file as it is under `old`: a hard link (the same bytes, no copy of them), or a copy
 * where the file system has no hard links.
 */
function keepOld(file: string, old: string): void {
  fs.rmSync(old, { force: true });
  try {
    fs.linkSync(file, old);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EXDEV' && code !== 'EMLINK' && code !== 'ENOSYS')
      throw error;
    fs.copyFileSync(file, old, fs.constants.COPYFILE_EXCL);
    fs.chmodSync(old, fs.statSync(file).mode & 0o7777);
  }
  syncDir(path.dirname(file));
}
