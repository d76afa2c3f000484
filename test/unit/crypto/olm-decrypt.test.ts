// Olm to-device decryption (src/crypto/olm-decrypt.ts) against a libolm peer: the inbound session from a pre-key
// message, normal messages, and every way a message stays encrypted with its reason.
import { afterEach, describe, expect, it } from 'vitest';
import { createMegolmDecryptor } from '../../../src/crypto/megolm-decryptor';
import { decryptToDeviceBatch } from '../../../src/crypto/olm-decrypt';
import { olm } from '../../../src/crypto/olm-library';
import { PickleKey } from '../../../src/crypto/pickle-key';
import { isSealed, openSecret } from '../../../src/crypto/secret-box';
import { roomKeyFromOlmEvent } from '../../../src/shared/olm-room-key';
import { olmOutcomeCounts, readOlmWedged } from '../../../src/store/olm-bookkeeping';
import { olmSessionsFor } from '../../../src/store/olm-sessions';
import { LibolmPeer, olmPickles, OUR_DEVICE, OUR_USER, ourDevice, type OurDevice } from './olm-fixture';

const peers: LibolmPeer[] = [];
afterEach(() => {
  for (const peer of peers.splice(0)) peer.free();
});

function newPeer(userId?: string, deviceId?: string): LibolmPeer {
  const peer = new LibolmPeer(userId, deviceId);
  peers.push(peer);
  return peer;
}

/** The normal (type 1) Olm event with one byte of our ciphertext changed: its MAC no longer checks. */
function withFlippedByte(event: Parameters<typeof decryptToDeviceBatch>[1][number], ourKey: string): Parameters<typeof decryptToDeviceBatch>[1][number] {
  const ciphertext = (event.content.ciphertext as Record<string, { type: 0 | 1; body: string }>)[ourKey];
  if (ciphertext === undefined) throw new Error('no ciphertext');
  const flipped = ciphertext.body.slice(0, 20) + (ciphertext.body[20] === 'A' ? 'B' : 'A') + ciphertext.body.slice(21);
  return { ...event, content: { ...event.content, ciphertext: { [ourKey]: { type: 1, body: flipped } } } };
}

function decrypt(device: OurDevice, events: Parameters<typeof decryptToDeviceBatch>[1], nowMs = 2000) {
  return decryptToDeviceBatch({ state: device.state, pickleKey: device.pickleKey, identity: device.identity, nowMs }, events);
}

