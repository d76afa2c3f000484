// The Olm changes of a batch commit in the batch's transaction (DESIGN.md §8): `commitBatch` with
// `transformEvents = decryptToDeviceBatch`. A refused or rolled-back commit leaves the Olm state byte-identical,
// so a redelivered batch decrypts again; a committed decrypt spends the message key, so a replay fails.
import { afterEach, describe, expect, it } from 'vitest';
import { decryptToDeviceBatch } from '../../../src/crypto/olm-decrypt';
import { unpickleAccount } from '../../../src/crypto/olm-account';
import { olm } from '../../../src/crypto/olm-library';
import { commitBatch } from '../../../src/store/commit-batch';
import { listInbox } from '../../../src/store/inbox';
import { tryAcquireLease } from '../../../src/store/lease';
import { olmSessionsFor } from '../../../src/store/olm-sessions';
import { openOlmState } from '../../../src/store/olm-state';
import type { ClientStore } from '../../../src/store/open-store';
import type { ToDeviceEvent } from '../../../src/shared/wire';
import { reopen } from '../store/temp-store';
import { LibolmPeer, olmPickles, ourDevice, type OurDevice } from './olm-fixture';

const peers: LibolmPeer[] = [];
afterEach(() => {
  for (const peer of peers.splice(0)) peer.free();
});

async function deviceWithPeer(): Promise<{ device: OurDevice; peer: LibolmPeer }> {
  const device = await ourDevice();
  const peer = new LibolmPeer();
  peers.push(peer);
  peer.makeKnownTo(device.store);
  peer.startSession(device.identity, device.server.claim());
  return { device, peer };
}

/** The commit a process makes with decryption at commit, on its own connection `store`. */
function commitDecrypting(device: OurDevice, store: ClientStore, input: { expectedSince: string | null; nextBatch: string; events: ToDeviceEvent[] }, extra: Partial<Parameters<typeof commitBatch>[1]> = {}) {
  let transformed = 0;
  const state = openOlmState(store);
  const result = commitBatch(store, {
    ...input,
    process: 'main',
    pid: 1,
    nowMs: 3000,
    transformEvents: (events) => {
      transformed += 1;
      return decryptToDeviceBatch({ state, pickleKey: device.pickleKey, identity: device.identity, nowMs: 3000 }, events);
    },
    ...extra,
  });
  return { result, transformed };
}

function ciphertextOf(device: OurDevice, event: ToDeviceEvent): { type: 0 | 1; body: string } {
  const mine = (event.content.ciphertext as Record<string, { type: 0 | 1; body: string }>)[device.identity.curve25519];
  if (mine === undefined) throw new Error('no ciphertext for our device');
  return mine;
}

