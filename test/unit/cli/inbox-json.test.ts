// `todevice inbox --json` / text for Olm rows: a decrypted m.room_key shows its cleartext type and content with the
// session key "<redacted>" and how it arrived; an undecryptable row keeps m.room.encrypted with its reason; the
// plaintext key event's session key is redacted too; the Olm figures are there, with no secret anywhere.
import { describe, expect, it } from 'vitest';
import { toJson } from '../../../src/cli/inbox-command';
import { appendToInbox } from '../../../src/store/inbox';
import { readStoreSnapshot } from '../../../src/store/snapshot';
import { countOlmOutcome } from '../../../src/store/olm-bookkeeping';
import { tempStore } from '../store/temp-store';

const SECRET = 'AgAAAADxKHa9uFxcXzwYoNueL5Xqi69IkD4sni8LlfJL7qNBEY';

describe('inbox --json with Olm rows', () => {
  it('shows decrypted and undecryptable rows, redacts session keys, counts failures by reason', () => {
    const store = tempStore();
    const origin = { receivedAtMs: 1, process: 'main', pid: 7, batchSince: null, batchNextBatch: 't1' };
    appendToInbox(
      store,
      [
        {
          type: 'm.room_key',
          sender: '@alice:localhost',
          content: { algorithm: 'm.megolm.v1.aes-sha2', room_id: '!r:localhost', session_id: 'S1', session_key: SECRET },
          encryption: { algorithm: 'm.olm.v1.curve25519-aes-sha2', sender_key: 'CURVE', session_id: 'olm1', sender_device_id: 'ALICE', sender_ed25519: 'ED' },
        },
        { type: 'm.room.encrypted', sender: '@mallory:localhost', content: { algorithm: 'm.olm.v1.curve25519-aes-sha2', sender_key: 'X', ciphertext: {} }, decryptionError: 'unknown-device' },
        { type: 'org.todevice.room_key', sender: '@alice:localhost', content: { room_key: { session_id: 'S0', session_key: SECRET } } },
      ],
      origin,
    );
    countOlmOutcome(store, 'unknown-device', 1);
    countOlmOutcome(store, 'decrypted', 1);
    const json = toJson(readStoreSnapshot(store));
    const inbox = json.inbox as Array<Record<string, unknown>>;
    expect(inbox[0]).toMatchObject({
      type: 'm.room_key',
      content: { session_id: 'S1', session_key: '<redacted>' },
      encryption: { algorithm: 'm.olm.v1.curve25519-aes-sha2', sender_key: 'CURVE' },
    });
    expect(inbox[0]).not.toHaveProperty('decryption_error');
    expect(inbox[1]).toMatchObject({ type: 'm.room.encrypted', decryption_error: 'unknown-device' });
    expect(inbox[1]).not.toHaveProperty('encryption');
    expect(inbox[2]).toMatchObject({ content: { room_key: { session_key: '<redacted>' } } });
    expect(json.olm).toMatchObject({ decrypted: 1, decryption_failures: { unknown_device: 1, bad_mac: 0 }, wedged_devices: 0, recoveries: 0, one_time_keys_uploaded: 0 });
    expect(JSON.stringify(json)).not.toContain(SECRET);
  });
});
