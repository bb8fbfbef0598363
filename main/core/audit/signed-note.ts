import { createHash, createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';

/**
 * C2SP signed notes (https://c2sp.org/signed-note) with Ed25519 keys, and their tlog-checkpoint
 * text (https://c2sp.org/tlog-checkpoint). No maintained JavaScript library implements the
 * format (Sigstore's verifier only reads Rekor's), so this module does, with node:crypto.
 */

/** The signature type byte of Ed25519 in a key hash and a verifier key. */
const ED25519_TYPE = 0x01;
/** DER prefix of a PKCS #8 Ed25519 private key before its 32-byte seed (RFC 8410). */
const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
/** A key name: non-empty, no Unicode spaces, no "+". */
const KEY_NAME = /^[^\s+]+$/u;

/** An Ed25519 key that signs notes under a name. */
export interface NoteSigner {
  name: string;
  /** The 4-byte key hash, as a big-endian number. */
  keyHash: number;
  privateKey: KeyObject;
  /** The raw 32-byte public key. */
  publicKey: Buffer;
}

/** An Ed25519 public key that verifies notes signed under a name. */
export interface NoteVerifier {
  name: string;
  keyHash: number;
  publicKey: Buffer;
}

/** One signature line of a note. */
export interface NoteSignature {
  name: string;
  keyHash: number;
  /** The signature bytes after the key hash (64 for Ed25519). */
  signature: Buffer;
}

/** A note split into its text and its signature lines. */
export interface ParsedNote {
  /** The signed text, ending in a newline. */
  text: string;
  signatures: NoteSignature[];
}

/** The signed-note key hash: the first 4 bytes of SHA-256(name || "\n" || 0x01 || public key). */
export function keyHash(name: string, publicKey: Buffer): number {
  const digest = createHash('sha256')
    .update(name)
    .update(Buffer.of(0x0a, ED25519_TYPE))
    .update(publicKey)
    .digest();
  return digest.readUInt32BE(0);
}

/**
 * A signer from a 32-byte Ed25519 seed.
 * @throws Error for a name that is not a key name or a seed that is not 32 bytes.
 */
export function signerFromSeed(name: string, seed: Buffer): NoteSigner {
  if (!KEY_NAME.test(name)) throw new Error(`"${name}" is not a signed-note key name`);
  if (seed.length !== 32) throw new Error(`an Ed25519 seed is 32 bytes, not ${seed.length}`);
  const privateKey = createPrivateKey({
    key: Buffer.concat([PKCS8_ED25519_PREFIX, seed]),
    format: 'der',
    type: 'pkcs8',
  });
  const jwk = createPublicKey(privateKey).export({ format: 'jwk' });
  const publicKey = Buffer.from(jwk.x!, 'base64url');
  return { name, keyHash: keyHash(name, publicKey), privateKey, publicKey };
}

/** The verifier of a signer's notes, under another name when given (same key). */
export function verifierOf(key: { publicKey: Buffer }, name: string): NoteVerifier {
  return { name, keyHash: keyHash(name, key.publicKey), publicKey: key.publicKey };
}

/** The verifier key string `<name>+<key hash, 8 hex>+<base64(0x01 || public key)>`. */
export function formatVerifierKey(verifier: NoteVerifier): string {
  const hash = verifier.keyHash.toString(16).padStart(8, '0');
  return `${verifier.name}+${hash}+${Buffer.concat([Buffer.of(ED25519_TYPE), verifier.publicKey]).toString('base64')}`;
}

/**
 * Signs `text` (which must end in a newline and hold no control characters but newlines).
 * @returns the note: the text, a blank line, one line `— <name> <base64(key hash || signature)>`.
 * @throws Error for text that is not a note's text.
 */
export function signNote(text: string, signers: readonly NoteSigner[]): string {
  assertNoteText(text);
  const lines = signers.map((signer) => {
    const hash = Buffer.alloc(4);
    hash.writeUInt32BE(signer.keyHash);
    const signature = sign(null, Buffer.from(text), signer.privateKey);
    return `— ${signer.name} ${Buffer.concat([hash, signature]).toString('base64')}\n`;
  });
  return `${text}\n${lines.join('')}`;
}

/**
 * Splits a note into text and signature lines (signed-note "Format").
 * @throws Error naming what is malformed: no blank line before the signatures, a line that is
 *   not a signature, a signature too short to hold a key hash.
 */
export function parseNote(note: string): ParsedNote {
  const split = note.lastIndexOf('\n\n');
  if (split < 0 || !note.endsWith('\n')) throw new Error('no blank line before the signature lines');
  const text = note.slice(0, split + 1);
  assertNoteText(text);
  const signatures: NoteSignature[] = [];
  for (const line of note.slice(split + 2, -1).split('\n')) {
    const match = /^— (\S+) ([A-Za-z0-9+/]+={0,2})$/u.exec(line);
    if (!match) throw new Error(`"${line.slice(0, 80)}" is not a signature line`);
    const bytes = Buffer.from(match[2]!, 'base64');
    if (bytes.length < 5) throw new Error(`the signature of ${match[1]} is too short`);
    signatures.push({ name: match[1]!, keyHash: bytes.readUInt32BE(0), signature: bytes.subarray(4) });
  }
  if (signatures.length === 0) throw new Error('no signature lines');
  return { text, signatures };
}

/**
 * How a note stands against one verifier (signed-note "Verifying"): `valid` when a line with
 * the verifier's name and key hash verifies; `bad-signature` when such a line does not verify
 * (the text or the signature was changed); `other-key` when no line has the verifier's key hash
 * (signed by someone else, or not by this key).
 */
export function checkNote(
  parsed: ParsedNote,
  verifier: NoteVerifier,
): { status: 'valid' | 'bad-signature' | 'other-key'; keyHashes: number[] } {
  const keyHashes = parsed.signatures.map((s) => s.keyHash);
  const ours = parsed.signatures.filter((s) => s.name === verifier.name && s.keyHash === verifier.keyHash);
  if (ours.length === 0) return { status: 'other-key', keyHashes };
  const publicKey = createPublicKey({
    key: { kty: 'OKP', crv: 'Ed25519', x: verifier.publicKey.toString('base64url') },
    format: 'jwk',
  });
  const valid = ours.some(
    (s) => s.signature.length === 64 && verify(null, Buffer.from(parsed.text), publicKey, s.signature),
  );
  return { status: valid ? 'valid' : 'bad-signature', keyHashes };
}

/** A tlog-checkpoint: origin, tree size, root hash. */
export interface CheckpointText {
  origin: string;
  treeSize: number;
  rootHash: Buffer;
}

/** The checkpoint's note text: `<origin>\n<tree size>\n<base64 root hash>\n`. */
export function formatCheckpoint(checkpoint: CheckpointText): string {
  if (!/^[^\s+]+$/u.test(checkpoint.origin)) throw new Error(`"${checkpoint.origin}" is not an origin`);
  return `${checkpoint.origin}\n${checkpoint.treeSize}\n${checkpoint.rootHash.toString('base64')}\n`;
}

/**
 * Reads a checkpoint's note text (extension lines are allowed and ignored).
 * @throws Error naming the line that is malformed.
 */
export function parseCheckpoint(text: string): CheckpointText {
  const [origin, size, root] = text.split('\n');
  if (!origin) throw new Error('the checkpoint has no origin line');
  if (size === undefined || !/^(0|[1-9][0-9]{0,15})$/.test(size))
    throw new Error(`"${size ?? ''}" is not a tree size`);
  if (root === undefined || !/^[A-Za-z0-9+/]{43}=$/.test(root))
    throw new Error(`"${root ?? ''}" is not a base64 SHA-256 root hash`);
  return { origin, treeSize: Number(size), rootHash: Buffer.from(root, 'base64') };
}

function assertNoteText(text: string): void {
  if (!text.endsWith('\n')) throw new Error('a note text ends in a newline');
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u0009\u000b-\u001f\u007f]/.test(text))
    throw new Error('a note text holds no control characters but newlines');
}

/**
 * Reads a verifier key string `<name>+<key hash, 8 hex>+<base64(0x01 || public key)>`.
 * @throws Error naming what is wrong (shape, key type, key hash that does not match).
 */
export function parseVerifierKey(text: string): NoteVerifier {
  const match = /^([^\s+]+)\+([0-9a-f]{8})\+([A-Za-z0-9+/]+={0,2})$/u.exec(text.trim());
  if (!match) throw new Error('a verifier key is <name>+<8 hex digits>+<base64 key>');
  const bytes = Buffer.from(match[3]!, 'base64');
  if (bytes.length !== 33 || bytes[0] !== ED25519_TYPE)
    throw new Error('the verifier key is not an Ed25519 key');
  const publicKey = bytes.subarray(1);
  const verifier = verifierOf({ publicKey }, match[1]!);
  if (verifier.keyHash !== Number.parseInt(match[2]!, 16))
    throw new Error('the key hash does not match the key');
  return verifier;
}
