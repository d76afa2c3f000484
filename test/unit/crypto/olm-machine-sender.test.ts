// The OlmMachine sender against the real homeserver: it publishes its own keys, finds the receiving device
// through /keys/query, claims a one-time key, shares Megolm keys as Olm-encrypted m.room_key and Olm-encrypts
// tagged to-device messages. The receiver is our own Olm core (keys published by publishKeys, decryption by the
// commit's decryptToDeviceBatch), so every assertion is about what crossed the server.
import { afterEach, describe, expect, it } from 'vitest';
import { signedDeviceKeys } from '../../../src/crypto/olm-account';
import { loadOlm, olm } from '../../../src/crypto/olm-library';
import { describeOlmSenderError, OlmMachineSender } from '../../../src/crypto/olm-machine-sender';
import type { MatrixClient, MatrixClientError } from '../../../src/engine/matrix-client';
import { deliveryTag } from '../../../src/shared/delivery-tag';
import { OlmReceiver } from '../../support/olm-receiver';
import { tempStore } from '../store/temp-store';
import { startFixture } from '../engine/homeserver-fixture';

const senders: Array<OlmMachineSender<MatrixClientError>> = [];
afterEach(() => {
  for (const sender of senders.splice(0)) sender.close();
});

async function senderFor(client: MatrixClient): Promise<OlmMachineSender<MatrixClientError>> {
  const me = await client.whoami();
  if (!me.ok || me.value.deviceId === undefined) throw new Error('whoami failed');
  const created = await OlmMachineSender.create({ userId: me.value.userId, deviceId: me.value.deviceId, transport: client });
  if (!created.ok) throw new Error(describeOlmSenderError(created.error, (error) => error.kind));
  senders.push(created.value);
  return created.value;
}

