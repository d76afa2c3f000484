// Megolm decryption behind one interface (src/crypto/megolm-decryptor.ts): libolm's InboundGroupSession and
// rust-sdk's OlmMachine, with keys in export format (a key export) and in sharing format (an m.room_key).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMegolmDecryptor, toExportFormat, type MegolmImplementation } from '../../../src/crypto/megolm-decryptor';
import { loadOlm, olm } from '../../../src/crypto/olm-library';
import { RoomEncryptor } from '../../../src/crypto/room-encryptor';
import { roomKeyFromOlmEvent, sessionKeyFormat } from '../../../src/shared/olm-room-key';
import type { ExportedRoomKey } from '../../../src/shared/room-key-protocol';
import type { RoomEvent } from '../../../src/shared/wire';

const ROOM = '!megolm:localhost';
const IMPLEMENTATIONS: MegolmImplementation[] = ['libolm', 'rust-sdk'];
let sequence = 0;

function roomEvent(content: Record<string, unknown>, roomId = ROOM, eventId?: string): RoomEvent {
  sequence += 1;
  return { event_id: eventId ?? `$m${sequence}`, room_id: roomId, type: 'm.room.encrypted', sender: '@alice:localhost', origin_server_ts: sequence, content };
}

/** A libolm outbound session: its sharing-format key as an m.room_key would carry it, and one message. */
function libolmSender(body: string): { key: ExportedRoomKey; event: RoomEvent } {
  const account = new (olm().Account)();
  account.create();
  const identity = JSON.parse(account.identity_keys()) as { curve25519: string; ed25519: string };
  account.free();
  const outbound = new (olm().OutboundGroupSession)();
  outbound.create();
  const content = { algorithm: 'm.megolm.v1.aes-sha2', room_id: ROOM, session_id: outbound.session_id(), session_key: outbound.session_key() };
  const ciphertext = outbound.encrypt(JSON.stringify({ type: 'm.room.message', content: { body }, room_id: ROOM }));
  const event = roomEvent({ algorithm: 'm.megolm.v1.aes-sha2', sender_key: identity.curve25519, ciphertext, session_id: outbound.session_id(), device_id: 'ALICE' });
  outbound.free();
  const encryption = { algorithm: 'm.olm.v1.curve25519-aes-sha2', sender_key: identity.curve25519, session_id: 'olm', sender_device_id: 'ALICE', sender_ed25519: identity.ed25519 };
  const key = roomKeyFromOlmEvent(content, encryption);
  if (!key.ok) throw new Error(key.error);
  return { key: key.value, event };
}

describe('megolm decryptors', () => {
  const encryptors: RoomEncryptor[] = [];
  beforeAll(async () => {
    await loadOlm();
  });
  afterAll(() => {
    for (const encryptor of encryptors) encryptor.close();
  });

  for (const implementation of IMPLEMENTATIONS) {
    it(`megolm (${implementation}): an exported key decrypts rust-sdk messages; without it the message is missing-key`, async () => {
      const encryptor = await RoomEncryptor.create({ userId: '@alice:localhost', deviceId: 'ALICE', rotateEveryMessages: 3 });
      encryptors.push(encryptor);
      const first = await encryptor.encrypt(ROOM, 'm.room.message', { body: 'one' });
      const second = await encryptor.encrypt(ROOM, 'm.room.message', { body: 'two' });
      const decryptor = await createMegolmDecryptor(implementation, '@bob:localhost', 'BOB');
      expect(await decryptor.decrypt(roomEvent(second.content))).toMatchObject({ kind: 'unable', reason: 'missing-key' });
      const key = first.newRoomKey as ExportedRoomKey;
      expect(await decryptor.importKeys([key])).toEqual([key.session_id]);
      expect(await decryptor.importKeys([key])).toEqual([]);
      expect(decryptor.hasKey(key.session_id)).toBe(true);
      expect(await decryptor.decrypt(roomEvent(second.content))).toMatchObject({ kind: 'decrypted', content: { body: 'two' } });
      expect(await decryptor.decrypt(roomEvent(first.content))).toMatchObject({ kind: 'decrypted', content: { body: 'one' } });
      decryptor.close();
    });

    it(`megolm (${implementation}): a sharing-format key from an m.room_key decrypts libolm messages`, async () => {
      const { key, event } = libolmSender('shared');
      expect(sessionKeyFormat(key)).toBe('sharing');
      const decryptor = await createMegolmDecryptor(implementation, '@bob:localhost', 'BOB');
      expect(await decryptor.importKeys([key])).toEqual([key.session_id]);
      expect(await decryptor.decrypt(event)).toMatchObject({ kind: 'decrypted', type: 'm.room.message', content: { body: 'shared' } });
      decryptor.close();
    });
  }

  it('megolm: toExportFormat turns a sharing key into an export of the same session; an export is left as it is', () => {
    const { key } = libolmSender('x');
    const exported = toExportFormat(key);
    expect(exported.session_id).toBe(key.session_id);
    expect(exported.session_key).not.toBe(key.session_key);
    expect(sessionKeyFormat(exported)).toBe('export');
    expect(toExportFormat(exported)).toBe(exported);
  });

  it('megolm (libolm): a session used in another room, or a message index reused by another event, is refused', async () => {
    const { key, event } = libolmSender('once');
    const decryptor = await createMegolmDecryptor('libolm', '@bob:localhost', 'BOB');
    await decryptor.importKeys([key]);
    expect(await decryptor.decrypt({ ...event, room_id: '!other:localhost' })).toMatchObject({ kind: 'unable', detail: 'the session belongs to another room' });
    expect(await decryptor.decrypt(event)).toMatchObject({ kind: 'decrypted' });
    // The same event again is fine (a timeline re-read); the same index under another event ID is a replay.
    expect(await decryptor.decrypt(event)).toMatchObject({ kind: 'decrypted' });
    expect(await decryptor.decrypt({ ...event, event_id: '$forged' })).toMatchObject({ kind: 'unable', detail: 'message index 0 reused by another event' });
    decryptor.close();
  });

  it('megolm: an m.room_key with missing fields is refused with the field named', () => {
    const info = { algorithm: 'm.olm.v1.curve25519-aes-sha2', sender_key: 'c', session_id: 'o', sender_device_id: 'D', sender_ed25519: 'e' };
    expect(roomKeyFromOlmEvent({ algorithm: 'm.megolm.v1.aes-sha2', room_id: '!r:x', session_id: 's' }, info)).toEqual({ ok: false, error: '"session_key" must be a non-empty string' });
    expect(roomKeyFromOlmEvent({ algorithm: 'other' }, info)).toEqual({ ok: false, error: '"algorithm" must be m.megolm.v1.aes-sha2' });
  });
});
