/**
 * Secrets at rest: searches every byte of every file under a directory (a test user's HOME) for
 * secret values, as they are and base64- or hex-encoded, so a copy in a log line, a database
 * page, a -wal/-shm file, a backup or a temp file is found. The keychain's own encrypted store
 * (gnome-keyring's `keyrings/` directory) is the one place they may be.
 */
import fs from 'node:fs';
import path from 'node:path';

/** Byte patterns that give `secret` away: itself, and its base64 (at each alignment) and hex. */
function encodings(secret: string): Buffer[] {
  const raw = Buffer.from(secret, 'utf8');
  const forms = [raw, Buffer.from(raw.toString('hex'))];
  for (const pad of [0, 1, 2]) {
    const text = Buffer.concat([Buffer.alloc(pad), raw]).toString('base64');
    // Drop the characters that depend on the bytes around the secret.
    const inner = text.slice(pad ? 4 : 0, -4);
    if (inner.length >= 8) forms.push(Buffer.from(inner));
  }
  return forms;
}

/** Every regular file under `dir`, except the keychain's own store. */
export function filesUnder(dir: string): string[] {
  const files: string[] = [];
  for (const entry of fs.readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const file = path.join(entry.parentPath, entry.name);
    if (file.includes(`${path.sep}keyrings${path.sep}`)) continue; // the keychain's own (encrypted) store
    files.push(file);
  }
  return files.sort();
}

/** Every file under `dir` whose bytes contain `needle` (or an encoding of it). */
export function filesContaining(dir: string, needle: string): string[] {
  const patterns = encodings(needle);
  return filesUnder(dir).filter((file) => {
    let bytes: Buffer;
    try {
      bytes = fs.readFileSync(file);
    } catch {
      return false; // removed while we looked (a database's -shm, a temp file)
    }
    return patterns.some((p) => bytes.includes(p));
  });
}

/**
 * The files under `dir` that hold any of `secrets`, as "file: secret #i", leaving out the files
 * in `allowed` (e.g. the client config a person asked to get back in plain text).
 */
export function secretsAtRest(dir: string, secrets: string[], allowed: string[] = []): string[] {
  const hits: string[] = [];
  for (const [i, secret] of secrets.entries())
    for (const file of filesContaining(dir, secret))
      if (!allowed.includes(file)) hits.push(`${file}: secret #${i}`);
  return hits;
}