describe('OlmMachineSender through the homeserver', () => {
  it('olm sender: a room key arrives only as Olm m.room_key, tagged room-key:<session_id>, and unlocks the Megolm message', async () => {
    const fixture = await startFixture();
    const receiver = await OlmReceiver.create(fixture.receiver.client, tempStore());
    const sender = await senderFor(fixture.sender.client);
    const room = await fixture.sender.client.createRoom({ invite: [receiver.userId] });
    if (!room.ok) throw new Error('createRoom failed');
    const recipient = { userId: receiver.userId, deviceId: receiver.deviceId };

    const message = await sender.encryptRoomMessage(room.value.roomId, recipient, 'm.room.message', { msgtype: 'm.text', body: 'first' });
    if (!message.ok) throw new Error(describeOlmSenderError(message.error, (error) => error.kind));
    expect(message.value.keyTag).toBe(`room-key:${message.value.sessionId}`);
    const [row] = await receiver.receive(1);
    expect(row?.type).toBe('m.room_key');
    expect(row?.decryptionError).toBeUndefined();
    expect(row?.encryption).toMatchObject({ algorithm: 'm.olm.v1.curve25519-aes-sha2', sender_key: sender.curve25519Key });
    expect(deliveryTag(row?.type ?? '', row?.content ?? {})).toBe(message.value.keyTag);

    const sent = await fixture.sender.client.sendRoomEvent(room.value.roomId, message.value.type, 'olm-sender-1', message.value.content);
    if (!sent.ok) throw new Error('send failed');
    await fixture.receiver.client.joinRoom(room.value.roomId);
    const event = await fixture.receiver.client.getEvent(room.value.roomId, sent.value.eventId);
    if (!event.ok) throw new Error('getEvent failed');
    expect(await receiver.decryptRoomEvent(event.value)).toEqual({
      kind: 'decrypted',
      sessionId: message.value.sessionId,
      type: 'm.room.message',
      content: { msgtype: 'm.text', body: 'first' },
    });

    // The next message starts a new session on the same Olm session (no new claim); a withheld key sends nothing.
    const second = await sender.encryptRoomMessage(room.value.roomId, recipient, 'm.room.message', { msgtype: 'm.text', body: 'second' });
    const withheld = await sender.encryptRoomMessage(room.value.roomId, recipient, 'm.room.message', { msgtype: 'm.text', body: 'third' }, { withholdKey: true });
    const fourth = await sender.encryptRoomMessage(room.value.roomId, recipient, 'm.room.message', { msgtype: 'm.text', body: 'fourth' });
    if (!second.ok || !withheld.ok || !fourth.ok) throw new Error('encryptRoomMessage failed');
    expect(new Set([message.value.sessionId, second.value.sessionId, withheld.value.sessionId, fourth.value.sessionId]).size).toBe(4);
    expect(withheld.value.keyTag).toBeNull();
    const rows = await receiver.receive(2);
    expect(rows.map((one) => [one.type, one.decryptionError, deliveryTag(one.type, one.content)])).toEqual([
      ['m.room_key', undefined, second.value.keyTag],
      ['m.room_key', undefined, fourth.value.keyTag],
    ]);
    // The only to-device events for the receiver were the room keys: the withheld one was never sent.
    expect((await fixture.admin.inspectDevice(receiver.userId, receiver.deviceId)).queued.map((event) => event.type)).toEqual(['m.room.encrypted', 'm.room.encrypted']);
  });

  it('olm sender: a tagged to-device message is Olm-encrypted, and decrypts to its type and tag', async () => {
    const fixture = await startFixture();
    const receiver = await OlmReceiver.create(fixture.receiver.client, tempStore());
    const sender = await senderFor(fixture.sender.client);
    const recipient = { userId: receiver.userId, deviceId: receiver.deviceId };
    for (const n of [1, 2, 3]) {
      const content = await sender.encryptToDevice(recipient, 'org.todevice.demo', { tag: `run-${n}`, sent_at_ms: n });
      if (!content.ok) throw new Error(describeOlmSenderError(content.error, (error) => error.kind));
      expect(content.value).toMatchObject({ algorithm: 'm.olm.v1.curve25519-aes-sha2' });
      expect(JSON.stringify(content.value)).not.toContain(`run-${n}`);
      const sent = await fixture.sender.client.sendToDevice('m.room.encrypted', `enc-${n}`, { [recipient.userId]: { [recipient.deviceId]: content.value } });
      expect(sent.ok).toBe(true);
    }
    const rows = await receiver.receive(3);
    expect(rows.map((row) => [row.type, row.decryptionError, deliveryTag(row.type, row.content)])).toEqual([
      ['org.todevice.demo', undefined, 'run-1'],
      ['org.todevice.demo', undefined, 'run-2'],
      ['org.todevice.demo', undefined, 'run-3'],
    ]);
  });

  it('olm sender: a device that published no keys gets a clear error and nothing is sent; once it publishes, it is found', async () => {
    const fixture = await startFixture();
    const receiver = await OlmReceiver.create(fixture.receiver.client, tempStore(), { publish: false });
    const sender = await senderFor(fixture.sender.client);
    const recipient = { userId: receiver.userId, deviceId: receiver.deviceId };
    const room = await fixture.sender.client.createRoom({});
    if (!room.ok) throw new Error('createRoom failed');

    const message = await sender.encryptRoomMessage(room.value.roomId, recipient, 'm.room.message', { body: 'x' });
    const toDevice = await sender.encryptToDevice(recipient, 'org.todevice.demo', { tag: 't' });
    expect(message.ok ? message.value : message.error).toEqual({ kind: 'recipient-has-no-keys', ...recipient });
    expect(toDevice.ok ? toDevice.value : toDevice.error).toEqual({ kind: 'recipient-has-no-keys', ...recipient });
    if (!message.ok) expect(describeOlmSenderError(message.error, () => '')).toContain('has published no encryption keys');
    expect((await fixture.admin.inspectDevice(receiver.userId, receiver.deviceId)).queued).toEqual([]);

    await receiver.publish();
    const later = await sender.encryptToDevice(recipient, 'org.todevice.demo', { tag: 't' });
    expect(later.ok).toBe(true);
  });

  it('olm sender: a device with device keys but no one-time or fallback key to claim is no-olm-session, and nothing is sent', async () => {
    const fixture = await startFixture();
    await loadOlm();
    const account = new (olm().Account)();
    account.create();
    const recipient = { userId: fixture.receiver.userId, deviceId: fixture.receiver.deviceId };
    const uploaded = await fixture.receiver.client.uploadKeys({ device_keys: signedDeviceKeys(account, recipient) });
    account.free();
    expect(uploaded.ok).toBe(true);
    const sender = await senderFor(fixture.sender.client);
    const room = await fixture.sender.client.createRoom({});
    if (!room.ok) throw new Error('createRoom failed');

    const message = await sender.encryptRoomMessage(room.value.roomId, recipient, 'm.room.message', { body: 'x' });
    const toDevice = await sender.encryptToDevice(recipient, 'org.todevice.demo', { tag: 't' });
    expect(message.ok ? message.value : message.error).toMatchObject({ kind: 'no-olm-session', ...recipient });
    expect(toDevice.ok ? toDevice.value : toDevice.error).toMatchObject({ kind: 'no-olm-session', ...recipient });
    expect((await fixture.admin.inspectDevice(recipient.userId, recipient.deviceId)).queued).toEqual([]);
  });
});
