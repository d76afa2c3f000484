// Interop through the real homeserver: matrix-rust-sdk's OlmMachine (vodozemac, the crypto of Element's clients)
// is the sender. Its requests go over HTTP to `todevice serve`: it uploads its keys, queries our device, claims
// one of our one-time keys, shares a Megolm session with our device as an Olm-encrypted m.room_key, and sends an
// encrypted room message. Our side is the main process's own code (startMainSync with the device's Olm state):
// the key is decrypted at commit once /keys/query taught us the sender, stored sealed by the main consumer, and
// the timeline decrypts the message with it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCryptoLibrary, type CryptoLibrary } from '../../src/crypto/crypto-library';
import { openOlmDevice } from '../../src/device/olm-device';
import { startMainSync } from '../../src/main/host/main-sync';
import { saveAccount } from '../../src/store/account';
import { readOlmStats } from '../../src/store/olm-stats';
import { roomKeysAfter } from '../../src/store/room-keys';
import { recentTimeline } from '../../src/store/timeline';
import { isSealed } from '../../src/crypto/secret-box';
import { api, register, startTestServer, type TestServer, type TestUser } from '../conformance/support';
import { sharedRoom } from '../conformance/keys-support';
import { tempStore } from '../unit/store/temp-store';
import { waitFor } from './support';

type Machine = InstanceType<CryptoLibrary['OlmMachine']>;
type OutgoingRequest = Awaited<ReturnType<Machine['outgoingRequests']>>[number];

let ts: TestServer;
let lib: CryptoLibrary;

beforeAll(async () => {
  ts = await startTestServer();
  lib = await loadCryptoLibrary();
});
afterAll(async () => {
  await ts.close();
});

/** Sends one of the machine's requests to the server and tells the machine the answer. */
async function send(machine: Machine, user: TestUser, request: OutgoingRequest): Promise<void> {
  const { RequestType } = lib;
  const body = JSON.parse(request.body) as unknown;
  const paths: Partial<Record<number, string>> = {
    [RequestType.KeysUpload]: '/_matrix/client/v3/keys/upload',
    [RequestType.KeysQuery]: '/_matrix/client/v3/keys/query',
    [RequestType.KeysClaim]: '/_matrix/client/v3/keys/claim',
    [RequestType.SignatureUpload]: '/_matrix/client/v3/keys/signatures/upload',
  };
  let response;
  const post = paths[request.type];
  if (post !== undefined) response = await api(ts.url, 'POST', post, { token: user.accessToken, body });
  else if (request.type === RequestType.ToDevice && request instanceof lib.ToDeviceRequest) {
    const path = `/_matrix/client/v3/sendToDevice/${encodeURIComponent(request.event_type)}/${encodeURIComponent(request.txn_id)}`;
    response = await api(ts.url, 'PUT', path, { token: user.accessToken, body });
  } else throw new Error(`unexpected outgoing request type ${request.type}`);
  if (response.status !== 200) throw new Error(`request type ${request.type} failed: ${response.status} ${JSON.stringify(response.body)}`);
  if (request.id !== undefined) await machine.markRequestAsSent(request.id, request.type, JSON.stringify(response.body));
}

async function flush(machine: Machine, user: TestUser): Promise<void> {
  for (let round = 0; round < 10; round += 1) {
    const requests = await machine.outgoingRequests();
    if (requests.length === 0) return;
    for (const request of requests) await send(machine, user, request);
  }
  throw new Error('the machine still has outgoing requests after 10 rounds');
}

describe('interop: a matrix-rust-sdk sender, todevice serve, and our main process', () => {
  it('interop: an OlmMachine shares a room key over Olm; main decrypts and stores it, and its Megolm message decrypts', async () => {
    const phone = await register(ts.url, 'PHONEDEV');
    const rust = await register(ts.url, 'RUSTDEV');
    const roomId = await sharedRoom(ts.url, rust, [phone]);

    const store = tempStore();
    const account = { homeserverUrl: ts.url, userId: phone.userId, deviceId: phone.deviceId, accessToken: phone.accessToken };
    saveAccount(store, account);
    const device = await openOlmDevice({ store, account, strategy: 'explicit-lease', processName: 'main', log: () => undefined });
    if (!device.ok) throw new Error(device.error);
    const lines: string[] = [];
    const sync = startMainSync({ store, account, strategy: 'explicit-lease', olm: device.value, tuning: { longPollTimeoutMs: 1000 }, log: (line) => lines.push(line) });
    const machine = await lib.OlmMachine.initialize(new lib.UserId(rust.userId), new lib.DeviceId(rust.deviceId));
    try {
      await waitFor(() => readOlmStats(store).oneTimeKeysUploaded > 0, 20_000, () => `our keys were never published: ${lines.join('\n')}`);

      await flush(machine, rust);
      await machine.updateTrackedUsers([new lib.UserId(phone.userId)]);
      await flush(machine, rust);
      const claim = await machine.getMissingSessions([new lib.UserId(phone.userId)]);
      if (claim === undefined) throw new Error('the machine found no session to claim for our device: it did not see our device keys');
      await send(machine, rust, claim);
      const toDevice = await machine.shareRoomKey(new lib.RoomId(roomId), [new lib.UserId(phone.userId)], new lib.EncryptionSettings());
      expect(toDevice.length).toBeGreaterThan(0);
      for (const request of toDevice) await send(machine, rust, request);
      const content = await machine.encryptRoomEvent(new lib.RoomId(roomId), 'm.room.message', JSON.stringify({ msgtype: 'm.text', body: 'hello from rust-sdk' }));
      const sent = await api(ts.url, 'PUT', `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/send/m.room.encrypted/interop1`, { token: rust.accessToken, body: JSON.parse(content) });
      expect(sent.status).toBe(200);
      const sessionId = (JSON.parse(content) as { session_id: string }).session_id;

      await waitFor(() => roomKeysAfter(store, 0).keys.some((key) => key.session_id === sessionId), 20_000, () => `no key stored: ${JSON.stringify(readOlmStats(store))} ${lines.join('\n')}`);
      const key = roomKeysAfter(store, 0).keys.find((candidate) => candidate.session_id === sessionId);
      expect(key?.room_id).toBe(roomId);
      expect(isSealed(key?.session_key ?? '')).toBe(true);
      await waitFor(
        () => recentTimeline(store, 10).some((entry) => entry.eventId === sent.body.event_id && entry.body === 'hello from rust-sdk'),
        20_000,
        () => JSON.stringify(recentTimeline(store, 10)),
      );
      const stats = readOlmStats(store);
      expect(stats.decrypted).toBe(1);
      expect(stats.decryptedAfterQuery).toBe(1);
      expect(stats.wedgedDevices).toBe(0);
      expect(lines).toEqual([]);
    } finally {
      machine.close();
      await sync.stop();
    }
  });
});
