// The race harness's traffic with Olm key sharing, against the real homeserver: each sender's OlmMachine shares
// every room key as an Olm m.room_key, the accepted order (counted tags and room-key tags) is what the receiver
// decrypts, and the oracle, fed the receiver's rows, finds every key exactly once.
import { describe, expect, it } from 'vitest';
import { judge } from '../../src/harness/oracle';
import { Traffic } from '../../src/harness/traffic';
import { deliveryTag } from '../../src/shared/delivery-tag';
import { OlmReceiver } from '../support/olm-receiver';
import { startFixture } from '../unit/engine/homeserver-fixture';
import { tempStore } from '../unit/store/temp-store';

describe('traffic with Olm key sharing', () => {
  it('traffic (olm): room keys are Olm m.room_key tagged room-key:<session_id>, in the accepted order, each decrypted once', async () => {
    const fixture = await startFixture();
    const receiver = await OlmReceiver.create(fixture.receiver.client, tempStore());
    const room = await fixture.sender.client.createRoom({ invite: [receiver.userId] });
    if (!room.ok) throw new Error('createRoom failed');
    await fixture.receiver.client.joinRoom(room.value.roomId);
    const sender = { client: fixture.sender.client, userId: fixture.sender.userId, deviceId: 'SENDER' };
    const traffic = new Traffic([sender], { userId: receiver.userId, deviceId: receiver.deviceId }, room.value.roomId);
    try {
      const plan = (['to-device', 'room', 'to-device', 'room', 'room', 'to-device'] as const).map((kind) => ({ atMs: 0, sender: 0, kind }));
      await traffic.play(plan, Date.now(), new AbortController().signal);
    } finally {
      traffic.close();
    }
    expect(traffic.failures).toEqual([]);
    expect(traffic.roomEvents).toHaveLength(3);
    const tags = traffic.sent.bySender[0] ?? [];
    expect(tags).toEqual(['s0-1', ...traffic.roomEvents.slice(0, 1).map((e) => `room-key:${e.sessionId}`), 's0-2', ...traffic.roomEvents.slice(1).map((e) => `room-key:${e.sessionId}`), 's0-3']);

    const rows = await receiver.receive(6);
    expect(rows.filter((row) => row.type === 'm.room_key').every((row) => row.decryptionError === undefined && row.encryption !== undefined)).toBe(true);
    const handled = rows.map((row, index) => ({ seq: index + 1, tag: deliveryTag(row.type, row.content), sentAtMs: null, storedAtMs: null, handledAtMs: index }));
    expect(judge(traffic.sent, handled).totals).toEqual({ sent: 6, delivered: 6, lost: 0, duplicated: 0, reordered: 0 });
    for (const sent of traffic.roomEvents) {
      const event = await fixture.receiver.client.getEvent(room.value.roomId, sent.eventId);
      if (!event.ok) throw new Error('getEvent failed');
      expect(await receiver.decryptRoomEvent(event.value)).toMatchObject({ kind: 'decrypted', sessionId: sent.sessionId });
    }
  });
});
