// A notification for an encrypted event whose key the sender withheld says so, and is not counted as a lost key;
// without the notice the same event is "unable to decrypt".
import { describe, expect, it } from 'vitest';
import { buildNotification } from '../../../src/notifier/notification-text';
import type { RoomEvent } from '../../../src/shared/wire';

const event: RoomEvent = { event_id: '$e', room_id: '!r:x', type: 'm.room.encrypted', sender: '@alice:x', origin_server_ts: 1, content: { algorithm: 'm.megolm.v1.aes-sha2', session_id: 'S1' } };
const missing = { kind: 'unable' as const, sessionId: 'S1', reason: 'missing-key' as const, detail: 'no key for session S1' };

describe('notification text', () => {
  it('withheld: the sender withheld the key, with its code and reason; not data missing', () => {
    const built = buildNotification(event, { payloads: [], decryption: missing, withheld: { code: 'm.unverified', reason: 'Device not verified' } });
    expect(built).toMatchObject({ outcome: 'withheld', dataMissing: false, sessionId: 'S1' });
    expect(built.body).toBe('The sender withheld the key to this message (m.unverified: Device not verified).');
  });

  it('no notice: unable to decrypt, its key has not arrived', () => {
    expect(buildNotification(event, { payloads: [], decryption: missing })).toMatchObject({ outcome: 'unable-to-decrypt', dataMissing: true });
  });
});
