// The receiving device's first start before a race or bench case: its keys are on the server, an OlmMachine
// sender can share a key with it at once, and the device's own processes find the same account (same pickle key
// file, same identity) and decrypt that key.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { decryptToDeviceBatch } from '../../src/crypto/olm-decrypt';
import { saveQueriedDevices } from '../../src/crypto/olm-device-keys';
import { ensureOlmAccount } from '../../src/crypto/olm-keys';
import { OlmMachineSender } from '../../src/crypto/olm-machine-sender';
import { filePickleKeySource, PICKLE_KEY_FILE } from '../../src/crypto/pickle-key';
import { publishDeviceKeysAtFirstStart } from '../../src/harness/device-first-start';
import { openOlmState } from '../../src/store/olm-state';
import { startFixture } from '../unit/engine/homeserver-fixture';
import { reopen, tempStore } from '../unit/store/temp-store';

describe('device first start', () => {
  it('first start: the device publishes its keys, a sender shares a key at once, and another process of the device decrypts it', async () => {
    const fixture = await startFixture();
    const store = tempStore();
    const account = { homeserverUrl: fixture.url, userId: fixture.receiver.userId, deviceId: fixture.receiver.deviceId, accessToken: fixture.receiver.client.accessToken ?? '' };
    await publishDeviceKeysAtFirstStart(store, account);
    expect((fs.statSync(path.join(path.dirname(store.path), PICKLE_KEY_FILE)).mode & 0o777).toString(8)).toBe('600');
    const queried = await fixture.sender.client.queryKeys({ device_keys: { [account.userId]: [] } });
    expect(queried.ok && Object.keys(queried.value.device_keys[account.userId] ?? {})).toEqual([account.deviceId]);

    const me = await fixture.sender.client.whoami();
    if (!me.ok || me.value.deviceId === undefined) throw new Error('whoami failed');
    const sender = await OlmMachineSender.create({ userId: me.value.userId, deviceId: me.value.deviceId, transport: fixture.sender.client });
    if (!sender.ok) throw new Error(sender.error.kind);
    const room = await fixture.sender.client.createRoom({});
    if (!room.ok) throw new Error('createRoom failed');
    const shared = await sender.value.encryptRoomMessage(room.value.roomId, account, 'm.room.message', { body: 'x' });
    sender.value.close();
    expect(shared.ok).toBe(true);

    // Another process of the device: the same store file, the pickle key from the file beside it.
    const other = reopen(store);
    const key = await filePickleKeySource(path.dirname(other.path)).load();
    if (!key.ok) throw new Error(key.error.kind);
    const state = openOlmState(other);
    const identity = ensureOlmAccount(state, key.value, account, Date.now());
    if (!identity.ok) throw new Error(identity.error.message);
    const batch = await fixture.receiver.client.classicSync({ timeoutMs: 0 });
    if (!batch.ok) throw new Error('sync failed');
    const senders = await fixture.receiver.client.queryKeys({ device_keys: { [me.value.userId]: [] } });
    if (!senders.ok) throw new Error('keys/query failed');
    saveQueriedDevices(state, senders.value, identity.value, Date.now());
    const rows = decryptToDeviceBatch({ state, pickleKey: key.value, identity: identity.value, nowMs: Date.now() }, batch.value.events);
    expect(rows.map((row) => [row.type, row.decryptionError])).toEqual([['m.room_key', undefined]]);
  });
});
