// What a consumer records as handled carries the message's delivery tag: a decrypted m.room_key counts by its
// session, so the oracle sees every Olm-shared key once, as it sees tagged messages.
import { describe, expect, it } from 'vitest';
import { handledTags, hasHandledTag, recordHandled, summarizeHandled } from '../../../src/store/handled';
import { appendToInbox, inboxHasDeliveryTag, type InboxRow } from '../../../src/store/inbox';
import { tempStore } from './temp-store';

function row(seq: number, type: string, content: Record<string, unknown>): InboxRow {
  return { seq, type, sender: '@a:x', content, receivedAtMs: seq, fetchedByProcess: 'main', fetchedByPid: 1, batchSince: null, batchNextBatch: 'n' };
}

describe('handled tags', () => {
  it('handled: a decrypted m.room_key is handled as room-key:<session_id>, twice is one duplicate', () => {
    const store = tempStore();
    store.immediate(() => {
      recordHandled(store.db, 'main', row(1, 'org.todevice.demo', { tag: 'run-1', sent_at_ms: 1 }), 1);
      recordHandled(store.db, 'main', row(2, 'm.room_key', { algorithm: 'm.megolm.v1.aes-sha2', room_id: '!r:x', session_id: 'S1', session_key: 'x' }), 2);
      recordHandled(store.db, 'main', row(3, 'm.room_key', { algorithm: 'm.megolm.v1.aes-sha2', room_id: '!r:x', session_id: 'S1', session_key: 'x' }), 3);
      recordHandled(store.db, 'main', row(4, 'm.room.encrypted', { algorithm: 'm.olm.v1.curve25519-aes-sha2', ciphertext: {} }), 4);
    });
    expect(handledTags(store, 'main')).toEqual(new Set(['run-1', 'room-key:S1']));
    expect(hasHandledTag(store, 'main', 'room-key:S1')).toBe(true);
    expect(summarizeHandled(store, 'main')).toEqual({ rows: 4, distinctTags: 2, duplicates: 1 });
  });

  it('inbox: a committed row is found by its delivery tag, a decrypted m.room_key by room-key:<session_id>', () => {
    const store = tempStore();
    const origin = { receivedAtMs: 1, process: 'main', pid: 1, batchSince: null, batchNextBatch: 't1' };
    store.immediate(() =>
      appendToInbox(store, [
        { type: 'org.todevice.demo', sender: '@a:x', content: { tag: 'run-1' } },
        { type: 'm.room_key', sender: '@a:x', content: { algorithm: 'm.megolm.v1.aes-sha2', room_id: '!r:x', session_id: 'S1', session_key: 'x' } },
        { type: 'org.todevice.demo', sender: '@a:x', content: { session_id: 'S2' } },
      ], origin),
    );
    expect(inboxHasDeliveryTag(store, 'run-1')).toBe(true);
    expect(inboxHasDeliveryTag(store, 'room-key:S1')).toBe(true);
    expect(inboxHasDeliveryTag(store, 'room-key:S2')).toBe(false);
    expect(inboxHasDeliveryTag(store, 'run-2')).toBe(false);
  });
});
