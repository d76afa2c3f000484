// The key lifecycle (src/crypto/olm-keys.ts) against a fake /keys/upload: persist before upload, mark after,
// byte-identical re-upload after a crash in between, one uploader at a time, replenishing, fallback rotation.
import { afterEach, describe, expect, it } from 'vitest';
import { unpublishedFallbackKey, unpublishedOneTimeKeys, verifyJsonSignature, withAccount } from '../../../src/crypto/olm-account';
import { decryptToDeviceBatch } from '../../../src/crypto/olm-decrypt';
import {
  claimKeysUpload,
  ensureOlmAccount,
  planKeysUpload,
  publishKeys,
  recordKeyCounts,
  PREVIOUS_FALLBACK_KEEP_MS,
  UPLOAD_CLAIM_MS,
} from '../../../src/crypto/olm-keys';
import { PickleKey } from '../../../src/crypto/pickle-key';
import type { KeysUploadRequest } from '../../../src/shared/olm-wire';
import { openOlmState } from '../../../src/store/olm-state';
import { reopen } from '../store/temp-store';
import { FakeKeysServer, LibolmPeer, OUR_DEVICE, OUR_USER, ourDevice, type OurDevice } from './olm-fixture';

const peers: LibolmPeer[] = [];
afterEach(() => {
  for (const peer of peers.splice(0)) peer.free();
});

function waitingKeys(device: OurDevice): { oneTime: number; fallback: number } {
  const account = device.state.readAccount();
  if (account === undefined) throw new Error('no account');
  return withAccount(account.pickle, device.pickleKey, (olmAccount) => ({
    oneTime: Object.keys(unpublishedOneTimeKeys(olmAccount)).length,
    fallback: Object.keys(unpublishedFallbackKey(olmAccount)).length,
  }));
}

function publish(device: OurDevice, server: FakeKeysServer, nowMs = 1000, holder = 'main') {
  return publishKeys({ state: device.state, pickleKey: device.pickleKey, uploader: server, holder, nowMs: () => nowMs });
}

