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
});
