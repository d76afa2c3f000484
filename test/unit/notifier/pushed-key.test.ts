// A notifier may show its push without syncing only when the pushed event is encrypted and its room key is
// already in the shared store (stored by a consumer, or committed in a key-sharing row not yet handled).
import { describe, expect, it } from 'vitest';
import { pushedEventKeyStored } from '../../../src/notifier/pushed-key';
import { consume } from '../../../src/store/consume';
import { applyInboxEffects } from '../../../src/engine/inbox-effects';
import { appendToInbox } from '../../../src/store/inbox';
import { ENCRYPTED_EVENT_TYPE, MEGOLM_ALGORITHM, ROOM_KEY_EVENT_TYPE, type ExportedRoomKey } from '../../../src/shared/room-key-protocol';
import type { RoomEvent } from '../../../src/shared/wire';
import { tempStore } from '../store/temp-store';

function roomKey(sessionId: string): ExportedRoomKey {
  return {
    algorithm: 'm.megolm.v1.aes-sha2', room_id: '!r:x', sender_key: 'sk', session_id: sessionId, session_key: `key-${sessionId}`,
    sender_claimed_keys: { ed25519: 'ed' }, forwarding_curve25519_key_chain: [],
  };
}

function encrypted(sessionId: string): RoomEvent {
  return {
    type: ENCRYPTED_EVENT_TYPE, event_id: '$e', room_id: '!r:x', sender: '@s:x', origin_server_ts: 1,
    content: { algorithm: MEGOLM_ALGORITHM, session_id: sessionId, ciphertext: 'c', sender_key: 'sk', device_id: 'D' },
  };
}

const origin = { receivedAtMs: 1, process: 'main', pid: 1, batchSince: null, batchNextBatch: '1_x' };

describe('pushed event key', () => {
  it('pushed key: stored, or committed in the inbox, says yes; another session, a plaintext event or no session id says no', () => {
    const store = tempStore();
    expect(pushedEventKeyStored(store, encrypted('S1'))).toBe(false);
    appendToInbox(store, [{ type: ROOM_KEY_EVENT_TYPE, sender: '@s:x', content: { room_key: roomKey('S1') } }], origin);
    expect(pushedEventKeyStored(store, encrypted('S1'))).toBe(true); // committed, no consumer has handled it yet
    consume(store, 'main', (row, db) => void applyInboxEffects(db, 'main', row, 2));
    expect(pushedEventKeyStored(store, encrypted('S1'))).toBe(true); // stored by main's consumer
    expect(pushedEventKeyStored(store, encrypted('S2'))).toBe(false);
    expect(pushedEventKeyStored(store, { ...encrypted('S1'), type: 'm.room.message', content: { body: 'hi', session_id: 'S1' } })).toBe(false);
    expect(pushedEventKeyStored(store, { ...encrypted('S1'), content: { algorithm: MEGOLM_ALGORITHM, ciphertext: 'c' } })).toBe(false);
  });
});
