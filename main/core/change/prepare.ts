import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { ServerConfig } from '../config/schema.ts';
import { WardenError } from '../errors.ts';
import { identityHash, serverIdentity, type ServerIdentity } from '../policy/identity.ts';
import { assertSecretName } from '../secrets/secret-store.ts';
import type { Journal, Step } from './journal.ts';
import { fileHash, sha256, type ChangeContext, type StepValues } from './steps.ts';

/**
 * One thing a change does. Files are compared with what the caller read (`expect`: the bytes it
 * computed the new content from, or null for a file that must not exist yet) so a concurrent
 * edit is never overwritten.
 */
export type Intent =
  | { kind: 'set-secret'; name: string; value: string }
  | { kind: 'delete-secret'; name: string }
  | {
      kind: 'write-file';
      file: string;
      content: string | Buffer;
      expect: string | Buffer | null;
      mode?: number;
    }
  | { kind: 'rename-file'; from: string; to: string }
  | { kind: 'approve-server'; server: string; identity: ServerIdentity; by: string }
  | { kind: 'bind-secret'; name: string; server: ServerConfig }
  | { kind: 'unbind-secret'; name: string };

/** Reads everything a step needs to be undone, before anything is written. */
export async function prepare(
  ctx: ChangeContext,
  what: string,
  intents: Intent[],
): Promise<{ journal: Journal; values: StepValues; contents: Map<number, string | Buffer> }> {
  const id = randomBytes(8).toString('hex');
  const values: StepValues = { set: new Map(), previous: new Map() };
  const contents = new Map<number, string | Buffer>();
  const steps: Step[] = [];
  const now = new Date().toISOString();
  for (const [index, intent] of intents.entries()) {
    const stash = `txn.${id}.${index}`;
    switch (intent.kind) {
      case 'set-secret': {
        assertSecretName(intent.name);
        if (!intent.value) throw new WardenError('USAGE', `the value of secret "${intent.name}" is empty`);
        const old = await ctx.secrets.get(intent.name);
        if (old !== undefined && old !== intent.value) values.previous.set(index, old);
        values.set.set(index, intent.value);
        const previous = old === undefined ? 'none' : old === intent.value ? 'same' : 'stashed';
        steps.push({ kind: 'secret-set', name: intent.name, stash, previous });
        break;
      }
      case 'delete-secret': {
        assertSecretName(intent.name);
        const old = await ctx.secrets.get(intent.name);
        if (old !== undefined) values.previous.set(index, old);
        steps.push({
          kind: 'secret-delete',
          name: intent.name,
          stash,
          previous: old === undefined ? 'none' : 'stashed',
        });
        break;
      }
      case 'write-file': {
        const { file, createdDirs } = resolveTarget(intent.file);
        const before = fileHash(file);
        const expected = intent.expect === null ? null : sha256(intent.expect);
        if (before !== expected)
          throw new WardenError(
            'CONFLICT',
            `${intent.file} ${before === null ? 'was removed' : expected === null ? 'appeared' : 'changed'} since it was read; run this again`,
          );
        const mode = intent.mode ?? (before === null ? 0o600 : fs.statSync(file).mode & 0o7777);
        const base = `.${path.basename(file).slice(0, 100)}.${id}`;
        const dir = path.dirname(file);
        contents.set(index, intent.content);
        steps.push({
          kind: 'file-write',
          file,
          temp: path.join(dir, `${base}.warden-new`),
          old: path.join(dir, `${base}.warden-old`),
          before,
          after: sha256(intent.content),
          mode,
          createdDirs,
        });
        break;
      }
      case 'rename-file':
        if (!fs.existsSync(intent.from))
          throw new WardenError('CONFLICT', `${intent.from} is gone; run this again`);
        if (fs.existsSync(intent.to)) throw new WardenError('CONFLICT', `${intent.to} already exists`);
        steps.push({ kind: 'file-rename', from: intent.from, to: intent.to });
        break;
      case 'approve-server': {
        const row = {
          server: intent.server,
          identityHash: identityHash(intent.identity),
          identity: intent.identity,
          approvedAt: now,
          approvedBy: intent.by,
        };
        steps.push({
          kind: 'approve-server',
          row,
          previous: ctx.state().approvals.get(row.server, row.identityHash) ?? null,
        });
        break;
      }
      case 'bind-secret': {
        assertSecretName(intent.name);
        const row = {
          name: intent.name,
          server: intent.server.name,
          identityHash: identityHash(serverIdentity(intent.server)),
          boundAt: now,
        };
        steps.push({ kind: 'bind-secret', row, previous: ctx.state().bindings.get(intent.name) ?? null });
        break;
      }
      case 'unbind-secret':
        steps.push({
          kind: 'unbind-secret',
          name: intent.name,
          previous: ctx.state().bindings.get(intent.name) ?? null,
        });
        break;
    }
  }
  const journal: Journal = {
    version: 1,
    id,
    what,
    pid: process.pid,
    startedAt: now,
    state: 'pending',
    steps,
  };
  return { journal, values, contents };
}

/**
 * The real path a write goes to (a symbolic link is followed, so the link stays a link), and the
 * directories that must be created for it, outermost first.
 */
function resolveTarget(file: string): { file: string; createdDirs: string[] } {
  const absolute = path.resolve(file);
  const missing: string[] = [];
  let dir = path.dirname(absolute);
  while (!fs.existsSync(dir)) {
    missing.unshift(dir);
    const parent = path.dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  const realDir = fs.realpathSync(dir);
  const createdDirs = missing.map((m) => path.join(realDir, path.relative(dir, m)));
  const target = path.join(createdDirs.at(-1) ?? realDir, path.basename(absolute));
  let link = false;
  try {
    link = fs.lstatSync(target).isSymbolicLink();
  } catch {
    // does not exist yet
  }
  if (!link) return { file: target, createdDirs };
  try {
    return { file: fs.realpathSync(target), createdDirs };
  } catch {
    throw new WardenError(
      'CONFLICT',
      `${file} is a symbolic link to a file that does not exist; fix or remove the link`,
    );
  }
}