describe('olm decrypt', () => {
  it('olm: a pre-key message creates an inbound session, uses up its one-time key and decrypts to m.room_key', async () => {
    const device = await ourDevice();
    const peer = newPeer();
    peer.makeKnownTo(device.store);
    peer.startSession(device.identity, device.server.claim());
    const event = peer.encrypt(device.identity, 'm.room_key', { algorithm: 'm.megolm.v1.aes-sha2', room_id: '!r:x', session_id: 's', session_key: 'k' });
    const accountBefore = device.state.readAccount();

    const [row] = decrypt(device, [event]);
    expect(row).toEqual({
      type: 'm.room_key',
      sender: peer.userId,
      content: { algorithm: 'm.megolm.v1.aes-sha2', room_id: '!r:x', session_id: 's', session_key: 'k' },
      encryption: {
        algorithm: 'm.olm.v1.curve25519-aes-sha2',
        sender_key: peer.curve25519,
        session_id: expect.any(String),
        sender_device_id: peer.deviceId,
        sender_ed25519: peer.ed25519,
      },
    });
    expect(olmSessionsFor(device.store, peer.curve25519)).toHaveLength(1);
    const accountAfter = device.state.readAccount();
    expect(accountAfter?.version).toBe((accountBefore?.version ?? 0) + 1);
    expect(accountAfter?.pickle).not.toBe(accountBefore?.pickle);
    expect(olmOutcomeCounts(device.store)).toEqual({ decrypted: 1 });
  });

  it('olm: later pre-key and normal messages use the stored session, and a replay of either fails as replayed', async () => {
    const device = await ourDevice();
    const peer = newPeer();
    peer.makeKnownTo(device.store);
    peer.startSession(device.identity, device.server.claim());
    const first = peer.encrypt(device.identity, 'm.test', { n: 1 });
    const second = peer.encrypt(device.identity, 'm.test', { n: 2 });
    expect(decrypt(device, [first, second]).map((row) => row.content)).toEqual([{ n: 1 }, { n: 2 }]);
    expect(olmSessionsFor(device.store, peer.curve25519)).toHaveLength(1);

    // Our reply makes the peer switch to normal (type 1) messages.
    const session = olmSessionsFor(device.store, peer.curve25519)[0];
    expect(session?.messagesReceived).toBe(2);
    const normal = await replyAndReceiveNormal(device, peer);
    expect((normal.content.ciphertext as Record<string, { type: number }>)[device.identity.curve25519]?.type).toBe(1);
    expect(decrypt(device, [normal])[0]).toMatchObject({ type: 'm.test', content: { n: 3 } });

    const replays = decrypt(device, [first, normal]);
    expect(replays.map((row) => row.decryptionError)).toEqual(['replayed', 'replayed']);
    expect(replays[0]).toMatchObject({ type: 'm.room.encrypted', content: first.content });
    expect(olmOutcomeCounts(device.store)).toEqual({ decrypted: 3, replayed: 2 });
    // A replay is not a broken session: nothing to unwedge.
    expect(readOlmWedged(device.store, peer.curve25519)).toBeUndefined();
  });

  it('olm: a message delivered twice in one batch decrypts once and is replayed the second time; the batch is one hash run', async () => {
    const device = await ourDevice();
    const peer = newPeer();
    peer.makeKnownTo(device.store);
    peer.startSession(device.identity, device.server.claim());
    const first = peer.encrypt(device.identity, 'm.test', { n: 1 });
    const second = peer.encrypt(device.identity, 'm.test', { n: 2 });
    const rows = decrypt(device, [first, second, first]);
    expect(rows.map((row) => row.decryptionError ?? row.content)).toEqual([{ n: 1 }, { n: 2 }, 'replayed']);
    expect(olmOutcomeCounts(device.store)).toEqual({ decrypted: 2, replayed: 1 });
    expect(readOlmWedged(device.store, peer.curve25519)).toBeUndefined();
    // The two hashes went to the store as one row, at the end of the pass, and are found there by the next batch.
    expect(device.store.db.prepare('SELECT COUNT(*) AS n, SUM(length(hashes)) AS bytes FROM olm_message_hash_runs').get()).toEqual({ n: 1, bytes: 64 });
    expect(decrypt(device, [second])[0]?.decryptionError).toBe('replayed');
  });

  it('olm: a tampered normal message fails with bad-mac and leaves the session pickle untouched', async () => {
    const device = await ourDevice();
    const peer = newPeer();
    peer.makeKnownTo(device.store);
    peer.startSession(device.identity, device.server.claim());
    decrypt(device, [peer.encrypt(device.identity, 'm.test', { n: 1 })]);
    const normal = await replyAndReceiveNormal(device, peer);
    const tampered = withFlippedByte(normal, device.identity.curve25519);
    const before = olmPickles(device.store);

    expect(decrypt(device, [tampered])[0]).toMatchObject({ type: 'm.room.encrypted', decryptionError: 'bad-mac' });
    expect(olmPickles(device.store)).toEqual(before);
    expect(readOlmWedged(device.store, peer.curve25519)).toMatchObject({ reason: 'bad-mac', failures: 1, deviceId: peer.deviceId });
    // The genuine message still decrypts afterwards: the failed attempt did not advance anything.
    expect(decrypt(device, [normal])[0]).toMatchObject({ content: { n: 3 } });
  });

  it('olm: within one batch, a tampered message between good ones fails alone; the session keeps every success and is written once', async () => {
    const device = await ourDevice();
    const peer = newPeer();
    peer.makeKnownTo(device.store);
    peer.startSession(device.identity, device.server.claim());
    decrypt(device, [peer.encrypt(device.identity, 'm.test', { n: 1 })]);
    const third = await replyAndReceiveNormal(device, peer);
    const fourth = peer.encrypt(device.identity, 'm.test', { n: 4 });
    const fifth = peer.encrypt(device.identity, 'm.test', { n: 5 });
    const tampered = withFlippedByte(fourth, device.identity.curve25519);

    const rows = decrypt(device, [third, tampered, fourth, fifth]);
    expect(rows.map((row) => row.decryptionError ?? row.content.n)).toEqual([3, 'bad-mac', 4, 5]);
    expect(olmSessionsFor(device.store, peer.curve25519)[0]?.messagesReceived).toBe(4);
    // What the batch wrote is the ratchet after the fifth message: the next one decrypts from the stored pickle.
    expect(decrypt(device, [peer.encrypt(device.identity, 'm.test', { n: 6 })])[0]).toMatchObject({ content: { n: 6 } });
  });

  it('olm: a normal message from a device we have no session with is no-session', async () => {
    const device = await ourDevice();
    const peer = newPeer();
    peer.makeKnownTo(device.store);
    peer.startSession(device.identity, device.server.claim());
    const other = await ourDevice();
    peer.makeKnownTo(other.store);
    decrypt(device, [peer.encrypt(device.identity, 'm.test', { n: 1 })]);
    const normal = await replyAndReceiveNormal(device, peer);
    // The same ciphertext, addressed to another device of ours that never had a session with the peer.
    const lost = { ...normal, content: { ...normal.content, ciphertext: { [other.identity.curve25519]: Object.values(normal.content.ciphertext as object)[0] } } };
    expect(decrypt(other, [lost])[0]).toMatchObject({ decryptionError: 'no-session' });
  });

  it('olm: the payload must name us as recipient and the sender device as sender', async () => {
    const device = await ourDevice();
    const peer = newPeer();
    peer.makeKnownTo(device.store);
    peer.startSession(device.identity, device.server.claim());
    const rows = decrypt(device, [
      peer.encrypt(device.identity, 'm.test', { n: 1 }, { recipient: '@mallory:localhost' }),
      peer.encrypt(device.identity, 'm.test', { n: 2 }, { recipient_keys: { ed25519: peer.ed25519 } }),
      peer.encrypt(device.identity, 'm.test', { n: 3 }, { sender: '@mallory:localhost' }),
      peer.encrypt(device.identity, 'm.test', { n: 4 }, { keys: { ed25519: device.identity.ed25519 } }),
      peer.encrypt(device.identity, 'm.test', { n: 5 }),
    ]);
    expect(rows.map((row) => row.decryptionError ?? row.content)).toEqual(['wrong-recipient', 'wrong-recipient', 'wrong-sender', 'wrong-sender', { n: 5 }]);
    // The failed checks kept the session's progress: the fifth message decrypted on the same session.
    expect(olmSessionsFor(device.store, peer.curve25519)).toHaveLength(1);
  });

  it('olm: a message for another curve25519 key is wrong-recipient, a broken envelope malformed, other algorithms unsupported', async () => {
    const device = await ourDevice();
    const peer = newPeer();
    peer.makeKnownTo(device.store);
    peer.startSession(device.identity, device.server.claim());
    const event = peer.encrypt(device.identity, 'm.test', { n: 1 });
    const body = Object.values(event.content.ciphertext as object)[0] as { body: string };
    const rows = decrypt(device, [
      { ...event, content: { ...event.content, ciphertext: { someoneElse: body } } },
      { ...event, content: { ...event.content, sender_key: 7 } },
      { ...event, content: { ...event.content, ciphertext: { [device.identity.curve25519]: { type: 2, body: body.body } } } },
      { ...event, content: { algorithm: 'm.megolm.v1.aes-sha2', ciphertext: 'x' } },
      { ...event, content: { ...event.content, ciphertext: { [device.identity.curve25519]: { type: 0, body: 'not base64 !' } } } },
      { type: 'm.test.plain', sender: peer.userId, content: { tag: 'plain' } },
    ]);
    expect(rows.map((row) => row.decryptionError ?? row.type)).toEqual([
      'wrong-recipient',
      'malformed',
      'malformed',
      'unsupported-algorithm',
      'malformed',
      'm.test.plain',
    ]);
    // Nothing was decrypted, so the one-time key the peer claimed is still there for the real message.
    expect(decrypt(device, [event])[0]).toMatchObject({ content: { n: 1 } });
  });

  it('olm: an unknown sender device is kept encrypted without spending anything, and decrypts once the device is known', async () => {
    const device = await ourDevice();
    const peer = newPeer();
    peer.startSession(device.identity, device.server.claim());
    const event = peer.encrypt(device.identity, 'm.test', { n: 1 });
    const before = olmPickles(device.store);
    expect(decrypt(device, [event])[0]).toMatchObject({ type: 'm.room.encrypted', decryptionError: 'unknown-device' });
    expect(olmPickles(device.store)).toEqual(before);

    // A device with the same user but another curve25519 key does not match either.
    const impostor = newPeer(peer.userId, 'OTHER');
    impostor.makeKnownTo(device.store);
    expect(decrypt(device, [event])[0]).toMatchObject({ decryptionError: 'unknown-device' });

    peer.makeKnownTo(device.store);
    expect(decrypt(device, [event])[0]).toMatchObject({ type: 'm.test', content: { n: 1 } });
    expect(olmOutcomeCounts(device.store)).toEqual({ decrypted: 1, 'unknown-device': 2 });
  });

  it('olm: a pre-key message whose one-time key was used already is one-time-key-gone', async () => {
    const device = await ourDevice();
    const claim = device.server.claim();
    const peer = newPeer();
    peer.makeKnownTo(device.store);
    peer.startSession(device.identity, claim);
    decrypt(device, [peer.encrypt(device.identity, 'm.test', { n: 1 })]);
    // A second device claims the same key (a server that handed it out twice) and starts its own session.
    const second = newPeer('@carol:localhost', 'CAROLDEVICE');
    second.makeKnownTo(device.store);
    second.startSession(device.identity, claim);
    expect(decrypt(device, [second.encrypt(device.identity, 'm.test', { n: 2 })])[0]).toMatchObject({ decryptionError: 'one-time-key-gone' });
    expect(readOlmWedged(device.store, second.curve25519)).toMatchObject({ reason: 'one-time-key-gone' });
  });

  it('olm: the fallback key starts sessions once the one-time keys are gone, for any number of senders', async () => {
    const device = await ourDevice();
    while (device.server.oneTimeKeys.size > 0) device.server.claim();
    const claim = device.server.claim();
    expect(Object.values(claim.one_time_keys[device.identity.userId]?.[device.identity.deviceId] ?? {})[0]).toMatchObject({ fallback: true });
    const first = newPeer('@one:localhost', 'ONE');
    const second = newPeer('@two:localhost', 'TWO');
    for (const peer of [first, second]) {
      peer.makeKnownTo(device.store);
      peer.startSession(device.identity, claim);
    }
    const rows = decrypt(device, [first.encrypt(device.identity, 'm.test', { n: 1 }), second.encrypt(device.identity, 'm.test', { n: 2 })]);
    expect(rows.map((row) => row.content)).toEqual([{ n: 1 }, { n: 2 }]);
  });

  it('olm: with sealRoomKeys the row holds the session key sealed, and only a decryptor given the pickle key opens it', async () => {
    const device = await ourDevice();
    const peer = newPeer();
    peer.makeKnownTo(device.store);
    peer.startSession(device.identity, device.server.claim());
    const outbound = new (olm().OutboundGroupSession)();
    outbound.create();
    const room = '!sealed:localhost';
    const content = { algorithm: 'm.megolm.v1.aes-sha2', room_id: room, session_id: outbound.session_id(), session_key: outbound.session_key() };
    const ciphertext = outbound.encrypt(JSON.stringify({ type: 'm.room.message', content: { body: 'sealed' }, room_id: room }));
    const roomEvent = { event_id: '$s', room_id: room, type: 'm.room.encrypted', sender: peer.userId, origin_server_ts: 1, content: { algorithm: 'm.megolm.v1.aes-sha2', sender_key: peer.curve25519, device_id: peer.deviceId, ciphertext, session_id: outbound.session_id() } };
    outbound.free();

    const [row] = decryptToDeviceBatch({ state: device.state, pickleKey: device.pickleKey, identity: device.identity, nowMs: 2000, sealRoomKeys: true }, [
      peer.encrypt(device.identity, 'm.room_key', content),
    ]);
    if (row?.encryption === undefined) throw new Error('not decrypted');
    expect(isSealed(String(row.content.session_key))).toBe(true);
    expect(JSON.stringify(row)).not.toContain(content.session_key);
    const key = roomKeyFromOlmEvent(row.content, row.encryption);
    if (!key.ok) throw new Error(key.error);
    for (const implementation of ['libolm', 'rust-sdk'] as const) {
      const without = await createMegolmDecryptor(implementation, OUR_USER, OUR_DEVICE);
      expect(await without.importKeys([key.value])).toEqual([]);
      without.close();
      const other = await createMegolmDecryptor(implementation, OUR_USER, OUR_DEVICE, { pickleKey: PickleKey.generate() });
      expect(await other.importKeys([key.value])).toEqual([]);
      other.close();
      const decryptor = await createMegolmDecryptor(implementation, OUR_USER, OUR_DEVICE, { pickleKey: device.pickleKey });
      expect(await decryptor.importKeys([key.value])).toEqual([content.session_id]);
      expect(await decryptor.decrypt(roomEvent)).toMatchObject({ kind: 'decrypted', content: { body: 'sealed' } });
      decryptor.close();
    }
  });

  it('olm: in one batch every room key and forwarded room key is sealed, each opening in its own session only, and other events stay as sent', async () => {
    const device = await ourDevice();
    const peer = newPeer();
    peer.makeKnownTo(device.store);
    peer.startSession(device.identity, device.server.claim());
    const keyContent = (n: number) => ({ algorithm: 'm.megolm.v1.aes-sha2', room_id: '!batch:localhost', session_id: `session-${n}`, session_key: `megolm-key-${n}-${'k'.repeat(n * 7)}` });
    const events = [
      peer.encrypt(device.identity, 'm.room_key', keyContent(1)),
      peer.encrypt(device.identity, 'm.test', { n: 'not a key' }),
      peer.encrypt(device.identity, 'm.forwarded_room_key', keyContent(2)),
      peer.encrypt(device.identity, 'm.room_key', keyContent(3)),
      // Malformed (no session ID): of no use, but its key must not sit in clear either.
      peer.encrypt(device.identity, 'm.room_key', { algorithm: 'm.megolm.v1.aes-sha2', room_id: '!batch:localhost', session_key: 'megolm-key-orphan' }),
    ];
    const rows = decryptToDeviceBatch({ state: device.state, pickleKey: device.pickleKey, identity: device.identity, nowMs: 2000, sealRoomKeys: true }, events);
    expect(rows.map((row) => row.decryptionError)).toEqual([undefined, undefined, undefined, undefined, undefined]);
    expect(openSecret(device.pickleKey, String(rows[4]?.content.session_key), '')).toEqual({ ok: true, value: 'megolm-key-orphan' });
    for (const [index, n] of [[0, 1], [2, 2], [3, 3]] as const) {
      const sealed = String(rows[index]?.content.session_key);
      expect(isSealed(sealed)).toBe(true);
      expect(openSecret(device.pickleKey, sealed, `session-${n}`)).toEqual({ ok: true, value: keyContent(n).session_key });
      expect(openSecret(device.pickleKey, sealed, `session-${n === 3 ? 1 : 3}`)).toEqual({ ok: false, error: 'does-not-open' });
      expect(rows[index]?.content).toEqual({ ...keyContent(n), session_key: sealed });
    }
    expect(rows[1]?.content).toEqual({ n: 'not a key' });
    expect(JSON.stringify(rows)).not.toContain('megolm-key-');
  });
});

/** Our device answers the peer (so the peer's ratchet moves on) and the peer sends a normal message. */
async function replyAndReceiveNormal(device: OurDevice, peer: LibolmPeer) {
  const { encryptForDevice } = await import('../../../src/crypto/olm-encrypt');
  const { olm } = await import('../../../src/crypto/olm-library');
  const [record] = olmSessionsFor(device.store, peer.curve25519);
  if (record === undefined) throw new Error('no session to reply on');
  const session = new (olm().Session)();
  try {
    session.unpickle(device.pickleKey.forOlm(), record.pickle);
    const reply = encryptForDevice(session, device.identity, peer.record(), 'm.dummy', {});
    device.state.saveSession({ ...record, pickle: session.pickle(device.pickleKey.forOlm()), messagesSent: record.messagesSent + 1 });
    peer.receive(device.identity, reply);
  } finally {
    session.free();
  }
  return peer.encrypt(device.identity, 'm.test', { n: 3 });
}
