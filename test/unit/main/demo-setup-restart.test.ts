// The demo world set up again on the same data directory and homeserver, as a second `todevice start` does: the
// desktop keeps its device, and the sender (whose Olm keys lived only in the previous host's memory) comes back
// as a new device whose key upload the homeserver accepts, so it can share room keys again.
import { describe, expect, it } from 'vitest';
import { DemoTraffic, describeTrafficError } from '../../../src/main/host/demo-traffic';
import { setUpDemoWorld } from '../../../src/main/host/demo-setup';
import { startFixture } from '../engine/homeserver-fixture';
import { tempStore } from '../store/temp-store';

describe('demo world on a used data directory', () => {
  it('demo setup: a second start keeps the desktop device and the sender publishes its keys again as a new device', async () => {
    const fixture = await startFixture();
    const store = tempStore();
    const senderDevices: Array<string | undefined> = [];
    const desktopDevices: string[] = [];
    for (let start = 1; start <= 2; start += 1) {
      const world = await setUpDemoWorld(store, fixture.url, 'url');
      const traffic = new DemoTraffic(world.sender, { userId: world.desktop.userId, deviceId: world.desktop.deviceId });
      try {
        const prepared = await traffic.prepare();
        expect(prepared.ok ? 'published' : describeTrafficError(prepared.error)).toBe('published');
      } finally {
        traffic.close();
      }
      const me = await world.sender.whoami();
      senderDevices.push(me.ok ? me.value.deviceId : undefined);
      desktopDevices.push(world.desktop.deviceId);
    }
    expect(desktopDevices[1]).toBe(desktopDevices[0]);
    expect(senderDevices[0]).toBeDefined();
    expect(senderDevices[1]).not.toBe(senderDevices[0]);
  });
});
