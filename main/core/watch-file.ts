import fs from 'node:fs';

/**
 * Calls `onChange` when a file changes (stat polled every `intervalMs`, so a file replaced,
 * created or deleted is seen too; the poll does not keep the process alive). Calls run one at a
 * time, in order; `onChange` should not throw (a rejection is dropped).
 * @returns a function that stops watching.
 */
export function watchFileChanges(
  file: string,
  intervalMs: number,
  onChange: () => Promise<void>,
): () => void {
  let queue = Promise.resolve();
  const listener = (now: fs.Stats, before: fs.Stats): void => {
    if (now.mtimeMs === before.mtimeMs && now.size === before.size && now.ino === before.ino) return;
    queue = queue.then(onChange).catch(() => undefined);
  };
  fs.watchFile(file, { interval: intervalMs, persistent: false }, listener);
  return () => fs.unwatchFile(file, listener);
}