describe('olm decryption at commit', () => {
  it('olm commit: a stale commit never decrypts, leaves the pickles byte-identical, and the batch decrypts on redelivery', async () => {
    const { device, peer } = await deviceWithPeer();
    const notifier = reopen(device.store);
    const events = [peer.encrypt(device.identity, 'm.room_key', { n: 1 })];
    commitBatch(notifier, { expectedSince: null, nextBatch: 't1', events: [], process: 'notifier', pid: 2, nowMs: 2500 });
    const before = olmPickles(device.store);

    const stale = commitDecrypting(device, device.store, { expectedSince: null, nextBatch: 't1', events });
    expect(stale).toEqual({ result: { kind: 'stale', currentSince: 't1' }, transformed: 0 });
    expect(olmPickles(device.store)).toEqual(before);
    expect(listInbox(device.store)).toHaveLength(0);

    // The server delivers the batch again after the current token: it decrypts from the untouched state.
    const redelivered = commitDecrypting(device, device.store, { expectedSince: 't1', nextBatch: 't2', events });
    expect(redelivered.result.kind).toBe('committed');
    expect(listInbox(device.store).map((row) => [row.type, row.content])).toEqual([['m.room_key', { n: 1 }]]);
  });

  it('olm commit: a fenced commit never decrypts and leaves the pickles byte-identical', async () => {
    const { device, peer } = await deviceWithPeer();
    tryAcquireLease(device.store, { key: 'to-device', holder: 'main', durationMs: 100, nowMs: 0 });
    tryAcquireLease(device.store, { key: 'to-device', holder: 'notifier', durationMs: 100, nowMs: 200 });
    const before = olmPickles(device.store);
    const fenced = commitDecrypting(
      device,
      device.store,
      { expectedSince: null, nextBatch: 't1', events: [peer.encrypt(device.identity, 'm.test', { n: 1 })] },
      { fence: { key: 'to-device', holder: 'main', generation: 1 } },
    );
    expect(fenced).toEqual({ result: { kind: 'fenced' }, transformed: 0 });
    expect(olmPickles(device.store)).toEqual(before);
  });

  it('olm commit: a crash after decrypting rolls the pickles back with the batch, and the redelivered batch decrypts again', async () => {
    const { device, peer } = await deviceWithPeer();
    const events = [peer.encrypt(device.identity, 'm.test', { n: 1 }), peer.encrypt(device.identity, 'm.test', { n: 2 })];
    const before = olmPickles(device.store);
    const crash = new Error('simulated SIGKILL at mid-commit');
    expect(() =>
      commitDecrypting(
        device,
        device.store,
        { expectedSince: null, nextBatch: 't1', events },
        {
          afterTokenSwap: () => {
            throw crash;
          },
        },
      ),
    ).toThrow(crash);
    expect(olmPickles(device.store)).toEqual(before);
    expect(olmSessionsFor(device.store, peer.curve25519)).toHaveLength(0);
    expect(listInbox(device.store)).toHaveLength(0);

    const again = commitDecrypting(device, reopen(device.store), { expectedSince: null, nextBatch: 't1', events });
    expect(again.result.kind).toBe('committed');
    expect(listInbox(device.store).map((row) => row.content)).toEqual([{ n: 1 }, { n: 2 }]);
  });

  it('olm commit: after a committed decrypt the message keys are spent: a replayed pre-key message gets BAD_MESSAGE_KEY_ID from the account and BAD_MESSAGE_MAC from the session', async () => {
    const { device, peer } = await deviceWithPeer();
    const preKey = peer.encrypt(device.identity, 'm.room_key', { n: 1 });
    expect(commitDecrypting(device, device.store, { expectedSince: null, nextBatch: 't1', events: [preKey] }).result.kind).toBe('committed');

    // The duplicate delivery an old strategy makes: it stays encrypted, counted as a replay.
    commitDecrypting(device, device.store, { expectedSince: 't1', nextBatch: 't2', events: [preKey] });
    expect(listInbox(device.store).map((row) => row.decryptionError ?? row.type)).toEqual(['m.room_key', 'replayed']);

    // What libolm says underneath, with the committed state: the one-time key is gone from the account, and the
    // session that used it already spent this message's key.
    const { type, body } = ciphertextOf(device, preKey);
    expect(type).toBe(0);
    const account = unpickleAccount(device.state.readAccount()?.pickle ?? '', device.pickleKey);
    const fresh = new (olm().Session)();
    expect(() => fresh.create_inbound_from(account, peer.curve25519, body)).toThrow('BAD_MESSAGE_KEY_ID');
    const [record] = olmSessionsFor(device.store, peer.curve25519);
    const session = new (olm().Session)();
    session.unpickle(device.pickleKey.forOlm(), record?.pickle ?? '');
    expect(() => session.decrypt(0, body)).toThrow('BAD_MESSAGE_MAC');
    for (const object of [account, fresh, session]) object.free();
  });

  it('olm commit: a replayed normal message after a committed decrypt gets BAD_MESSAGE_MAC', async () => {
    const { device, peer } = await deviceWithPeer();
    commitDecrypting(device, device.store, { expectedSince: null, nextBatch: 't1', events: [peer.encrypt(device.identity, 'm.test', { n: 1 })] });
    // Our answer on the session makes the peer's next message a normal one.
    const [record] = olmSessionsFor(device.store, peer.curve25519);
    const ours = new (olm().Session)();
    ours.unpickle(device.pickleKey.forOlm(), record?.pickle ?? '');
    const reply = ours.encrypt('{}');
    if (record !== undefined) device.state.saveSession({ ...record, pickle: ours.pickle(device.pickleKey.forOlm()) });
    peer.session(device.identity).decrypt(reply.type, reply.body);
    ours.free();
    const normal = peer.encrypt(device.identity, 'm.test', { n: 2 });
    expect(ciphertextOf(device, normal).type).toBe(1);

    commitDecrypting(device, device.store, { expectedSince: 't1', nextBatch: 't2', events: [normal] });
    commitDecrypting(device, device.store, { expectedSince: 't2', nextBatch: 't3', events: [normal] });
    expect(listInbox(device.store).map((row) => row.decryptionError ?? row.content)).toEqual([{ n: 1 }, { n: 2 }, 'replayed']);
    const [after] = olmSessionsFor(device.store, peer.curve25519);
    const session = new (olm().Session)();
    session.unpickle(device.pickleKey.forOlm(), after?.pickle ?? '');
    expect(() => session.decrypt(1, ciphertextOf(device, normal).body)).toThrow('BAD_MESSAGE_MAC');
    session.free();
  });
});
