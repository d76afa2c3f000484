// The device's Olm state wired into a real sync engine against the reference homeserver: keys published at start,
// an Olm m.room_key from a sender device first unknown, then known after /keys/query, decrypted and stored sealed,
// and the Megolm message it unlocks decrypted; a wrong pickle key is one line without the key.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createMegolmDecryptor } from '../../../src/crypto/megolm-decryptor';
import { PICKLE_KEY_FILE } from '../../../src/crypto/pickle-key';
import { isSealed } from '../../../src/crypto/secret-box';
import { loadOlm } from '../../../src/crypto/olm-library';
import { isOneTimeKeyConflict, ONE_TIME_KEYS_UPLOADED, openOlmDevice, RECOVERED_AFTER_QUERY, type OlmDevice, type OlmDeviceClient } from '../../../src/device/olm-device';
import { consumeInbox } from '../../../src/engine/consumer';
import { createProcessEngine } from '../../../src/engine/create-engine';
import type { Strategy } from '../../../src/engine/engine-types';
import { applyInboxEffects } from '../../../src/engine/inbox-effects';
import { listInbox } from '../../../src/store/inbox';
import { readOlmKeyCounts } from '../../../src/store/olm-account';
import { olmOutcomeCounts } from '../../../src/store/olm-bookkeeping';
import { olmSessionsFor } from '../../../src/store/olm-sessions';
import { readOlmStats } from '../../../src/store/olm-stats';
import type { ClientStore } from '../../../src/store/open-store';
import { roomKeysAfter } from '../../../src/store/room-keys';
import { startFixture, type Fixture } from '../engine/homeserver-fixture';
import { FakeKeysServer, LibolmPeer, OUR_DEVICE, OUR_USER } from '../crypto/olm-fixture';
import { tempStore } from '../store/temp-store';
import { HttpOlmSender } from './http-olm-sender';

const ROOM = '!olm-device:localhost';

async function receiverProcess(fixture: Fixture, store: ClientStore, strategy: Strategy): Promise<{ device: OlmDevice; engine: ReturnType<typeof createProcessEngine>['engine'] }> {
  const { receiver } = fixture;
  const opened = await openOlmDevice({ store, account: receiver, strategy, processName: 'main', log: () => undefined });
  if (!opened.ok) throw new Error(opened.error);
  const device = opened.value;
  const account = { homeserverUrl: fixture.url, userId: receiver.userId, deviceId: receiver.deviceId, accessToken: receiver.client.accessToken ?? '' };
  const { engine } = createProcessEngine({ store, account, processName: 'main', strategy, env: {}, olm: device.engineHooks(), tuning: { logEvents: false } });
  device.leaseHolder = () => engine.leaseHolder;
  return { device, engine };
}

function consumeAll(store: ClientStore, strategy: Strategy): void {
  consumeInbox({ store, consumer: 'main', strategy, processName: 'main', maxRows: 1000, handler: (row, db) => void applyInboxEffects(db, 'main', row, Date.now()) });
}

