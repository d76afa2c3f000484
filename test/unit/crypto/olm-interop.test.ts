// Interoperability without a server: matrix-rust-sdk's OlmMachine (vodozemac, in WebAssembly) is the other
// device. The test plays the server: it answers the machine's /keys/upload, /keys/query and /keys/claim through
// markRequestAsSent, takes the Olm to-device messages out of shareRoomKey's requests, and hands our m.dummy to
// receiveSyncChanges. Our side is the real code: device keys checked, decryption at commit, Megolm decryption.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCryptoLibrary, type CryptoLibrary } from '../../../src/crypto/crypto-library';
import { createMegolmDecryptor } from '../../../src/crypto/megolm-decryptor';
import { decryptToDeviceBatch } from '../../../src/crypto/olm-decrypt';
import { saveQueriedDevices } from '../../../src/crypto/olm-device-keys';
import { createUnwedgingDummy } from '../../../src/crypto/olm-unwedge';
import { roomKeyFromOlmEvent } from '../../../src/shared/olm-room-key';
import type { InboxEventInput } from '../../../src/shared/olm-state';
import type { KeysClaimResponse, KeysUploadRequest } from '../../../src/shared/olm-wire';
import type { RoomEvent, ToDeviceEvent } from '../../../src/shared/wire';
import { openStore } from '../../../src/store/open-store';
import { ourDevice, type OurDevice } from './olm-fixture';

const ALICE = '@alice:localhost';
const ALICE_DEVICE = 'ALICEDEVICE';
const ROOM = '!interop:localhost';

type Machine = InstanceType<CryptoLibrary['OlmMachine']>;

/** Plays the server for `machine`: answers every outgoing request it has now; returns what it learnt. */
async function serve(
  lib: CryptoLibrary,
  machine: Machine,
  answers: { ourDeviceKeys: unknown },
): Promise<{ uploads: KeysUploadRequest[]; toDevice: Array<{ eventType: string; body: { messages: Record<string, Record<string, Record<string, unknown>>> } }> }> {
  const uploads: KeysUploadRequest[] = [];
  const toDevice: Array<{ eventType: string; body: { messages: Record<string, Record<string, Record<string, unknown>>> } }> = [];
  for (const request of (await machine.outgoingRequests()) as Array<{ id: string; type: number; body: string; event_type?: string }>) {
    if (request.type === lib.RequestType.KeysUpload) {
      uploads.push(JSON.parse(request.body) as KeysUploadRequest);
      await machine.markRequestAsSent(request.id, request.type, JSON.stringify({ one_time_key_counts: { signed_curve25519: 50 } }));
    } else if (request.type === lib.RequestType.KeysQuery) {
      const response = { device_keys: { '@bob:localhost': { BOBDEVICE: answers.ourDeviceKeys } }, failures: {}, master_keys: {}, self_signing_keys: {}, user_signing_keys: {} };
      await machine.markRequestAsSent(request.id, request.type, JSON.stringify(response));
    } else if (request.type === lib.RequestType.ToDevice) {
      toDevice.push({ eventType: request.event_type ?? '', body: JSON.parse(request.body) as (typeof toDevice)[number]['body'] });
      await machine.markRequestAsSent(request.id, request.type, '{}');
    }
  }
  return { uploads, toDevice };
}

