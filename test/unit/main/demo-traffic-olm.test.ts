// The demo sender with Olm key sharing against the real homeserver: a room message sent before the app's device
// published its keys waits for them and then shares the key over Olm; a device that never publishes gets the
// clear error once the wait is over, and nothing is sent to it.
import { describe, expect, it } from 'vitest';
import { DemoTraffic, describeTrafficError } from '../../../src/main/host/demo-traffic';
import { OlmReceiver } from '../../support/olm-receiver';
import { startFixture } from '../engine/homeserver-fixture';
import { tempStore } from '../store/temp-store';

describe('demo traffic with Olm', () => {
  it('demo sender (olm): a room message waits for the device to publish its keys, then its key arrives as Olm m.room_key', async () => {
    const fixture = await startFixture();
    const receiver = await OlmReceiver.create(fixture.receiver.client, tempStore(), { publish: false });
    const room = await fixture.sender.client.createRoom({ invite: [receiver.userId] });
    if (!room.ok) throw new Error('createRoom failed');
    const traffic = new DemoTraffic(fixture.sender.client, { userId: receiver.userId, deviceId: receiver.deviceId });
    try {
      const sending = traffic.sendRoomMessage(room.value.roomId, 'hello');
      await receiver.publish();
      const sent = await sending;
      if (!sent.ok) throw new Error(describeTrafficError(sent.error));
      expect(sent.value.keyTag).toBe(`room-key:${sent.value.sessionId}`);
      const rows = await receiver.receive(1);
      expect(rows.map((row) => [row.type, row.decryptionError])).toEqual([['m.room_key', undefined]]);
    } finally {
      traffic.close();
    }
  });

  it('demo sender (olm): a device that never publishes keys is a clear encryption error after the wait', async () => {
    const fixture = await startFixture();
    const room = await fixture.sender.client.createRoom({});
    if (!room.ok) throw new Error('createRoom failed');
    const recipient = { userId: fixture.receiver.userId, deviceId: fixture.receiver.deviceId };
    const traffic = new DemoTraffic(fixture.sender.client, recipient, { keysWaitMs: 300 });
    try {
      const sent = await traffic.sendRoomMessage(room.value.roomId, 'hello');
      expect(sent.ok ? sent.value : sent.error).toMatchObject({ kind: 'encryption', reason: 'recipient-has-no-keys' });
      if (!sent.ok) expect(describeTrafficError(sent.error)).toContain('has published no encryption keys');
      expect((await fixture.admin.inspectDevice(recipient.userId, recipient.deviceId)).queued).toEqual([]);
    } finally {
      traffic.close();
    }
  });
});
