/**
 * Seals short secrets (a Megolm `session_key`) with the pickle key for storage at rest: AES-256-GCM from
 * node:crypto, so a room key in SQLite is no weaker than the Olm pickles beside it.
 *
 * Runtime: node / electron-utility. A sealed value is `tdv1.<iv>.<ciphertext+tag>` (base64url parts); the key
 * used for it is derived from the pickle key with HKDF-SHA-256 (info `todevice secret-box v1`) so the same bytes
 * never serve two ciphers. `aad` binds the value to where it is stored (the session ID, say): a sealed key moved to
 * another row does not open. `openSecret` returns an error value for anything that does not open; it never says why
 * beyond "tampered, foreign or wrong key", and never echoes the input.
 */
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import type { Result } from '../shared/result';
import { err, ok } from '../shared/result';
import type { PickleKey } from './pickle-key';

const PREFIX = 'tdv1';
const IV_BYTES = 12;
const TAG_BYTES = 16;

/**
 * The derived key, once per pickle key: a batch seals every room key it decrypted, and HKDF on each one cost as
 * much as the cipher. It lives exactly as long as the pickle key object it is derived from, which is in memory
 * anyway.
 */
const boxKeys = new WeakMap<PickleKey, Buffer>();

function boxKey(pickleKey: PickleKey): Buffer {
  let key = boxKeys.get(pickleKey);
  if (key === undefined) {
    key = Buffer.from(hkdfSync('sha256', pickleKey.toBuffer(), Buffer.alloc(0), 'todevice secret-box v1', 32));
    boxKeys.set(pickleKey, key);
  }
  return key;
}

/**
 * IVs drawn from the system's random generator a few hundred at a time: one `randomBytes` call per sealed key cost
 * more than the cipher (a batch seals every room key it decrypted). Every IV is still fresh random bytes, used
 * once: the pool is consumed front to back and replaced by a new one when spent. An IV is handed to the cipher
 * as a view into the pool (the cipher copies it when it starts) and written into the sealed value from there.
 */
const IV_POOL_IVS = 256;
let ivPool = Buffer.alloc(0);
let ivPoolOffset = 0;

/** The pool holding the next unused IV, and where in it: the IV is `pool[offset, offset + IV_BYTES)`. */
function nextIv(): { pool: Buffer; offset: number } {
  if (ivPoolOffset + IV_BYTES > ivPool.length) {
    ivPool = randomBytes(IV_BYTES * IV_POOL_IVS);
    ivPoolOffset = 0;
  }
  const offset = ivPoolOffset;
  ivPoolOffset += IV_BYTES;
  return { pool: ivPool, offset };
}

export function sealSecret(pickleKey: PickleKey, plaintext: string, aad: string): string {
  const { pool, offset } = nextIv();
  const cipher = createCipheriv('aes-256-gcm', boxKey(pickleKey), pool.subarray(offset, offset + IV_BYTES));
  cipher.setAAD(Buffer.from(aad, 'utf8'));
  const ciphertext = cipher.update(plaintext, 'utf8');
  const rest = cipher.final();
  const tag = cipher.getAuthTag();
  const body = Buffer.concat([ciphertext, rest, tag], ciphertext.length + rest.length + tag.length);
  return `${PREFIX}.${pool.toString('base64url', offset, offset + IV_BYTES)}.${body.toString('base64url')}`;
}

export function isSealed(value: string): boolean {
  return value.startsWith(`${PREFIX}.`);
}

export function openSecret(pickleKey: PickleKey, sealed: string, aad: string): Result<string, 'not-sealed' | 'does-not-open'> {
  const parts = sealed.split('.');
  if (parts.length !== 3 || parts[0] !== PREFIX) return err('not-sealed');
  const iv = Buffer.from(parts[1] ?? '', 'base64url');
  const body = Buffer.from(parts[2] ?? '', 'base64url');
  if (iv.length !== IV_BYTES || body.length < TAG_BYTES) return err('does-not-open');
  try {
    const decipher = createDecipheriv('aes-256-gcm', boxKey(pickleKey), iv);
    decipher.setAAD(Buffer.from(aad, 'utf8'));
    decipher.setAuthTag(body.subarray(body.length - TAG_BYTES));
    return ok(Buffer.concat([decipher.update(body.subarray(0, body.length - TAG_BYTES)), decipher.final()]).toString('utf8'));
  } catch {
    return err('does-not-open');
  }
}
