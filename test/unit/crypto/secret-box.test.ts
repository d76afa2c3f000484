// Sealing a secret with the pickle key (src/crypto/secret-box.ts): opens only with the same key and place, every
// value of a batch opens alone, and values in the earlier format still open.
import { createCipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { PickleKey } from '../../../src/crypto/pickle-key';
import { addToCounter, isSealed, openSecret, sealSecret, sealSecrets, sealSecretsFrom } from '../../../src/crypto/secret-box';

/** `s` with the character at `index` replaced by another of the base64url alphabet. */
function changedAt(s: string, index: number): string {
  return `${s.slice(0, index)}${s[index] === 'A' ? 'B' : 'A'}${s.slice(index + 1)}`;
}

/** A value in the first format (AES-256-GCM, HKDF info `todevice secret-box v1`), written here from its description. */
function sealedInFormatV1(key: PickleKey, plaintext: string, aad: string): string {
  const boxKey = Buffer.from(hkdfSync('sha256', key.toBuffer(), Buffer.alloc(0), 'todevice secret-box v1', 32));
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', boxKey, iv);
  cipher.setAAD(Buffer.from(aad, 'utf8'));
  const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final(), cipher.getAuthTag()]);
  return `tdv1.${iv.toString('base64url')}.${body.toString('base64url')}`;
}

describe('secret box', () => {
  it('secret box: a sealed session key opens with its pickle key and place only, and never shows the plaintext', () => {
    const key = PickleKey.generate();
    const sealed = sealSecret(key, 'megolm-session-key', 'session:abc');
    expect(isSealed(sealed)).toBe(true);
    expect(sealed).not.toContain('megolm');
    expect(sealSecret(key, 'megolm-session-key', 'session:abc')).not.toBe(sealed);
    expect(openSecret(key, sealed, 'session:abc')).toEqual({ ok: true, value: 'megolm-session-key' });
    expect(openSecret(key, sealed, 'session:other')).toEqual({ ok: false, error: 'does-not-open' });
    expect(openSecret(PickleKey.generate(), sealed, 'session:abc')).toEqual({ ok: false, error: 'does-not-open' });
    expect(openSecret(key, 'plain-text', 'session:abc')).toEqual({ ok: false, error: 'not-sealed' });
    // Any changed character of the counter, the ciphertext or the tag, or a part missing: it does not open.
    const [, counter = '', ciphertext = '', tag = ''] = sealed.split('.');
    const starts = { counter: 5, ciphertext: 6 + counter.length, tag: 7 + counter.length + ciphertext.length };
    for (const index of [starts.counter, starts.counter + 3, starts.ciphertext, starts.ciphertext + 10, starts.tag, sealed.length - 2]) {
      expect(openSecret(key, changedAt(sealed, index), 'session:abc'), `changed at ${index}`).toEqual({ ok: false, error: 'does-not-open' });
    }
    expect(openSecret(key, sealed.slice(0, sealed.length - tag.length - 1), 'session:abc')).toEqual({ ok: false, error: 'not-sealed' });
    expect(openSecret(key, `${sealed.slice(0, starts.tag)}${tag.slice(0, -2)}`, 'session:abc')).toEqual({ ok: false, error: 'does-not-open' });
  });

  it('secret box: every value of a batch has its own counter block and opens alone, in its place only', () => {
    const key = PickleKey.generate();
    const secrets = Array.from({ length: 300 }, (_, n) => ({ plaintext: `room-key-${n}-${'k'.repeat(n % 40)}`, aad: `session:${n}` }));
    const sealed = sealSecrets(key, secrets);
    expect(sealed).toHaveLength(secrets.length);
    expect(new Set(sealed.map((value) => value.split('.')[1])).size).toBe(secrets.length);
    sealed.forEach((value, n) => {
      expect(openSecret(key, value, `session:${n}`)).toEqual({ ok: true, value: secrets[n]?.plaintext });
      expect(openSecret(key, value, `session:${n + 1}`)).toEqual({ ok: false, error: 'does-not-open' });
    });
    // A second batch starts at another random counter: no counter block of the first is used again.
    const again = sealSecrets(key, secrets);
    const first = new Set(sealed.map((value) => value.split('.')[1]));
    expect(again.some((value) => first.has(value.split('.')[1]))).toBe(false);
    expect(sealSecrets(key, [])).toEqual([]);
    expect(openSecret(key, sealSecret(key, '', 'session:empty'), 'session:empty')).toEqual({ ok: true, value: '' });
  });

  it('secret box: counter blocks count as AES-CTR does, across the carries of its 32-bit and 128-bit counters', () => {
    const key = PickleKey.generate();
    // Three-block values from just below 2^32 and just below 2^128: each value's counter block must be where the
    // batch's keystream reached, or it opens to other bytes.
    const starts = [Buffer.from('00000000000000000000000ffffffffe', 'hex'), Buffer.from('fffffffffffffffffffffffffffffffe', 'hex')];
    const secrets = Array.from({ length: 4 }, (_, n) => ({ plaintext: `${n}`.repeat(40), aad: `session:${n}` }));
    for (const start of starts) {
      const sealed = sealSecretsFrom(start, key, secrets);
      sealed.forEach((value, n) => expect(openSecret(key, value, `session:${n}`)).toEqual({ ok: true, value: secrets[n]?.plaintext }));
    }
    expect(addToCounter(Buffer.from('000000000000000000000000ffffffff', 'hex'), 1).toString('hex')).toBe('00000000000000000000000100000000');
    expect(addToCounter(Buffer.from('ffffffffffffffffffffffffffffffff', 'hex'), 2).toString('hex')).toBe('00000000000000000000000000000001');
    expect(addToCounter(Buffer.from('000000000000000000000000000000ff', 'hex'), 257).toString('hex')).toBe('00000000000000000000000000000200');
  });

  it('secret box: a value sealed in the first format (one AES-256-GCM cipher per value) still opens, in its place only', () => {
    const key = PickleKey.generate();
    const sealed = sealedInFormatV1(key, 'megolm-session-key', 'session:abc');
    expect(isSealed(sealed)).toBe(true);
    expect(openSecret(key, sealed, 'session:abc')).toEqual({ ok: true, value: 'megolm-session-key' });
    expect(openSecret(key, sealed, 'session:other')).toEqual({ ok: false, error: 'does-not-open' });
    expect(openSecret(PickleKey.generate(), sealed, 'session:abc')).toEqual({ ok: false, error: 'does-not-open' });
    expect(openSecret(key, changedAt(sealed, sealed.length - 3), 'session:abc')).toEqual({ ok: false, error: 'does-not-open' });
  });
});
