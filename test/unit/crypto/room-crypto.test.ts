// Megolm through matrix-sdk-crypto-wasm: the sender's sessions and exported keys, the receiver's import and
// decryption, and what a missing or wrong key looks like.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RoomDecryptor } from '../../../src/crypto/room-decryptor';
import { RoomEncryptor } from '../../../src/crypto/room-encryptor';
import { parseRoomKeyContent, type ExportedRoomKey } from '../../../src/shared/room-key-protocol';
import type { RoomEvent } from '../../../src/shared/wire';

const ROOM = '!crypto:localhost';
let sequence = 0;

function asEvent(content: Record<string, unknown>, roomId = ROOM): RoomEvent {
  sequence += 1;
  return { event_id: `$e${sequence}`, room_id: roomId, type: 'm.room.encrypted', sender: '@sender:localhost', origin_server_ts: 1_700_000_000_000 + sequence, content };
}

describe('RoomEncryptor and RoomDecryptor', () => {
  let rotateEach: RoomEncryptor;
  let rotateThree: RoomEncryptor;
  beforeAll(async () => {
    rotateEach = await RoomEncryptor.create({ userId: '@sender:localhost', deviceId: 'SENDER' });
    rotateThree = await RoomEncryptor.create({ userId: '@sender:localhost', deviceId: 'SENDER3', rotateEveryMessages: 3 });
  });
  afterAll(() => {
    rotateEach.close();
    rotateThree.close();
  });

  it('crypto: a message encrypts to Megolm ciphertext that decrypts with the shared key and not without it', async () => {
    const message = await rotateEach.encrypt(ROOM, 'm.room.message', { msgtype: 'm.text', body: 'secret words' });
    expect(message.type).toBe('m.room.encrypted');
    expect(message.content).toMatchObject({ algorithm: 'm.megolm.v1.aes-sha2', session_id: message.sessionId });
    expect(JSON.stringify(message.content)).not.toContain('secret words');
    expect(message.newRoomKey).toMatchObject({ room_id: ROOM, session_id: message.sessionId });

    const without = await RoomDecryptor.create('@desktop:localhost', 'DESKTOP');
    expect(await without.decrypt(asEvent(message.content))).toMatchObject({ kind: 'unable', reason: 'missing-key', sessionId: message.sessionId });

    const receiver = await RoomDecryptor.create('@desktop:localhost', 'DESKTOP');
    expect(await receiver.importKeys([message.newRoomKey as ExportedRoomKey])).toEqual([message.sessionId]);
    expect(await receiver.importKeys([message.newRoomKey as ExportedRoomKey])).toEqual([]);
    expect(await receiver.decrypt(asEvent(message.content))).toEqual({
      kind: 'decrypted', sessionId: message.sessionId, type: 'm.room.message', content: { msgtype: 'm.text', body: 'secret words' },
    });
    without.close();
    receiver.close();
  });

  it('crypto: each message starts a session by default; with rotation 3, one key unlocks three messages in any order', async () => {
    const a = await rotateEach.encrypt(ROOM, 'm.room.message', { body: 'a' });
    const b = await rotateEach.encrypt(ROOM, 'm.room.message', { body: 'b' });
    expect(a.newRoomKey).toBeDefined();
    expect(b.newRoomKey).toBeDefined();
    expect(a.sessionId).not.toBe(b.sessionId);

    const three = await Promise.all([0, 1, 2, 3].map((i) => rotateThree.encrypt(ROOM, 'm.room.message', { body: `m${i}` })));
    expect(three.map((m) => m.newRoomKey !== undefined)).toEqual([true, false, false, true]);
    expect(new Set(three.slice(0, 3).map((m) => m.sessionId)).size).toBe(1);
    expect(three[3]?.sessionId).not.toBe(three[0]?.sessionId);

    const receiver = await RoomDecryptor.create('@desktop:localhost', 'DESKTOP');
    await receiver.importKeys([three[0]?.newRoomKey as ExportedRoomKey]);
    for (const index of [2, 0, 1]) {
      const outcome = await receiver.decrypt(asEvent(three[index]?.content ?? {}));
      expect(outcome).toMatchObject({ kind: 'decrypted', content: { body: `m${index}` } });
    }
    expect(await receiver.decrypt(asEvent(three[3]?.content ?? {}))).toMatchObject({ kind: 'unable', reason: 'missing-key' });
    receiver.close();
  });

  it('crypto: tampered ciphertext or a key from another session is reported as failed, never thrown', async () => {
    const message = await rotateEach.encrypt(ROOM, 'm.room.message', { body: 'x' });
    const receiver = await RoomDecryptor.create('@desktop:localhost', 'DESKTOP');
    await receiver.importKeys([message.newRoomKey as ExportedRoomKey]);
    const ciphertext = String(message.content.ciphertext);
    const tampered = { ...message.content, ciphertext: `${ciphertext.slice(0, 20)}${ciphertext[20] === 'A' ? 'B' : 'A'}${ciphertext.slice(21)}` };
    expect(await receiver.decrypt(asEvent(tampered))).toMatchObject({ kind: 'unable', reason: 'failed' });
    expect(await receiver.decrypt(asEvent({ algorithm: 'm.olm.v1.curve25519-aes-sha2' }))).toMatchObject({ kind: 'unable', reason: 'failed' });
    expect(await receiver.decrypt({ ...asEvent({ body: 'plain' }), type: 'm.room.message' })).toEqual({ kind: 'not-encrypted' });
    // The message in a different room than the session's: the library refuses it.
    expect(await receiver.decrypt(asEvent(message.content, '!other:localhost'))).toMatchObject({ kind: 'unable', reason: 'failed' });
    receiver.close();
  });
});

describe('parseRoomKeyContent', () => {
  const good = {
    algorithm: 'm.megolm.v1.aes-sha2', room_id: ROOM, sender_key: 'sk', session_id: 'sid', session_key: 'key',
    sender_claimed_keys: { ed25519: 'ed' }, forwarding_curve25519_key_chain: [],
  };

  it('room key protocol: accepts an exported session and names the bad field otherwise', () => {
    expect(parseRoomKeyContent({ tag: 't', room_key: good })).toEqual({ ok: true, value: good });
    const { forwarding_curve25519_key_chain: _chain, ...noChain } = good;
    expect(parseRoomKeyContent({ room_key: noChain })).toMatchObject({ ok: true, value: { forwarding_curve25519_key_chain: [] } });
    expect(parseRoomKeyContent({})).toEqual({ ok: false, error: '"room_key" must be an object' });
    expect(parseRoomKeyContent({ room_key: { ...good, algorithm: 'm.olm' } })).toMatchObject({ ok: false });
    expect(parseRoomKeyContent({ room_key: { ...good, session_key: '' } })).toEqual({ ok: false, error: '"room_key.session_key" must be a non-empty string' });
    expect(parseRoomKeyContent({ room_key: { ...good, sender_claimed_keys: { ed25519: 3 } } })).toMatchObject({ ok: false });
    expect(parseRoomKeyContent({ room_key: { ...good, forwarding_curve25519_key_chain: 'x' } })).toMatchObject({ ok: false });
    expect(parseRoomKeyContent({ room_key: [good] })).toMatchObject({ ok: false });
  });
});
