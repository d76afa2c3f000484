// The legacy habit (src/crypto/olm-memory-state.ts): two processes each load the Olm state when they start,
// decrypt with their own copy and write the whole copy back. What libolm actually does then, next to the same
// sequence through the shared store, where every pass reads and writes the state in its own transaction.
import { afterEach, describe, expect, it } from 'vitest';
import { decryptToDeviceBatch } from '../../../src/crypto/olm-decrypt';
import { encryptForDevice } from '../../../src/crypto/olm-encrypt';
import { publishKeys, recordKeyCounts } from '../../../src/crypto/olm-keys';
import { olm } from '../../../src/crypto/olm-library';
import { OlmMemoryState, type OlmSnapshotIo } from '../../../src/crypto/olm-memory-state';
import type { OlmStateStore } from '../../../src/shared/olm-state';
import type { KeysClaimResponse, KeysUploadRequest } from '../../../src/shared/olm-wire';
import type { ToDeviceEvent } from '../../../src/shared/wire';
import { openOlmState, readOlmSnapshot, writeOlmSnapshot } from '../../../src/store/olm-state';
import { reopen } from '../store/temp-store';
import { LibolmPeer, ourDevice, type OurDevice } from './olm-fixture';

const peers: LibolmPeer[] = [];
afterEach(() => {
  for (const peer of peers.splice(0)) peer.free();
});

function peer(device: OurDevice, userId: string, deviceId: string): LibolmPeer {
  const made = new LibolmPeer(userId, deviceId);
  peers.push(made);
  made.makeKnownTo(device.store);
  return made;
}

function snapshotIo(device: OurDevice): OlmSnapshotIo {
  return { read: () => readOlmSnapshot(device.store), write: (snapshot, nowMs) => writeOlmSnapshot(device.store, snapshot, nowMs) };
}

/** Decrypts and says, per event, the content's `n` or the failure reason. */
function outcomes(device: OurDevice, state: OlmStateStore, events: ToDeviceEvent[], nowMs = 5000): Array<number | string | undefined> {
  const rows = decryptToDeviceBatch({ state, pickleKey: device.pickleKey, identity: device.identity, nowMs }, events);
  return rows.map((row) => row.decryptionError ?? (row.content.n as number));
}

/** Process A replenishes one-time keys (the uploader); returns a claim answer for one of the NEW keys. */
async function replenish(device: OurDevice, state: OlmStateStore): Promise<KeysClaimResponse> {
  recordKeyCounts(state, { oneTimeKeyCounts: { signed_curve25519: 20 }, unusedFallbackKeyTypes: ['signed_curve25519'] }, 3000);
  const outcome = await publishKeys({ state, pickleKey: device.pickleKey, uploader: device.server, holder: 'A', nowMs: () => 3000 });
  expect(outcome).toMatchObject({ kind: 'published', uploaded: { oneTimeKeys: 30 } });
  const body = JSON.parse(device.server.uploads.at(-1) ?? '{}') as KeysUploadRequest;
  const [id, key] = Object.entries(body.one_time_keys ?? {})[0] ?? [];
  if (id === undefined || key === undefined) throw new Error('no new key uploaded');
  return { one_time_keys: { [device.identity.userId]: { [device.identity.deviceId]: { [id]: key } } }, failures: {} };
}

/** Our device answers `to` on the newest session (its ratchet moves on), stores that, and `to` reads it. */
function reply(device: OurDevice, state: OlmStateStore, to: LibolmPeer): void {
  const [record] = state.sessionsFor(to.curve25519);
  if (record === undefined) throw new Error('no session to reply on');
  const session = new (olm().Session)();
  try {
    session.unpickle(device.pickleKey.forOlm(), record.pickle);
    const content = encryptForDevice(session, device.identity, to.record(), 'm.dummy', {});
    state.saveSession({ ...record, pickle: session.pickle(device.pickleKey.forOlm()), messagesSent: record.messagesSent + 1 });
    to.receive(device.identity, content);
  } finally {
    session.free();
  }
}

function storedPickle(device: OurDevice): string | undefined {
  return openOlmState(device.store).readAccount()?.pickle;
}

function storedSessions(device: OurDevice, of: LibolmPeer): string[] {
  return openOlmState(device.store).sessionsFor(of.curve25519).map((record) => record.pickle);
}

