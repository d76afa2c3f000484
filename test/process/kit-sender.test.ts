// The kit's sender, accounts and faults against a real `todevice serve`: concurrent sends from one device keep
// their order, Megolm room messages go out after their Olm-encrypted keys, encrypted to-device messages keep
// their tags inside the ciphertext, and bad input is a one-line error.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MatrixClient } from '../../src/engine/matrix-client';
import { createKit, type Kit } from '../../src/kit/kit';
import type { KitDevice } from '../../src/kit/kit-accounts';
import { matrixRequest } from '../../src/kit/kit-http';
import { deliveryTag, roomKeyTag } from '../../src/shared/delivery-tag';
import type { RoomEvent } from '../../src/shared/wire';
import { OlmReceiver } from '../support/olm-receiver';
import { tempStore } from '../unit/store/temp-store';

let kit: Kit;

beforeAll(async () => {
  kit = await createKit({ seed: 3, homeserver: { db: 'memory', requestLog: false } });
});

afterAll(async () => {
  await kit.close();
});

/** Our own client for a kit device, so a test can receive as that device with todevice's Olm core. */
function clientOf(device: KitDevice): MatrixClient {
  return new MatrixClient({ baseUrl: device.homeserverUrl }).withAccessToken(device.accessToken);
}

describe('kit sender and accounts', () => {
  it('kit sender: two concurrent calls from one device are sent one after the other, in call order', async () => {
    const { alice, bob } = await kit.accounts.register({ alice: ['WEB', 'PHONE'], bob: 'SENDER' });
    expect(Object.keys(alice.devices)).toEqual(['WEB', 'PHONE']);
    const [first, second] = await Promise.all([
      kit.sender.toDevice(bob.device, alice.devices.WEB!, { count: 3 }),
      kit.sender.toDevice(bob.device, alice.devices.WEB!, { count: 3, type: 'org.example.other', content: (n) => ({ n }) }),
    ]);
    expect(first).toEqual(['s0-1', 's0-2', 's0-3']);
    expect(second).toEqual(['s0-4', 's0-5', 's0-6']);
    const inspection = await kit.homeserver.inspect(alice.devices.WEB!);
    expect(inspection.queued.map((row) => row.tag)).toEqual([...first, ...second]);
    expect(inspection.queued.map((row) => row.type)).toEqual([...Array(3).fill('org.todevice.test'), ...Array(3).fill('org.example.other')]);
    expect((await kit.homeserver.inspect(alice.devices.PHONE!)).accepted).toBe(0);
  });

  it('kit sender: each Megolm room message goes out after its Olm-encrypted key reached every recipient device', async () => {
    const { carol, dave } = await kit.accounts.register({ carol: ['WEB', 'PHONE'], dave: 'SENDER' });
    const web = await OlmReceiver.create(clientOf(carol.devices.WEB!), tempStore());
    const phone = await OlmReceiver.create(clientOf(carol.devices.PHONE!), tempStore());
    const roomId = await kit.accounts.createRoom(dave.device, [carol.device]);
    const recipients = [carol.devices.WEB!, carol.devices.PHONE!];
    const sent = await kit.sender.roomMessages(dave.device, roomId, recipients, { count: 2 });
    expect(new Set(sent.map((message) => message.sessionId)).size).toBe(2);
    for (const message of sent) expect(message.keyTags).toEqual([roomKeyTag(message.sessionId), roomKeyTag(message.sessionId)]);
    const keyLog = kit.sender.sent().filter((message) => message.kind === 'room-key' && message.to.userId === carol.userId);
    // One share per room message, to both devices (in the order the crypto library put them in its request).
    expect(keyLog.map((message) => [message.tag, message.type, message.encrypted])).toEqual(
      sent.flatMap((message) => Array(2).fill([roomKeyTag(message.sessionId), 'm.room_key', true])),
    );
    for (const pair of [keyLog.slice(0, 2), keyLog.slice(2)]) expect(pair.map((message) => message.to.deviceId).sort()).toEqual(['PHONE', 'WEB']);
    // On the wire only ciphertext: the server sees no tag, and its rows match the logged digests.
    const queued = (await kit.homeserver.inspect(carol.devices.WEB!)).queued;
    expect(queued.map((row) => [row.type, row.tag])).toEqual([
      ['m.room.encrypted', undefined],
      ['m.room.encrypted', undefined],
    ]);
    expect(queued.map((row) => row.ciphertextDigest)).toEqual(keyLog.filter((message) => message.to.deviceId === 'WEB').map((message) => message.ciphertextDigest));
    expect((await kit.oracle.judge([], { recipient: carol.devices.WEB! })).pending).toEqual(sent.map((message) => roomKeyTag(message.sessionId)));

    // Both devices decrypt the keys and, with them, the messages.
    for (const receiver of [web, phone]) {
      const rows = await receiver.receive(2);
      expect(rows.map((row) => [row.type, row.decryptionError ?? null, deliveryTag(row.type, row.content)])).toEqual(
        sent.map((message) => ['m.room_key', null, roomKeyTag(message.sessionId)]),
      );
    }
    for (const [i, message] of sent.entries()) {
      const event = await matrixRequest(carol.device.homeserverUrl, 'GET', `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/event/${encodeURIComponent(message.eventId)}`, {
        accessToken: carol.device.accessToken,
      });
      expect(event.type).toBe('m.room.encrypted');
      expect(event.content).toMatchObject({ algorithm: 'm.megolm.v1.aes-sha2', session_id: message.sessionId });
      expect(await web.decryptRoomEvent(event as unknown as RoomEvent)).toMatchObject({ content: { body: `message ${i + 1}` } });
    }
  });

  it('kit sender: encrypted to-device messages carry their tag inside the Olm payload; the oracle tells queued from deleted by ciphertext', async () => {
    const { hana, ivan } = await kit.accounts.register({ hana: 'WEB', ivan: 'SENDER' });
    const receiver = await OlmReceiver.create(clientOf(hana.device), tempStore());
    const tags = await kit.sender.toDevice(ivan.device, hana.device, { count: 3, encrypted: true, content: (n) => ({ n }) });
    const queued = (await kit.homeserver.inspect(hana.device)).queued;
    expect(queued.map((row) => [row.type, row.tag])).toEqual(Array(3).fill(['m.room.encrypted', undefined]));
    expect((await kit.oracle.judge([], { recipient: hana.device })).pending).toEqual(tags);

    const rows = await receiver.receive(3);
    expect(rows.map((row) => [row.type, row.content.n, deliveryTag(row.type, row.content)])).toEqual(tags.map((tag, i) => ['org.todevice.test', i + 1, tag]));
    // The receiver acknowledged them by syncing once more: nothing queued, so a tag never reported is lost.
    await receiver.acknowledge();
    const verdict = await kit.oracle.judge(tags.slice(0, 2), { recipient: hana.device });
    expect(verdict.lost).toEqual([tags[2]]);
    expect(verdict.pending).toEqual([]);
  });

  it('kit: bad input is a one-line error', async () => {
    const { erin } = await kit.accounts.register({ erin: 'WEB' });
    await expect(kit.accounts.register({ Erin: 'WEB' })).rejects.toThrow('todevice kit: "Erin" is not a valid localpart ([a-z0-9._=/-])');
    await expect(kit.accounts.register({ frank: [] })).rejects.toThrow('todevice kit: user "frank" needs at least one device');
    await expect(kit.accounts.addDevice(erin, 'no spaces')).rejects.toThrow('todevice kit: "no spaces" is not a valid device ID ([A-Za-z0-9_.-])');
    expect(() => kit.homeserver.faults.dropResponses(erin.device, { count: 0 })).toThrow('todevice kit: count must be a positive integer, got 0');
    expect(() => kit.homeserver.faults.failRequests(erin.device, 503 as 500)).toThrow('todevice kit: failRequests status must be 429 or 500, got 503');
    expect(() => kit.sender.toDevice(erin.device, erin.device, { count: 1.5 })).toThrow('todevice kit: count must be a positive integer, got 1.5');
    const { startKitHomeserver } = await import('../../src/kit/kit-homeserver');
    await expect(startKitHomeserver(kit.run, { compat: 'dendrite' as 'synapse' })).rejects.toThrow('todevice kit: homeserver compat must be "todevice" or "synapse", got "dendrite"');
  });

  it('kit homeserver: faults land in the timeline and are listed until consumed; a synapse-compat server starts', async () => {
    const { gina } = await kit.accounts.register({ gina: 'WEB' });
    await kit.homeserver.faults.delayResponses(gina.device, 250, { count: 2 });
    await kit.homeserver.faults.holdKeysUpload(gina.device, 1000);
    expect(await kit.homeserver.faults.pending()).toEqual([
      { userId: gina.userId, deviceId: 'WEB', fault: { kind: 'delay', count: 2, endpoint: 'sync', delay_ms: 250 } },
      { userId: gina.userId, deviceId: 'WEB', fault: { kind: 'delay', count: 1, endpoint: 'keys/upload', delay_ms: 1000 } },
    ]);
    expect(kit.run.timeline.map((event) => event.detail)).toContain(`hold the next 1 /keys/upload response(s) 1000 ms for ${gina.userId}/WEB`);
    await kit.homeserver.faults.clear();
    expect(await kit.homeserver.faults.pending()).toEqual([]);
    const synapse = await createKit({ seed: 4, homeserver: { db: 'memory', compat: 'synapse', requestLog: false } });
    try {
      expect(synapse.homeserver.compat).toBe('synapse');
      expect(synapse.run.timeline[0]?.detail).toMatch(/^todevice serve --compat synapse started at http:\/\/127\.0\.0\.1:\d+ \(pid \d+\)$/);
    } finally {
      await synapse.close();
    }
  });
});