describe('olm keys', () => {
  it('keys: first start persists signed device keys, 50 one-time keys and a fallback key before the upload, and marks them after', async () => {
    const device = await ourDevice({ publish: false });
    const server = new FakeKeysServer();
    let seenAtUpload: { oneTime: number; fallback: number } | undefined;
    server.afterProcessing = () => (seenAtUpload = waitingKeys(device));

    const outcome = await publish(device, server);
    expect(outcome).toEqual({ kind: 'published', oneTimeKeyCount: 50, uploaded: { oneTimeKeys: 50, fallbackKeys: 1, deviceKeys: true } });
    // While the server processed the upload, the keys were already durable in the stored pickle.
    expect(seenAtUpload).toEqual({ oneTime: 50, fallback: 1 });
    expect(waitingKeys(device)).toEqual({ oneTime: 0, fallback: 0 });
    expect(device.state.readAccount()).toMatchObject({ deviceKeysPublished: true, uploadClaimedBy: null });
    expect(device.state.readKeyCounts()).toMatchObject({ oneTimeKeyCounts: { signed_curve25519: 50 }, unusedFallbackKeyTypes: ['signed_curve25519'] });

    const body = JSON.parse(server.uploads[0] ?? '{}') as Required<KeysUploadRequest>;
    const { identity } = device;
    expect(body.device_keys).toMatchObject({
      user_id: OUR_USER,
      device_id: OUR_DEVICE,
      algorithms: ['m.olm.v1.curve25519-aes-sha2', 'm.megolm.v1.aes-sha2'],
      keys: { [`curve25519:${OUR_DEVICE}`]: identity.curve25519, [`ed25519:${OUR_DEVICE}`]: identity.ed25519 },
    });
    expect(verifyJsonSignature(body.device_keys as never, OUR_USER, OUR_DEVICE, identity.ed25519)).toBe(true);
    expect(verifyJsonSignature({ ...body.device_keys, unsigned: { device_display_name: 'added later' } } as never, OUR_USER, OUR_DEVICE, identity.ed25519)).toBe(true);
    expect(verifyJsonSignature({ ...body.device_keys, user_id: '@mallory:localhost' } as never, OUR_USER, OUR_DEVICE, identity.ed25519)).toBe(false);
    const oneTimeKeys = Object.entries(body.one_time_keys);
    expect(oneTimeKeys).toHaveLength(50);
    for (const [id, key] of oneTimeKeys) {
      expect(id).toMatch(/^signed_curve25519:/);
      expect(verifyJsonSignature(key as never, OUR_USER, OUR_DEVICE, identity.ed25519)).toBe(true);
    }
    const [fallback] = Object.values(body.fallback_keys);
    expect(fallback).toMatchObject({ fallback: true });
    expect(verifyJsonSignature(fallback as never, OUR_USER, OUR_DEVICE, identity.ed25519)).toBe(true);

    expect(await publish(device, server)).toEqual({ kind: 'nothing-to-do' });
    expect(server.uploads).toHaveLength(1);
  });

  it('keys: a crash between the upload and the mark uploads the very same bytes again, and never other keys', async () => {
    const device = await ourDevice({ publish: false });
    const server = new FakeKeysServer();
    server.afterProcessing = () => {
      throw new Error('simulated SIGKILL after the server processed the upload');
    };
    await expect(publish(device, server)).rejects.toThrow('SIGKILL');
    expect(waitingKeys(device)).toEqual({ oneTime: 50, fallback: 1 });

    // The restarted process (same holder name, new connection) finds the keys unpublished and uploads them again.
    const restarted = { ...device, store: reopen(device.store) };
    restarted.state = openOlmState(restarted.store);
    server.afterProcessing = undefined;
    expect((await publish(restarted, server, 2000)).kind).toBe('published');
    expect(server.uploads).toHaveLength(2);
    expect(server.uploads[1]).toBe(server.uploads[0]);
    expect(server.oneTimeKeys.size).toBe(50);
  });

  it('keys: an upload whose answer was lost is retried with identical bytes once the claim is released', async () => {
    const device = await ourDevice({ publish: false });
    const server = new FakeKeysServer();
    server.loseNextAnswer = true;
    expect((await publish(device, server)).kind).toBe('upload-failed');
    expect(device.state.readAccount()?.uploadClaimedBy).toBeNull();
    // Another process may retry at once: the failed uploader released its claim.
    expect((await publish(device, server, 1100, 'notifier:42')).kind).toBe('published');
    expect(server.uploads[1]).toBe(server.uploads[0]);
  });

  it('keys: of two processes that read the same account version, one wins the compare-and-set and the other uploads nothing', async () => {
    const device = await ourDevice({ publish: false });
    const other = openOlmState(reopen(device.store));
    const first = planKeysUpload(device.state, device.pickleKey, 'main', 1000);
    const second = planKeysUpload(other, device.pickleKey, 'notifier:42', 1000);
    if (first.kind !== 'upload' || second.kind !== 'upload') throw new Error('both should plan an upload');
    expect(first.expectedVersion).toBe(second.expectedVersion);
    const winner = claimKeysUpload(device.state, device.pickleKey, first, 'main', 1000);
    const loser = claimKeysUpload(other, device.pickleKey, second, 'notifier:42', 1000);
    expect(winner.kind).toBe('claimed');
    expect(loser).toEqual({ kind: 'lost-race' });
    // The loser's freshly generated keys were never stored: the stored pickle is the winner's.
    if (winner.kind !== 'claimed') throw new Error('unreachable');
    expect(first.changes.pickle).not.toBe(second.changes.pickle);
    expect(device.state.readAccount()).toMatchObject({ pickle: first.changes.pickle, uploadClaimedBy: 'main', version: first.expectedVersion + 1 });
    expect(Object.keys(winner.claim.body.one_time_keys ?? {})).toHaveLength(50);
  });

  it('keys: while one process uploads, another is told busy and does not upload; a lapsed claim is taken over', async () => {
    const device = await ourDevice({ publish: false });
    const server = new FakeKeysServer();
    let open = (): void => undefined;
    server.gate = new Promise<void>((resolve) => (open = resolve));
    const uploading = publish(device, server, 1000, 'main');
    const notifier = { ...device, state: openOlmState(reopen(device.store)) };
    expect(await publish(notifier, server, 1500, 'notifier:42')).toEqual({ kind: 'busy', holder: 'main', untilMs: 1000 + UPLOAD_CLAIM_MS });
    open();
    expect((await uploading).kind).toBe('published');
    expect(server.uploads).toHaveLength(1);

    // A claimant that died mid-upload blocks others only until its claim lapses.
    recordKeyCounts(device.state, { oneTimeKeyCounts: { signed_curve25519: 10 } }, 5000);
    server.gate = new Promise<void>(() => undefined);
    void publish(device, server, 6000, 'main');
    server.gate = undefined;
    expect((await publish(notifier, server, 6000 + UPLOAD_CLAIM_MS - 1, 'notifier:42')).kind).toBe('busy');
    expect((await publish(notifier, server, 6000 + UPLOAD_CLAIM_MS + 1, 'notifier:42')).kind).toBe('published');
  });

  it('keys: below 50 on the server the count is topped up to 50; at 50 nothing is generated', async () => {
    const device = await ourDevice();
    const server = device.server;
    recordKeyCounts(device.state, { oneTimeKeyCounts: { signed_curve25519: 50 }, unusedFallbackKeyTypes: ['signed_curve25519'] }, 2000);
    expect(await publish(device, server, 2000)).toEqual({ kind: 'nothing-to-do' });
    recordKeyCounts(device.state, { oneTimeKeyCounts: { signed_curve25519: 20 }, unusedFallbackKeyTypes: ['signed_curve25519'] }, 3000);
    expect(await publish(device, server, 3000)).toMatchObject({ kind: 'published', uploaded: { oneTimeKeys: 30, fallbackKeys: 0, deviceKeys: false } });
    const body = JSON.parse(server.uploads.at(-1) ?? '{}') as KeysUploadRequest;
    expect(body.device_keys).toBeUndefined();
    expect(Object.keys(body.one_time_keys ?? {})).toHaveLength(30);
  });

  it('keys: a used fallback key is rotated; the previous one opens sessions for an hour, then is forgotten', async () => {
    const device = await ourDevice();
    const server = device.server;
    while (server.oneTimeKeys.size > 0) server.claim();
    const oldFallback = server.claim();
    const late = new LibolmPeer('@late:localhost', 'LATE');
    peers.push(late);
    late.makeKnownTo(device.store);
    late.startSession(device.identity, oldFallback);
    const lateMessage = late.encrypt(device.identity, 'm.test', { late: true });

    // A report from before the key existed says nothing about it; one from after says it was used.
    recordKeyCounts(device.state, { oneTimeKeyCounts: { signed_curve25519: 0 }, unusedFallbackKeyTypes: [] }, 500);
    expect(await publish(device, server, 600)).toMatchObject({ uploaded: { fallbackKeys: 0 } });
    recordKeyCounts(device.state, { oneTimeKeyCounts: { signed_curve25519: 50 }, unusedFallbackKeyTypes: [] }, 2000);
    expect(await publish(device, server, 2000)).toMatchObject({ kind: 'published', uploaded: { fallbackKeys: 1 } });
    const newFallbackId = Object.keys((JSON.parse(server.uploads.at(-1) ?? '{}') as KeysUploadRequest).fallback_keys ?? {})[0];
    expect(newFallbackId).toBeDefined();
    expect(Object.keys(oldFallback.one_time_keys[OUR_USER]?.[OUR_DEVICE] ?? {})).not.toContain(newFallbackId);
    expect(device.state.readAccount()?.previousFallbackExpiresAtMs).toBe(2000 + PREVIOUS_FALLBACK_KEEP_MS);

    const decrypt = (nowMs: number) =>
      decryptToDeviceBatch({ state: device.state, pickleKey: device.pickleKey, identity: device.identity, nowMs }, [lateMessage])[0];
    // Within the hour the old key still opens a session (run in a transaction that is rolled back, to try twice).
    expect(tryAndRollBack(device, () => decrypt(3000))).toMatchObject({ content: { late: true } });
    expect(await publish(device, server, 2000 + PREVIOUS_FALLBACK_KEEP_MS + 1)).toEqual({ kind: 'nothing-to-do' });
    expect(device.state.readAccount()?.previousFallbackExpiresAtMs).toBeNull();
    expect(decrypt(2000 + PREVIOUS_FALLBACK_KEEP_MS + 2)).toMatchObject({ decryptionError: 'one-time-key-gone' });
  });

  it('keys: a commit that uses one of the keys being uploaded does not stop them from being marked published', async () => {
    const device = await ourDevice({ publish: false });
    const server = new FakeKeysServer();
    const peer = new LibolmPeer();
    peers.push(peer);
    peer.makeKnownTo(device.store);
    server.afterProcessing = () => {
      peer.startSession(device.identity, server.claim());
      const [row] = decryptToDeviceBatch({ state: device.state, pickleKey: device.pickleKey, identity: device.identity, nowMs: 1000 }, [
        peer.encrypt(device.identity, 'm.test', { n: 1 }),
      ]);
      expect(row).toMatchObject({ content: { n: 1 } });
    };
    expect((await publish(device, server)).kind).toBe('published');
    expect(waitingKeys(device)).toEqual({ oneTime: 0, fallback: 0 });
  });

  it('keys: a key another writer added during the upload is not marked published with it, and goes up next time', async () => {
    const device = await ourDevice({ publish: false });
    const server = new FakeKeysServer();
    server.afterProcessing = () => {
      const account = device.state.readAccount();
      if (account === undefined) throw new Error('no account');
      const pickle = withAccount(account.pickle, device.pickleKey, (olmAccount) => {
        olmAccount.generate_one_time_keys(1);
        return olmAccount.pickle(device.pickleKey.forOlm());
      });
      expect(device.state.compareAndSetAccount(account.version, { pickle }, 1000)).toBe(true);
    };
    expect(await publish(device, server)).toEqual({ kind: 'changed' });
    expect(waitingKeys(device)).toEqual({ oneTime: 51, fallback: 1 });
    expect(device.state.readAccount()?.uploadClaimedBy).toBeNull();
    server.afterProcessing = undefined;
    expect(await publish(device, server, 2000)).toMatchObject({ kind: 'published', uploaded: { oneTimeKeys: 51 } });
    expect(waitingKeys(device)).toEqual({ oneTime: 0, fallback: 0 });
    expect(server.oneTimeKeys.size).toBe(51);
  });

  it('keys: an account pickled with another pickle key is refused with a clear error, not a crash', async () => {
    const device = await ourDevice();
    const wrong = ensureOlmAccount(device.state, PickleKey.generate(), { userId: OUR_USER, deviceId: OUR_DEVICE }, 2000);
    expect(wrong.ok).toBe(false);
    if (wrong.ok) return;
    expect(wrong.error.kind).toBe('bad-pickle-key');
    expect(wrong.error.message).toMatch(/does not open with this pickle key/);
    expect(wrong.error.message).not.toContain('\n');
    const mismatch = ensureOlmAccount(device.state, device.pickleKey, { userId: OUR_USER, deviceId: 'OTHER' }, 2000);
    expect(mismatch.ok === false && mismatch.error.kind).toBe('account-mismatch');
  });
});

/** Runs `work` in a transaction that is always rolled back, and returns what it returned. */
function tryAndRollBack<T>(device: OurDevice, work: () => T): T {
  let value: T | undefined;
  const rollback = new Error('roll back');
  try {
    device.store.immediate(() => {
      value = work();
      throw rollback;
    });
  } catch (error) {
    if (error !== rollback) throw error;
  }
  return value as T;
}
