/**
 * Seals short secrets (a Megolm `session_key`) with the pickle key for storage at rest, so a room key in SQLite
 * is no weaker than the Olm pickles beside it (libolm seals those with AES-256-CBC and an HMAC-SHA-256 cut to 8
 * bytes).
 *
 * Runtime: node / electron-utility. Two formats, both opened by `openSecret`; `sealSecrets` writes the second.
 * - `tdv1.<iv>.<ciphertext+tag>`: AES-256-GCM, one cipher per value, key derived with HKDF-SHA-256 (info
 *   `todevice secret-box v1`). Values sealed before `tdv2` existed.
 * - `tdv2.<counter>.<ciphertext>.<tag>`: AES-256-CTR, then HMAC-SHA-256 (cut to 16 bytes) over the format
 *   name, the place (`aad`, length-prefixed), the counter block and the ciphertext: encrypt-then-MAC, with the
 *   two keys derived from the pickle key with HKDF-SHA-256 (info `todevice secret-box v2`). Every value has its
 *   own counter block, so it opens alone. Why not GCM per value: a decryption pass seals every room key of its
 *   batch, and starting a cipher is what sealing a short value costs; measured inside the commit, one GCM cipher
 *   per key took a fifth of the pass's CPU. `sealSecrets` starts one CTR cipher for a whole batch: the values'
 *   plaintexts, each padded to whole AES blocks, are one keystream run from a random first counter block, and a
 *   value's counter block is the first one plus the blocks before it (a 128-bit big-endian sum, as CTR counts), so
 *   no counter block is used twice within a batch, and across batches only if two random 128-bit starts fall
 *   within a batch's length of each other. The MAC is HMAC itself, computed from two one-shot SHA-256 digests
 *   (node:crypto has no one-shot HMAC), with the pads precomputed once per pickle key.
 * Base64url parts. `aad` binds the value to where it is stored (the session ID, say): a sealed key moved to
 * another row does not open. `openSecret` returns an error value for anything that does not open; it never says
 * why beyond "tampered, foreign or wrong key", and never echoes the input. The derived keys live exactly as long
 * as the pickle key object they come from, which is in memory anyway.
 */
import { createCipheriv, createDecipheriv, hash, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Result } from '../shared/result';
import { err, ok } from '../shared/result';
import type { PickleKey } from './pickle-key';

const PREFIX_V1 = 'tdv1';
const PREFIX_V2 = 'tdv2';
const GCM_IV_BYTES = 12;
const GCM_TAG_BYTES = 16;
const BLOCK_BYTES = 16;
const MAC_BYTES = 16;
const HMAC_BLOCK_BYTES = 64;
const KEY_BYTES = 32;

const v1Keys = new WeakMap<PickleKey, Buffer>();

function keyV1(pickleKey: PickleKey): Buffer {
  let key = v1Keys.get(pickleKey);
  if (key === undefined) {
    key = Buffer.from(hkdfSync('sha256', pickleKey.toBuffer(), Buffer.alloc(0), 'todevice secret-box v1', KEY_BYTES));
    v1Keys.set(pickleKey, key);
  }
  return key;
}

interface KeysV2 {
  encryption: Buffer;
  /** The MAC key XOR-ed with HMAC's inner and outer pads (RFC 2104), each one hash block long. */
  innerPad: Buffer;
  outerPad: Buffer;
}

const v2Keys = new WeakMap<PickleKey, KeysV2>();

function keysV2(pickleKey: PickleKey): KeysV2 {
  let keys = v2Keys.get(pickleKey);
  if (keys === undefined) {
    const derived = Buffer.from(hkdfSync('sha256', pickleKey.toBuffer(), Buffer.alloc(0), 'todevice secret-box v2', 2 * KEY_BYTES));
    const innerPad = Buffer.alloc(HMAC_BLOCK_BYTES, 0x36);
    const outerPad = Buffer.alloc(HMAC_BLOCK_BYTES, 0x5c);
    for (let i = 0; i < KEY_BYTES; i += 1) {
      innerPad[i] = (innerPad[i] as number) ^ (derived[KEY_BYTES + i] as number);
      outerPad[i] = (outerPad[i] as number) ^ (derived[KEY_BYTES + i] as number);
    }
    keys = { encryption: derived.subarray(0, KEY_BYTES), innerPad, outerPad };
    derived.fill(0, KEY_BYTES);
    v2Keys.set(pickleKey, keys);
  }
  return keys;
}

/** HMAC-SHA-256 of `aad` and `ciphertext` under `counter`, cut to `MAC_BYTES`. */
function macV2(keys: KeysV2, aad: string, counter: Buffer, ciphertext: Buffer): Buffer {
  const aadBytes = Buffer.from(aad, 'utf8');
  const header = Buffer.allocUnsafe(PREFIX_V2.length + 4);
  header.write(PREFIX_V2, 0, 'latin1');
  header.writeUInt32BE(aadBytes.length, PREFIX_V2.length);
  const inner = hash('sha256', Buffer.concat([keys.innerPad, header, aadBytes, counter, ciphertext]), 'buffer');
  return hash('sha256', Buffer.concat([keys.outerPad, inner]), 'buffer').subarray(0, MAC_BYTES);
}

