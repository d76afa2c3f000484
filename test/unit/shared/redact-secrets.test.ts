// Redacting key material for display (src/shared/redact-secrets.ts).
import { describe, expect, it } from 'vitest';
import { REDACTED, redactSecrets } from '../../../src/shared/redact-secrets';

describe('redact secrets', () => {
  it('redact: m.room_key, m.forwarded_room_key, org.todevice.room_key and m.secret.send lose their key material only', () => {
    const roomKey = { algorithm: 'm.megolm.v1.aes-sha2', room_id: '!r:x', session_id: 'S', session_key: 'SECRET' };
    expect(redactSecrets('m.room_key', roomKey)).toEqual({ ...roomKey, session_key: REDACTED });
    const forwarded = { ...roomKey, sender_key: 'curve', sender_claimed_ed25519_key: 'ed', forwarding_curve25519_key_chain: ['c1'] };
    expect(redactSecrets('m.forwarded_room_key', forwarded)).toEqual({ ...forwarded, session_key: REDACTED });
    expect(redactSecrets('org.todevice.room_key', { tag: 't', room_key: roomKey })).toEqual({ tag: 't', room_key: { ...roomKey, session_key: REDACTED } });
    expect(redactSecrets('m.secret.send', { request_id: 'r', secret: 'SECRET' })).toEqual({ request_id: 'r', secret: REDACTED });
    // Unknown types are scanned too, at any depth, and arrays included.
    expect(redactSecrets('org.example.new', { list: [{ private_key: 'SECRET' }], pickle: 'SECRET' })).toEqual({ list: [{ private_key: REDACTED }], pickle: REDACTED });
  });

  it('redact: the input is not changed, and ciphertext is left to show', () => {
    const content = { session_key: 'SECRET' };
    redactSecrets('m.room_key', content);
    expect(content).toEqual({ session_key: 'SECRET' });
    const encrypted = { algorithm: 'm.olm.v1.curve25519-aes-sha2', sender_key: 'k', ciphertext: { k2: { type: 0, body: 'opaque' } } };
    expect(redactSecrets('m.room.encrypted', encrypted)).toEqual(encrypted);
    expect(JSON.stringify(redactSecrets('m.room_key', { session_key: 'SECRET', nested: { secret: 'SECRET' } }))).not.toContain('SECRET');
  });
});
