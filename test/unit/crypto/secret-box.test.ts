// Sealing a secret with the pickle key (src/crypto/secret-box.ts): opens only with the same key and place.
import { describe, expect, it } from 'vitest';
import { PickleKey } from '../../../src/crypto/pickle-key';
import { isSealed, openSecret, sealSecret } from '../../../src/crypto/secret-box';

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
    const tampered = sealed.slice(0, -2) + (sealed.endsWith('A') ? 'BB' : 'AA');
    expect(openSecret(key, tampered, 'session:abc')).toEqual({ ok: false, error: 'does-not-open' });
    expect(openSecret(key, 'plain-text', 'session:abc')).toEqual({ ok: false, error: 'not-sealed' });
  });

  it('secret box: every seal has its own IV, also across refills of the IV pool, and each value opens in its place only', () => {
    const key = PickleKey.generate();
    // More seals than one pool of IVs holds (256), so the pool is refilled in between.
    const sealed = Array.from({ length: 600 }, (_, n) => sealSecret(key, `room-key-${n}`, `session:${n}`));
    const ivs = sealed.map((value) => value.split('.')[1]);
    expect(new Set(ivs).size).toBe(sealed.length);
    for (const iv of ivs) expect(Buffer.from(iv ?? '', 'base64url')).toHaveLength(12);
    sealed.forEach((value, n) => {
      expect(openSecret(key, value, `session:${n}`)).toEqual({ ok: true, value: `room-key-${n}` });
      expect(openSecret(key, value, `session:${n + 1}`)).toEqual({ ok: false, error: 'does-not-open' });
    });
  });
});