describe('Olm interop with matrix-rust-sdk', () => {
  let lib: CryptoLibrary;
  let alice: Machine;
  let device: OurDevice;
  let aliceUpload: KeysUploadRequest;
  let roomKeyRow: InboxEventInput;
  let ourDeviceKeys: unknown;
  let directory: string;

  beforeAll(async () => {
    lib = await loadCryptoLibrary();
    // One store for the whole file (the temporary stores of temp-store.ts close after each test).
    directory = fs.mkdtempSync(path.join(os.tmpdir(), 'todevice-interop-'));
    device = await ourDevice({ store: openStore(path.join(directory, 'client.sqlite')) });
    ourDeviceKeys = (JSON.parse(device.server.uploads[0] ?? '{}') as KeysUploadRequest).device_keys;
    alice = await lib.OlmMachine.initialize(new lib.UserId(ALICE), new lib.DeviceId(ALICE_DEVICE));
    const [upload] = (await serve(lib, alice, { ourDeviceKeys })).uploads;
    if (upload === undefined) throw new Error('the OlmMachine uploaded no keys');
    aliceUpload = upload;
  });
  afterAll(() => {
    alice.close();
    device.store.close();
    fs.rmSync(directory, { recursive: true, force: true });
  });

  it('interop: our device keys from /keys/upload are accepted by rust-sdk, and its device keys by ours', async () => {
    const saved = saveQueriedDevices(device.state, { device_keys: { [ALICE]: { [ALICE_DEVICE]: aliceUpload.device_keys } }, failures: {} }, device.identity, 5000);
    expect(saved.rejected).toEqual([]);
    expect(saved.saved.map((record) => record.deviceId)).toEqual([ALICE_DEVICE]);

    await alice.updateTrackedUsers([new lib.UserId('@bob:localhost')]);
    await serve(lib, alice, { ourDeviceKeys });
    const bob = await alice.getDevice(new lib.UserId('@bob:localhost'), new lib.DeviceId('BOBDEVICE'));
    expect(bob?.curve25519Key?.toBase64()).toBe(device.identity.curve25519);
  });

  it('interop: shareRoomKey sends an Olm m.room_key that we decrypt at commit, and its Megolm message decrypts with it', async () => {
    // getMissingSessions hands out the /keys/claim request itself (it is not among outgoingRequests).
    const claim = (await alice.getMissingSessions([new lib.UserId('@bob:localhost')])) as { id: string; type: number; body: string } | undefined;
    if (claim === undefined) throw new Error('the OlmMachine claimed no key');
    expect(JSON.parse(claim.body)).toMatchObject({ one_time_keys: { '@bob:localhost': { BOBDEVICE: 'signed_curve25519' } } });
    await alice.markRequestAsSent(claim.id, lib.RequestType.KeysClaim, JSON.stringify(device.server.claim()));
    const shared = (await alice.shareRoomKey(new lib.RoomId(ROOM), [new lib.UserId('@bob:localhost')], new lib.EncryptionSettings())) as Array<{
      id: string;
      event_type: string;
      body: string;
    }>;
    const messages = shared.flatMap((request) => {
      const body = JSON.parse(request.body) as { messages: Record<string, Record<string, Record<string, unknown>>> };
      return Object.values(body.messages['@bob:localhost'] ?? {}).map((content) => ({ eventType: request.event_type, content }));
    });
    expect(messages).toHaveLength(1);
    for (const request of shared) await alice.markRequestAsSent(request.id, lib.RequestType.ToDevice, '{}');
    const event: ToDeviceEvent = { type: messages[0]?.eventType ?? '', sender: ALICE, content: messages[0]?.content ?? {} };
    expect(event.type).toBe('m.room.encrypted');

    const [row] = decryptToDeviceBatch({ state: device.state, pickleKey: device.pickleKey, identity: device.identity, nowMs: 6000 }, [event]);
    if (row === undefined) throw new Error('no row');
    expect(row).toMatchObject({
      type: 'm.room_key',
      sender: ALICE,
      content: { algorithm: 'm.megolm.v1.aes-sha2', room_id: ROOM },
      encryption: { sender_device_id: ALICE_DEVICE },
    });
    expect(row.decryptionError).toBeUndefined();
    roomKeyRow = row;

    const encrypted = JSON.parse(await alice.encryptRoomEvent(new lib.RoomId(ROOM), 'm.room.message', JSON.stringify({ msgtype: 'm.text', body: 'hello bob' }))) as Record<string, unknown>;
    const roomEvent: RoomEvent = { event_id: '$interop1', room_id: ROOM, type: 'm.room.encrypted', sender: ALICE, origin_server_ts: 1, content: encrypted };
    const key = roomKeyFromOlmEvent(row.content, row.encryption ?? { algorithm: '', sender_key: '', session_id: '', sender_device_id: '', sender_ed25519: '' });
    if (!key.ok) throw new Error(key.error);
    for (const implementation of ['libolm', 'rust-sdk'] as const) {
      const decryptor = await createMegolmDecryptor(implementation, '@bob:localhost', 'BOBDEVICE');
      expect(await decryptor.importKeys([key.value])).toEqual([key.value.session_id]);
      expect(await decryptor.decrypt(roomEvent)).toEqual({
        kind: 'decrypted',
        sessionId: key.value.session_id,
        type: 'm.room.message',
        content: { msgtype: 'm.text', body: 'hello bob' },
      });
      decryptor.close();
    }
  });

  it('interop: our m.dummy on a new session decrypts in the OlmMachine through receiveSyncChanges', async () => {
    expect(roomKeyRow).toBeDefined();
    const aliceCurve = (aliceUpload.device_keys?.keys ?? {})[`curve25519:${ALICE_DEVICE}`] ?? '';
    const [keyId, oneTimeKey] = Object.entries(aliceUpload.one_time_keys ?? {})[0] ?? [];
    if (keyId === undefined || oneTimeKey === undefined) throw new Error('the OlmMachine uploaded no one-time keys');
    device.state.saveWedged({
      senderKey: aliceCurve,
      userId: ALICE,
      deviceId: ALICE_DEVICE,
      reason: 'bad-mac',
      failures: 1,
      firstFailedAtMs: 7000,
      lastFailedAtMs: 7000,
      lastDummySentAtMs: null,
      dummiesSent: 0,
    });
    // Alice's only session with us is the one she started at 6000; the hour since then has passed.
    const nowMs = 6000 + 60 * 60 * 1000 + 1;
    const claim: KeysClaimResponse = { one_time_keys: { [ALICE]: { [ALICE_DEVICE]: { [keyId]: oneTimeKey } } }, failures: {} };
    const made = createUnwedgingDummy({ state: device.state, pickleKey: device.pickleKey, identity: device.identity, nowMs }, aliceCurve, claim);
    if (!made.ok) throw new Error(made.error.kind);
    const delivered = [{ type: 'm.room.encrypted', sender: '@bob:localhost', content: made.value.content }];
    const processed = (await alice.receiveSyncChanges(JSON.stringify(delivered), new lib.DeviceLists(), new Map(), new Set())) as string;
    const events = JSON.parse(processed) as Array<{ type: string; content: unknown }>;
    expect(events).toEqual([expect.objectContaining({ type: 'm.dummy' })]);
  });
});