describe('the device Olm state in a process', () => {
  it('explicit-cas: publishes its keys at start, decrypts a room key from a device learnt by /keys/query, stores it sealed, and the Megolm message decrypts', async () => {
    const fixture = await startFixture();
    const store = tempStore();
    const { device, engine } = await receiverProcess(fixture, store, 'explicit-cas');
    expect(fs.statSync(path.join(path.dirname(store.path), PICKLE_KEY_FILE)).mode & 0o777).toBe(0o600);

    expect((await engine.syncUntilCaughtUp({ leaseWaitMs: 1000 })).kind).toBe('caught-up');
    const first = await device.maintain(fixture.receiver.client);
    expect(first.published).toBe('published');
    expect(olmOutcomeCounts(store)[ONE_TIME_KEYS_UPLOADED]).toBe(50);
    // The next sync's e2ee extension reports the server's count, which the device records.
    await fixture.send(1, 1);
    await engine.syncUntilCaughtUp({ leaseWaitMs: 1000 });
    expect(readOlmKeyCounts(store)?.oneTimeKeyCounts).toEqual({ signed_curve25519: 50 });
    // Our own upload changed our device list, so the device has a look for rows waiting on a device; none do.
    expect(await device.maintain(fixture.receiver.client)).toEqual({ queriedDevices: 0, decryptedAfterQuery: 0, dummiesSent: 0 });
    expect(device.due).toBe(false);

    const sender = await HttpOlmSender.create(fixture.sender.client, fixture.sender.userId, 'SENDER');
    await sender.startSession(fixture.receiver.userId, fixture.receiver.deviceId);
    const session = await sender.shareRoomKey(ROOM);
    await engine.syncUntilCaughtUp({ leaseWaitMs: 1000 });
    // The sender device was unknown when the key arrived: kept encrypted, nothing spent.
    expect(listInbox(store).map((row) => [row.type, row.decryptionError ?? null])).toEqual([['m.test', null], ['m.room.encrypted', 'unknown-device']]);
    const second = await device.maintain(fixture.receiver.client);
    expect(second).toMatchObject({ queriedDevices: 1, decryptedAfterQuery: 1 });
    const rows = listInbox(store);
    expect(rows.map((row) => row.type)).toEqual(['m.test', 'm.room.encrypted', 'm.room_key']);
    expect(rows[2]?.encryption).toMatchObject({ algorithm: 'm.olm.v1.curve25519-aes-sha2', sender_key: sender.peer.curve25519, sender_device_id: 'SENDER' });
    expect(isSealed(String(rows[2]?.content.session_key))).toBe(true);
    expect(rows[1]?.decryptionResolvedBySeq).toBe(rows[2]?.seq);

    // A second key from the now known device decrypts inside the commit.
    const later = await sender.shareRoomKey(ROOM);
    await engine.syncUntilCaughtUp({ leaseWaitMs: 1000 });
    expect(listInbox(store).at(-1)).toMatchObject({ type: 'm.room_key', content: { session_id: later.sessionId } });

    consumeAll(store, 'explicit-cas');
    const { keys } = roomKeysAfter(store, 0);
    expect(keys.map((key) => key.session_id).sort()).toEqual([session.sessionId, later.sessionId].sort());
    expect(keys.every((key) => isSealed(key.session_key))).toBe(true);
    const decryptor = await createMegolmDecryptor('rust-sdk', fixture.receiver.userId, fixture.receiver.deviceId, { pickleKey: device.pickleKey });
    try {
      expect(await decryptor.importKeys(keys)).toHaveLength(2);
      expect(await decryptor.decrypt(sender.megolmEvent(session, 'hello through Olm', '$m1'))).toMatchObject({ kind: 'decrypted', content: { body: 'hello through Olm' } });
    } finally {
      decryptor.close();
    }
    expect(olmOutcomeCounts(store)).toMatchObject({ decrypted: 2, 'unknown-device': 1, [RECOVERED_AFTER_QUERY]: 1 });
    sender.free();
  });

  it('explicit-lease: a process that does not hold the lease publishes nothing; the holder does', async () => {
    const fixture = await startFixture();
    const store = tempStore();
    const { device, engine } = await receiverProcess(fixture, store, 'explicit-lease');
    await engine.syncUntilCaughtUp({ leaseWaitMs: 1000 });
    // The drain released the lease when it caught up.
    expect((await device.maintain(fixture.receiver.client)).published).toBeUndefined();
    const controller = new AbortController();
    const running = engine.run(controller.signal);
    try {
      await expect.poll(async () => (await device.maintain(fixture.receiver.client)).published ?? 'not yet', { timeout: 10_000 }).toBe('published');
    } finally {
      controller.abort();
      await running;
    }
  });

  it('a pickle key that does not open the stored account is one line that holds no key', async () => {
    const fixture = await startFixture();
    const store = tempStore();
    await receiverProcess(fixture, store, 'explicit-cas');
    const keyFile = path.join(path.dirname(store.path), PICKLE_KEY_FILE);
    const otherKey = Buffer.alloc(32, 7).toString('base64');
    fs.writeFileSync(keyFile, `${otherKey}\n`, { mode: 0o600 });
    const opened = await openOlmDevice({ store, account: fixture.receiver, strategy: 'explicit-cas', processName: 'main' });
    expect(opened.ok).toBe(false);
    if (opened.ok) return;
    expect(opened.error).toMatch(/does not open with this pickle key/);
    expect(opened.error).not.toContain(otherKey);
    expect(opened.error.split('\n')).toHaveLength(1);
  });
});

describe('legacy: each process its own copy', () => {
  it('legacy: a process writes its copy back only after changing it, and then over what another process wrote (last writer wins)', async () => {
    await loadOlm();
    const store = tempStore();
    const account = { userId: OUR_USER, deviceId: OUR_DEVICE };
    const openAs = async (processName: string): Promise<OlmDevice> => {
      const opened = await openOlmDevice({ store, account, strategy: 'legacy', processName, log: () => undefined });
      if (!opened.ok) throw new Error(opened.error);
      return opened.value;
    };
    const server = new FakeKeysServer();
    const publisher = await openAs('main');
    expect((await publisher.publish(server as unknown as OlmDeviceClient)).kind).toBe('published');
    // Both processes load their copies now, with the published keys.
    const main = await openAs('main');
    const notifier = await openAs('notifier');
    const alice = new LibolmPeer();
    const bob = new LibolmPeer('@bob2:localhost', 'BOB2');
    alice.makeKnownTo(store);
    bob.makeKnownTo(store);
    alice.startSession(main.identity, server.claim());
    bob.startSession(main.identity, server.claim());
    const sessionsOf = (senderKey: string): number => olmSessionsFor(store, senderKey).length;

    const [fromAlice] = main.engineHooks().transformEvents([alice.encrypt(main.identity, 'm.dummy', {})], 2000);
    expect(fromAlice?.type).toBe('m.dummy');
    main.engineHooks().afterCommit(2000);
    expect(sessionsOf(alice.curve25519)).toBe(1);
    // The notifier changed nothing: it writes nothing, and main's session stays.
    notifier.engineHooks().afterCommit(2001);
    expect(sessionsOf(alice.curve25519)).toBe(1);
    // Once it decrypts something itself, its whole (older) copy goes back over main's.
    const [fromBob] = notifier.engineHooks().transformEvents([bob.encrypt(notifier.identity, 'm.dummy', {})], 2002);
    expect(fromBob?.type).toBe('m.dummy');
    notifier.engineHooks().afterCommit(2002);
    expect(sessionsOf(bob.curve25519)).toBe(1);
    expect(sessionsOf(alice.curve25519)).toBe(0);
    alice.free();
    bob.free();
  });
});