/** `counter` plus `blocks`, as a 128-bit big-endian number (how AES-CTR counts its blocks), in a new buffer. */
export function addToCounter(counter: Buffer, blocks: number): Buffer {
  const sum = Buffer.from(counter);
  let carry = blocks;
  for (let index = BLOCK_BYTES - 1; index >= 0 && carry > 0; index -= 1) {
    const digit = (sum[index] as number) + (carry % 256);
    sum[index] = digit % 256;
    carry = Math.floor(carry / 256) + Math.floor(digit / 256);
  }
  return sum;
}

export interface SecretToSeal {
  plaintext: string;
  /** Where the value is stored (the session ID): it opens there only. */
  aad: string;
}

/** Seals each secret (format `tdv2`, one cipher for all of them); the values come back in order. */
export function sealSecrets(pickleKey: PickleKey, secrets: readonly SecretToSeal[]): string[] {
  return sealSecretsFrom(randomBytes(BLOCK_BYTES), pickleKey, secrets);
}

/**
 * `sealSecrets` with its first counter block given instead of drawn at random: the tests use it to check the
 * counter arithmetic across carries. Anything else calls `sealSecrets`.
 */
export function sealSecretsFrom(firstCounter: Buffer, pickleKey: PickleKey, secrets: readonly SecretToSeal[]): string[] {
  if (secrets.length === 0) return [];
  if (firstCounter.length !== BLOCK_BYTES) throw new Error(`a counter block has ${BLOCK_BYTES} bytes`);
  const keys = keysV2(pickleKey);
  const plaintexts = secrets.map((secret) => Buffer.from(secret.plaintext, 'utf8'));
  const firstBlocks: number[] = [];
  let blocks = 0;
  for (const plaintext of plaintexts) {
    firstBlocks.push(blocks);
    blocks += Math.ceil(plaintext.length / BLOCK_BYTES);
  }
  // Each value starts on a block of its own; the padding's keystream is never used.
  const run = Buffer.alloc(blocks * BLOCK_BYTES);
  plaintexts.forEach((plaintext, index) => plaintext.copy(run, (firstBlocks[index] as number) * BLOCK_BYTES));
  const cipher = createCipheriv('aes-256-ctr', keys.encryption, firstCounter);
  const encrypted = Buffer.concat([cipher.update(run), cipher.final()]);
  run.fill(0);
  const sealed = secrets.map((secret, index) => {
    const start = (firstBlocks[index] as number) * BLOCK_BYTES;
    const counter = addToCounter(firstCounter, firstBlocks[index] as number);
    const ciphertext = encrypted.subarray(start, start + (plaintexts[index] as Buffer).length);
    const mac = macV2(keys, secret.aad, counter, ciphertext);
    return `${PREFIX_V2}.${counter.toString('base64url')}.${ciphertext.toString('base64url')}.${mac.toString('base64url')}`;
  });
  for (const plaintext of plaintexts) plaintext.fill(0);
  return sealed;
}

/** One secret, as `sealSecrets` seals it. */
export function sealSecret(pickleKey: PickleKey, plaintext: string, aad: string): string {
  return sealSecrets(pickleKey, [{ plaintext, aad }])[0] as string;
}

export function isSealed(value: string): boolean {
  return value.startsWith(`${PREFIX_V2}.`) || value.startsWith(`${PREFIX_V1}.`);
}

export function openSecret(pickleKey: PickleKey, sealed: string, aad: string): Result<string, 'not-sealed' | 'does-not-open'> {
  const parts = sealed.split('.');
  if (parts[0] === PREFIX_V2 && parts.length === 4) return openV2(pickleKey, parts, aad);
  if (parts[0] === PREFIX_V1 && parts.length === 3) return openV1(pickleKey, parts, aad);
  return err('not-sealed');
}

function openV2(pickleKey: PickleKey, parts: string[], aad: string): Result<string, 'does-not-open'> {
  const counter = Buffer.from(parts[1] ?? '', 'base64url');
  const ciphertext = Buffer.from(parts[2] ?? '', 'base64url');
  const mac = Buffer.from(parts[3] ?? '', 'base64url');
  if (counter.length !== BLOCK_BYTES || mac.length !== MAC_BYTES) return err('does-not-open');
  const keys = keysV2(pickleKey);
  if (!timingSafeEqual(macV2(keys, aad, counter, ciphertext), mac)) return err('does-not-open');
  const decipher = createDecipheriv('aes-256-ctr', keys.encryption, counter);
  return ok(Buffer.concat([decipher.update(ciphertext), decipher.final()]).toString('utf8'));
}

function openV1(pickleKey: PickleKey, parts: string[], aad: string): Result<string, 'does-not-open'> {
  const iv = Buffer.from(parts[1] ?? '', 'base64url');
  const body = Buffer.from(parts[2] ?? '', 'base64url');
  if (iv.length !== GCM_IV_BYTES || body.length < GCM_TAG_BYTES) return err('does-not-open');
  try {
    const decipher = createDecipheriv('aes-256-gcm', keyV1(pickleKey), iv);
    decipher.setAAD(Buffer.from(aad, 'utf8'));
    decipher.setAuthTag(body.subarray(body.length - GCM_TAG_BYTES));
    return ok(Buffer.concat([decipher.update(body.subarray(0, body.length - GCM_TAG_BYTES)), decipher.final()]).toString('utf8'));
  } catch {
    return err('does-not-open');
  }
}