describe('legacy Olm state (each process its own copy, last writer wins)', () => {
  it('legacy: keys uploaded by one process are overwritten by the other, and a sender that claims one gets one-time-key-gone', async () => {
    const device = await ourDevice();
    const a = OlmMemoryState.load(snapshotIo(device), openOlmState(device.store));
    const b = OlmMemoryState.load(snapshotIo(device), openOlmState(device.store));
    const freshKey = await replenish(device, a);
    a.flush(3001);
    expect(storedPickle(device)).toBe(a.snapshot().account?.pickle);

    const x = peer(device, '@x:localhost', 'X');
    x.startSession(device.identity, device.server.claim());
    expect(outcomes(device, b, [x.encrypt(device.identity, 'm.test', { n: 1 })])).toEqual([1]);
    b.flush(3002);
    // Last writer wins: the stored account is now B's copy, which never held A's new keys.
    expect(storedPickle(device)).toBe(b.snapshot().account?.pickle);

    // The server holds the 30 new keys; their private halves were only in A's write, which B's write replaced.
    const y = peer(device, '@y:localhost', 'Y');
    y.startSession(device.identity, freshKey);
    const later = OlmMemoryState.load(snapshotIo(device), openOlmState(device.store));
    expect(outcomes(device, later, [y.encrypt(device.identity, 'm.test', { n: 2 })])).toEqual(['one-time-key-gone']);
  });

  it('shared store: the same sequence keeps the uploaded keys, and the claimed one opens a session', async () => {
    const device = await ourDevice();
    const a = openOlmState(device.store);
    const b = openOlmState(reopen(device.store));
    const freshKey = await replenish(device, a);
    const x = peer(device, '@x:localhost', 'X');
    x.startSession(device.identity, device.server.claim());
    expect(outcomes(device, b, [x.encrypt(device.identity, 'm.test', { n: 1 })])).toEqual([1]);
    const y = peer(device, '@y:localhost', 'Y');
    y.startSession(device.identity, freshKey);
    expect(outcomes(device, openOlmState(reopen(device.store)), [y.encrypt(device.identity, 'm.test', { n: 2 })])).toEqual([2]);
  });

  it('legacy: a session one process advanced by sending is rolled back by the other, and the peer answer is bad-mac (wedged)', async () => {
    const device = await ourDevice();
    const x = peer(device, '@x:localhost', 'X');
    x.startSession(device.identity, device.server.claim());
    expect(outcomes(device, openOlmState(device.store), [x.encrypt(device.identity, 'm.test', { n: 1 })])).toEqual([1]);

    const a = OlmMemoryState.load(snapshotIo(device), openOlmState(device.store));
    const b = OlmMemoryState.load(snapshotIo(device), openOlmState(device.store));
    reply(device, a, x);
    a.flush(4000);
    expect(storedSessions(device, x)).toEqual(a.sessionsFor(x.curve25519).map((record) => record.pickle));
    const z = peer(device, '@z:localhost', 'Z');
    z.startSession(device.identity, device.server.claim());
    expect(outcomes(device, b, [z.encrypt(device.identity, 'm.test', { n: 2 })])).toEqual([2]);
    b.flush(4001);
    expect(storedSessions(device, x)).toEqual(b.sessionsFor(x.curve25519).map((record) => record.pickle));

    // X now encrypts to the ratchet key A created; its private half is gone from the store.
    const answer = x.encrypt(device.identity, 'm.test', { n: 3 });
    const restarted = OlmMemoryState.load(snapshotIo(device), openOlmState(device.store));
    expect(outcomes(device, restarted, [answer])).toEqual(['bad-mac']);
    // Only A's in-memory copy can still read it, until some write replaces that too.
    expect(outcomes(device, a, [answer])).toEqual([3]);
    expect(openOlmState(device.store).readWedged(x.curve25519)).toMatchObject({ reason: 'bad-mac' });
  });

  it('shared store: the same sequence keeps the ratchet, and the peer answer decrypts', async () => {
    const device = await ourDevice();
    const x = peer(device, '@x:localhost', 'X');
    x.startSession(device.identity, device.server.claim());
    expect(outcomes(device, openOlmState(device.store), [x.encrypt(device.identity, 'm.test', { n: 1 })])).toEqual([1]);
    const a = openOlmState(device.store);
    const b = openOlmState(reopen(device.store));
    reply(device, a, x);
    const z = peer(device, '@z:localhost', 'Z');
    z.startSession(device.identity, device.server.claim());
    expect(outcomes(device, b, [z.encrypt(device.identity, 'm.test', { n: 2 })])).toEqual([2]);
    expect(outcomes(device, openOlmState(reopen(device.store)), [x.encrypt(device.identity, 'm.test', { n: 3 })])).toEqual([3]);
  });

  it('legacy: two processes that loaded before the first pre-key message both decrypt it, so a duplicate delivery is accepted twice', async () => {
    const device = await ourDevice();
    const x = peer(device, '@x:localhost', 'X');
    x.startSession(device.identity, device.server.claim());
    const first = x.encrypt(device.identity, 'm.room_key', { n: 1 });
    const second = x.encrypt(device.identity, 'm.room_key', { n: 2 });
    const a = OlmMemoryState.load(snapshotIo(device), openOlmState(device.store));
    const b = OlmMemoryState.load(snapshotIo(device), openOlmState(device.store));
    expect(outcomes(device, a, [first])).toEqual([1]);
    a.flush(5001);
    // B still holds the one-time key A used and overwrites A's session with one that never saw message 1.
    expect(outcomes(device, b, [second, first])).toEqual([2, 1]);
    b.flush(5002);
    const later = OlmMemoryState.load(snapshotIo(device), openOlmState(device.store));
    expect(outcomes(device, later, [first])).toEqual(['replayed']);
  });
});
