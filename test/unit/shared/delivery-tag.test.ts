// Delivery tags: a message's own tag wins; a decrypted m.room_key is tagged by its session; nothing else has one.
import { describe, expect, it } from 'vitest';
import { deliveryTag, roomKeyTag } from '../../../src/shared/delivery-tag';

describe('delivery tag', () => {
  it('delivery tag: the content tag, whatever the type (also inside a decrypted Olm payload)', () => {
    expect(deliveryTag('org.todevice.demo', { tag: 'run-1', sent_at_ms: 1 })).toBe('run-1');
    expect(deliveryTag('org.todevice.room_key', { tag: 's0-4', room_key: {} })).toBe('s0-4');
  });

  it('delivery tag: a decrypted m.room_key is room-key:<session_id>, as the sender derives it', () => {
    expect(deliveryTag('m.room_key', { algorithm: 'm.megolm.v1.aes-sha2', room_id: '!r:x', session_id: 'SESSION', session_key: '<redacted>' })).toBe(
      roomKeyTag('SESSION'),
    );
    expect(roomKeyTag('SESSION')).toBe('room-key:SESSION');
  });

  it('delivery tag: none for an event without a tag, an undecrypted event, or a key without session', () => {
    expect(deliveryTag('m.room.encrypted', { algorithm: 'm.olm.v1.curve25519-aes-sha2', ciphertext: {} })).toBeNull();
    expect(deliveryTag('m.room_key', { session_id: '' })).toBeNull();
    expect(deliveryTag('m.room_key', { session_id: 5 })).toBeNull();
    expect(deliveryTag('org.todevice.demo', { tag: 7 })).toBeNull();
  });
});
