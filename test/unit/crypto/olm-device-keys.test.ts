// Other devices' keys from /keys/query and /keys/claim (src/crypto/olm-device-keys.ts): only self-signed keys of
// the user and device they are filed under are kept, and a device's ed25519 key may not change.
import { afterEach, describe, expect, it } from 'vitest';
import { claimedOneTimeKey, saveQueriedDevices, verifyDeviceKeys } from '../../../src/crypto/olm-device-keys';
import { signJson } from '../../../src/crypto/olm-account';
import { LibolmPeer, ourDevice } from './olm-fixture';

const peers: LibolmPeer[] = [];
afterEach(() => {
  for (const peer of peers.splice(0)) peer.free();
});

function newPeer(userId = '@alice:localhost', deviceId = 'ALICEDEVICE'): LibolmPeer {
  const peer = new LibolmPeer(userId, deviceId);
  peers.push(peer);
  return peer;
}

describe('olm device keys', () => {
  it('device keys: self-signed keys are saved; forged, foreign, misfiled or non-Olm ones are refused with a reason', async () => {
    const device = await ourDevice();
    const alice = newPeer();
    const mallory = newPeer('@mallory:localhost', 'MALLORY');
    const keys = alice.deviceKeys();
    // Alice's real keys filed under another device ID, without a signature or signed by Mallory's key.
    const unsignedAs = (deviceId: string) => ({
      algorithms: keys.algorithms,
      device_id: deviceId,
      keys: { [`curve25519:${deviceId}`]: alice.curve25519, [`ed25519:${deviceId}`]: alice.ed25519 },
      user_id: '@alice:localhost',
    });
    const forged = signJson(mallory.account, { userId: '@alice:localhost', deviceId: 'FORGED' }, unsignedAs('FORGED'));
    const response = {
      device_keys: {
        '@alice:localhost': {
          ALICEDEVICE: keys,
          UNSIGNED: unsignedAs('UNSIGNED'),
          MISFILED: keys,
          FORGED: forged,
        },
        '@carol:localhost': { ALICEDEVICE: keys },
        '@bob:localhost': { BOBDEVICE: keys },
      },
      failures: {},
    };
    const result = saveQueriedDevices(device.state, response, device.identity, 7);
    expect(result.saved).toEqual([{ userId: '@alice:localhost', deviceId: 'ALICEDEVICE', curve25519: alice.curve25519, ed25519: alice.ed25519, updatedAtMs: 7 }]);
    expect(result.rejected).toEqual([
      { userId: '@alice:localhost', deviceId: 'UNSIGNED', reason: 'device keys are not signed by the device' },
      { userId: '@alice:localhost', deviceId: 'MISFILED', reason: 'device keys name another user or device' },
      { userId: '@alice:localhost', deviceId: 'FORGED', reason: 'device keys are not signed by the device' },
      { userId: '@carol:localhost', deviceId: 'ALICEDEVICE', reason: 'device keys name another user or device' },
    ]);
    expect(device.state.deviceByCurve25519('@alice:localhost', alice.curve25519)).toMatchObject({ deviceId: 'ALICEDEVICE' });
    expect(verifyDeviceKeys('@alice:localhost', 'ALICEDEVICE', { ...keys, algorithms: ['m.megolm.v1.aes-sha2'] })).toEqual({
      ok: false,
      error: 'device does not support m.olm.v1.curve25519-aes-sha2',
    });
  });

  it('device keys: a known device whose ed25519 key changed is refused and the stored key stays', async () => {
    const device = await ourDevice();
    const alice = newPeer();
    saveQueriedDevices(device.state, { device_keys: { '@alice:localhost': { ALICEDEVICE: alice.deviceKeys() } }, failures: {} }, device.identity, 1);
    const replacement = newPeer();
    const result = saveQueriedDevices(device.state, { device_keys: { '@alice:localhost': { ALICEDEVICE: replacement.deviceKeys() } }, failures: {} }, device.identity, 2);
    expect(result.rejected).toEqual([{ userId: '@alice:localhost', deviceId: 'ALICEDEVICE', reason: 'the device ed25519 key changed' }]);
    expect(device.state.device('@alice:localhost', 'ALICEDEVICE')?.ed25519).toBe(alice.ed25519);
  });

  it('claimed keys: a signed one-time key is returned; a missing or unsigned one is an error value', () => {
    const alice = newPeer();
    const claim = alice.claimAnswer();
    const taken = claimedOneTimeKey(claim, alice.record());
    expect(taken.ok && taken.value.keyId).toMatch(/^signed_curve25519:/);
    expect(claimedOneTimeKey({ one_time_keys: {}, failures: {} }, alice.record())).toEqual({ ok: false, error: 'the claim returned no key for @alice:localhost ALICEDEVICE' });
    const other = newPeer('@alice:localhost', 'OTHER');
    expect(claimedOneTimeKey(claim, { ...other.record(), deviceId: 'ALICEDEVICE' }).ok).toBe(false);
  });
});