describe('wedged sessions', () => {
  it('a sender whose pre-key message finds its one-time key gone gets a new session and an m.dummy through the server, once; its next message decrypts', async () => {
    const fixture = await startFixture();
    const store = tempStore();
    let nowMs = Date.now();
    const clock = { nowMs: () => nowMs };
    const opened = await openOlmDevice({ store, account: fixture.receiver, strategy: 'explicit-cas', processName: 'main', clock, log: () => undefined });
    if (!opened.ok) throw new Error(opened.error);
    const device = opened.value;
    const account = { homeserverUrl: fixture.url, userId: fixture.receiver.userId, deviceId: fixture.receiver.deviceId, accessToken: fixture.receiver.client.accessToken ?? '' };
    const { engine } = createProcessEngine({ store, account, processName: 'main', strategy: 'explicit-cas', env: {}, olm: device.engineHooks(), tuning: { logEvents: false } });
    await engine.syncUntilCaughtUp({ leaseWaitMs: 1000 });
    expect((await device.maintain(fixture.receiver.client)).published).toBe('published');

    const sender = await HttpOlmSender.create(fixture.sender.client, fixture.sender.userId, 'SENDER');
    await sender.uploadOneTimeKeys(5);
    await sender.startSession(fixture.receiver.userId, fixture.receiver.deviceId);
    await sender.shareRoomKey(ROOM);
    await engine.syncUntilCaughtUp({ leaseWaitMs: 1000 });
    expect((await device.maintain(fixture.receiver.client)).decryptedAfterQuery).toBe(1);

    // The session is lost (as a legacy write-back loses it); the sender, which never heard from us, sends another
    // pre-key message for the one-time key that session already used.
    store.db.prepare('DELETE FROM olm_sessions').run();
    await sender.shareRoomKey(ROOM);
    await engine.syncUntilCaughtUp({ leaseWaitMs: 1000 });
    expect(listInbox(store).at(-1)).toMatchObject({ type: 'm.room.encrypted', decryptionError: 'one-time-key-gone' });
    expect(readOlmStats(store).wedgedDevices).toBe(1);

    nowMs += 60_000;
    expect((await device.maintain(fixture.receiver.client)).dummiesSent).toBe(1);
    // Rate-limited: no second dummy for the same failure.
    expect((await device.maintain(fixture.receiver.client)).dummiesSent).toBe(0);
    const queued = (await fixture.admin.inspectDevice(fixture.sender.userId, 'SENDER')).queued;
    expect(queued).toHaveLength(1);
    const dummy = queued[0];
    if (dummy === undefined) throw new Error('no dummy queued');
    expect(dummy.type).toBe('m.room.encrypted');
    expect(sender.peer.receive(device.identity, dummy.content)).toMatchObject({ type: 'm.dummy', sender: fixture.receiver.userId });

    // The sender now uses the dummy's session; its next key decrypts at commit.
    const after = await sender.shareRoomKey(ROOM);
    await engine.syncUntilCaughtUp({ leaseWaitMs: 1000 });
    expect(listInbox(store).at(-1)).toMatchObject({ type: 'm.room_key', content: { session_id: after.sessionId } });
    expect(readOlmStats(store)).toMatchObject({ recoveries: 1, wedgedDevices: 1 });
    sender.free();
  });
});

describe('one-time keys uploaded twice', () => {
  it('the server\'s 400 "One time key ... already exists" is told apart from every other upload failure', () => {
    const message = 'One time key signed_curve25519:AAAAAQ already exists. Old key: {"key":"a"}; new key: {"key":"b"}';
    expect(isOneTimeKeyConflict({ kind: 'http', status: 400, errcode: 'M_UNKNOWN', message })).toBe(true);
    expect(isOneTimeKeyConflict({ kind: 'http', status: 400, errcode: 'M_BAD_JSON', message: 'Device key must be an object' })).toBe(false);
    expect(isOneTimeKeyConflict({ kind: 'http', status: 500, message })).toBe(false);
    expect(isOneTimeKeyConflict({ kind: 'network', message: 'ECONNRESET' })).toBe(false);
  });
});
