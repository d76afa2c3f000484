// Wedged-session recovery (src/crypto/olm-unwedge.ts): a device whose messages fail with a session error gets an
// encrypted m.dummy on a new session, at most once an hour, and its next messages decrypt on that session.
import { afterEach, describe, expect, it } from 'vitest';
import { decryptToDeviceBatch } from '../../../src/crypto/olm-decrypt';
import { createUnwedgingDummy, devicesToUnwedge, keysClaimForUnwedging, UNWEDGING_INTERVAL_MS } from '../../../src/crypto/olm-unwedge';
import type { ToDeviceEvent } from '../../../src/shared/wire';
import { olmOutcomeCounts } from '../../../src/store/olm-bookkeeping';
import { olmSessionsFor } from '../../../src/store/olm-sessions';
import { LibolmPeer, olmPickles, ourDevice, type OurDevice } from './olm-fixture';

const peers: LibolmPeer[] = [];
afterEach(() => {
  for (const peer of peers.splice(0)) peer.free();
});

function decrypt(device: OurDevice, events: ToDeviceEvent[], nowMs: number) {
  return decryptToDeviceBatch({ state: device.state, pickleKey: device.pickleKey, identity: device.identity, nowMs }, events);
}

/** A peer whose session with us we lost: its normal messages fail with no-session. */
async function wedgedPeer(): Promise<{ device: OurDevice; peer: LibolmPeer }> {
  const device = await ourDevice();
  const peer = new LibolmPeer();
  peers.push(peer);
  peer.makeKnownTo(device.store);
  // The peer's session was made with a key we never had (say, a one-time key a legacy write-back lost).
  const elsewhere = await ourDevice();
  peer.startSession(device.identity, elsewhere.server.claim());
  expect(decrypt(device, [peer.encrypt(device.identity, 'm.test', { n: 1 })], 10_000)[0]).toMatchObject({ decryptionError: 'one-time-key-gone' });
  return { device, peer };
}

describe('olm unwedging', () => {
  it('unwedge: a failing device gets an m.dummy on a new session, and its next messages decrypt on it', async () => {
    const { device, peer } = await wedgedPeer();
    const due = devicesToUnwedge(device.state, 20_000);
    expect(due.map((record) => record.deviceId)).toEqual([peer.deviceId]);
    expect(keysClaimForUnwedging(due)).toEqual({ one_time_keys: { [peer.userId]: { [peer.deviceId]: 'signed_curve25519' } }, timeout: 10_000 });

    const made = createUnwedgingDummy({ state: device.state, pickleKey: device.pickleKey, identity: device.identity, nowMs: 20_000 }, peer.curve25519, peer.claimAnswer());
    if (!made.ok) throw new Error(made.error.kind);
    expect(made.value).toMatchObject({ userId: peer.userId, deviceId: peer.deviceId, content: { algorithm: 'm.olm.v1.curve25519-aes-sha2', sender_key: device.identity.curve25519 } });
    expect(peer.receive(device.identity, made.value.content)).toMatchObject({
      type: 'm.dummy',
      content: {},
      sender: device.identity.userId,
      recipient: peer.userId,
      recipient_keys: { ed25519: peer.ed25519 },
      keys: { ed25519: device.identity.ed25519 },
    });
    expect(olmSessionsFor(device.store, peer.curve25519).map((session) => session.sessionId)).toEqual([made.value.sessionId]);

    // The peer answers on the session the dummy started (a normal message now).
    expect(decrypt(device, [peer.encrypt(device.identity, 'm.test', { n: 2 })], 21_000)[0]).toMatchObject({ content: { n: 2 } });
    expect(olmOutcomeCounts(device.store)).toMatchObject({ 'dummy-sent': 1, decrypted: 1 });
  });

  it('unwedge: at most one dummy per device per hour, measured from the newest session with it', async () => {
    const { device, peer } = await wedgedPeer();
    const context = (nowMs: number) => ({ state: device.state, pickleKey: device.pickleKey, identity: device.identity, nowMs });
    expect(createUnwedgingDummy(context(20_000), peer.curve25519, peer.claimAnswer()).ok).toBe(true);
    const second = createUnwedgingDummy(context(20_001), peer.curve25519, peer.claimAnswer());
    expect(second).toEqual({ ok: false, error: { kind: 'not-due', nextAtMs: 20_000 + UNWEDGING_INTERVAL_MS } });

    // The peer never saw the dummy and keeps using its broken session: failures, but no second dummy within the hour.
    decrypt(device, [peer.encrypt(device.identity, 'm.test', { n: 3 })], 30_000);
    expect(devicesToUnwedge(device.state, 30_000)).toEqual([]);
    expect(devicesToUnwedge(device.state, 20_000 + UNWEDGING_INTERVAL_MS + 1).map((record) => record.deviceId)).toEqual([peer.deviceId]);
    expect(olmOutcomeCounts(device.store)['dummy-sent']).toBe(1);
  });

  it('unwedge: a claimed key the device did not sign is refused and nothing is stored', async () => {
    const { device, peer } = await wedgedPeer();
    const claim = peer.claimAnswer();
    const keys = claim.one_time_keys[peer.userId]?.[peer.deviceId] ?? {};
    const [id, key] = Object.entries(keys)[0] ?? [];
    if (id === undefined) throw new Error('no key');
    const forged = { ...claim, one_time_keys: { [peer.userId]: { [peer.deviceId]: { [id]: { ...(key as object), key: device.identity.curve25519 } } } } };
    const before = olmPickles(device.store);
    const made = createUnwedgingDummy({ state: device.state, pickleKey: device.pickleKey, identity: device.identity, nowMs: 20_000 }, peer.curve25519, forged);
    expect(made.ok === false && made.error.kind).toBe('bad-claim');
    expect(olmPickles(device.store)).toEqual(before);
    expect(devicesToUnwedge(device.state, 20_000)).toHaveLength(1);
  });
});
