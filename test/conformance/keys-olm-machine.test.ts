// Interop: two real crypto clients share a room key through `todevice serve`. Each is matrix-rust-sdk's
// OlmMachine (@matrix-org/matrix-sdk-crypto-wasm, the crypto of Element's clients) whose outgoing requests go to
// the server over HTTP exactly as a client sends them. A uploads its keys; B, in a shared room, learns from
// sliding sync's device_lists that A changed, queries and claims A's keys, shares a Megolm key with A over an
// Olm-encrypted to-device message and sends an encrypted room message; A receives the to-device event through
// the to_device extension, decrypts it, and decrypts B's message. No shortcut: every key crosses the server.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCryptoLibrary, type CryptoLibrary } from '../../src/crypto/crypto-library';
import { api, register, slidingSync, startTestServer, type ApiResponse, type TestServer, type TestUser } from './support';
import { sharedRoom } from './keys-support';

type Machine = InstanceType<CryptoLibrary['OlmMachine']>;

let ts: TestServer;
let lib: CryptoLibrary;

beforeAll(async () => {
  ts = await startTestServer();
  lib = await loadCryptoLibrary();
});
afterAll(async () => {
  expect(ts.logs.filter((line) => line.includes('unexpected'))).toEqual([]);
  await ts.close();
});

/** An OlmMachine whose requests go to the real server, and its sliding sync connection. */
class CryptoClient {
  private pos: string | undefined;
  private since: string | undefined;
  private txn = 0;
  /** Every request the machine sent, by type name, for the assertions. */
  readonly sent: string[] = [];

  private constructor(
    readonly user: TestUser,
    readonly machine: Machine,
  ) {}

  static async create(user: TestUser): Promise<CryptoClient> {
    const machine = await lib.OlmMachine.initialize(new lib.UserId(user.userId), new lib.DeviceId(user.deviceId));
    return new CryptoClient(user, machine);
  }

  /** Sends everything the machine wants sent, until it wants nothing more (bounded: a machine that never settles fails). */
  async flush(): Promise<void> {
    for (let round = 0; round < 10; round += 1) {
      const requests = await this.machine.outgoingRequests();
      if (requests.length === 0) return;
      for (const request of requests) await this.send(request);
    }
    throw new Error(`${this.user.userId}'s machine still has outgoing requests after 10 rounds`);
  }

  async send(request: Awaited<ReturnType<Machine['outgoingRequests']>>[number]): Promise<void> {
    const { RequestType } = lib;
    let response: ApiResponse;
    const body = JSON.parse(request.body) as unknown;
    if (request.type === RequestType.KeysUpload) response = await this.post('/_matrix/client/v3/keys/upload', body);
    else if (request.type === RequestType.KeysQuery) response = await this.post('/_matrix/client/v3/keys/query', body);
    else if (request.type === RequestType.KeysClaim) response = await this.post('/_matrix/client/v3/keys/claim', body);
    else if (request.type === RequestType.SignatureUpload) response = await this.post('/_matrix/client/v3/keys/signatures/upload', body);
    else if (request.type === RequestType.ToDevice && request instanceof lib.ToDeviceRequest) {
      const path = `/_matrix/client/v3/sendToDevice/${encodeURIComponent(request.event_type)}/${encodeURIComponent(request.txn_id)}`;
      response = await api(ts.url, 'PUT', path, { token: this.user.accessToken, body });
    } else {
      throw new Error(`unexpected outgoing request type ${request.type}`);
    }
    if (response.status !== 200) throw new Error(`request type ${request.type} failed: ${response.status} ${JSON.stringify(response.body)}`);
    this.sent.push(RequestType[request.type] ?? String(request.type));
    if (request.id !== undefined) await this.machine.markRequestAsSent(request.id, request.type, JSON.stringify(response.body));
  }

  /**
   * One sliding sync with the to_device and e2ee extensions, fed to the machine as a client does; returns the
   * decrypted to-device events and the e2ee extension as received.
   */
  async sync(): Promise<{ decrypted: Array<{ type: string; content: Record<string, unknown> }>; e2ee: Record<string, unknown>; received: unknown[] }> {
    const extensions = { to_device: { enabled: true, ...(this.since === undefined ? {} : { since: this.since }) }, e2ee: { enabled: true } };
    const response = await slidingSync(ts.url, this.user, { pos: this.pos, body: { conn_id: 'crypto', extensions } });
    if (response.status !== 200) throw new Error(`sync failed: ${JSON.stringify(response.body)}`);
    this.pos = response.body.pos;
    this.since = response.body.extensions.to_device.next_batch;
    const events = (response.body.extensions.to_device.events ?? []) as unknown[];
    const e2ee = response.body.extensions.e2ee as {
      device_one_time_keys_count: Record<string, number>;
      device_unused_fallback_key_types: string[];
      device_lists?: { changed: string[]; left: string[] };
    };
    const changed = (e2ee.device_lists?.changed ?? []).map((userId) => new lib.UserId(userId));
    const left = (e2ee.device_lists?.left ?? []).map((userId) => new lib.UserId(userId));
    const processed = await this.machine.receiveSyncChanges(
      JSON.stringify(events),
      new lib.DeviceLists(changed, left),
      new Map(Object.entries(e2ee.device_one_time_keys_count)),
      new Set(e2ee.device_unused_fallback_key_types),
    );
    const decrypted = (JSON.parse(processed) as unknown[]).map((event) => (typeof event === 'string' ? JSON.parse(event) : event)) as Array<{
      type: string;
      content: Record<string, unknown>;
    }>;
    return { decrypted, e2ee, received: events };
  }

  nextTxnId(): string {
    this.txn += 1;
    return `${this.user.deviceId}-${this.txn}`;
  }

  private post(path: string, body: unknown): Promise<ApiResponse> {
    return api(ts.url, 'POST', path, { token: this.user.accessToken, body });
  }
}

describe('interop: matrix-rust-sdk OlmMachine through todevice serve', () => {
  it('interop: B claims A’s keys, shares a room key over Olm, and A decrypts B’s Megolm message', async () => {
    const alice = await register(ts.url, 'ALICEDEV');
    const bob = await register(ts.url, 'BOBDEV');
    const roomId = await sharedRoom(ts.url, bob, [alice]);
    const a = await CryptoClient.create(alice);
    const b = await CryptoClient.create(bob);
    try {
      // B is connected (its first sync has a position) before A has any keys.
      await b.flush();
      await b.sync();

      // A uploads its device keys and one-time keys; the server's counts reach its machine, which then learns
      // that the server tracks fallback keys (the field is present) and uploads one.
      await a.flush();
      expect(a.sent).toEqual(['KeysUpload', 'KeysQuery']);
      const aFirst = await a.sync();
      const uploadedCount = (aFirst.e2ee.device_one_time_keys_count as Record<string, number>).signed_curve25519 ?? 0;
      expect(uploadedCount).toBeGreaterThan(0);
      expect(aFirst.e2ee.device_unused_fallback_key_types).toEqual([]);
      await a.flush();
      expect(a.sent.filter((type) => type === 'KeysUpload').length).toBe(2);
      expect((await a.sync()).e2ee.device_unused_fallback_key_types).toEqual(['signed_curve25519']);

      // B hears that A's device list changed, tracks A, queries and claims one of A's one-time keys.
      const bSecond = await b.sync();
      expect((bSecond.e2ee.device_lists as { changed: string[] }).changed).toContain(alice.userId);
      await b.machine.updateTrackedUsers([new lib.UserId(alice.userId)]);
      await b.flush();
      expect(b.sent).toContain('KeysQuery');
      const claim = await b.machine.getMissingSessions([new lib.UserId(alice.userId)]);
      expect(claim).toBeDefined();
      if (claim !== undefined) await b.send(claim);
      expect(b.sent).toContain('KeysClaim');

      // B shares a Megolm session with A (Olm-encrypted to-device) and sends an encrypted message.
      const toDevice = await b.machine.shareRoomKey(new lib.RoomId(roomId), [new lib.UserId(alice.userId)], new lib.EncryptionSettings());
      expect(toDevice.length).toBeGreaterThan(0);
      for (const request of toDevice) await b.send(request);
      const content = await b.machine.encryptRoomEvent(new lib.RoomId(roomId), 'm.room.message', JSON.stringify({ msgtype: 'm.text', body: 'hello Alice' }));
      const sentEvent = await api(ts.url, 'PUT', `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/send/m.room.encrypted/${b.nextTxnId()}`, {
        token: bob.accessToken,
        body: JSON.parse(content),
      });
      expect(sentEvent.status).toBe(200);

      // A learns B's device, then receives the Olm message through the to_device extension and decrypts it.
      await a.machine.updateTrackedUsers([new lib.UserId(bob.userId)]);
      await a.flush();
      const aSecond = await a.sync();
      expect(aSecond.received).toEqual([
        expect.objectContaining({ type: 'm.room.encrypted', sender: bob.userId, content: expect.objectContaining({ algorithm: 'm.olm.v1.curve25519-aes-sha2' }) }),
      ]);
      expect(aSecond.decrypted).toEqual([expect.objectContaining({ type: 'm.room_key', content: expect.objectContaining({ room_id: roomId }) })]);
      // B's claim took one of A's one-time keys, and the server said so.
      expect((aSecond.e2ee.device_one_time_keys_count as Record<string, number>).signed_curve25519).toBe(uploadedCount - 1);

      const event = await api(ts.url, 'GET', `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/event/${encodeURIComponent(sentEvent.body.event_id)}`, {
        token: alice.accessToken,
      });
      const decrypted = await a.machine.decryptRoomEvent(
        JSON.stringify(event.body),
        new lib.RoomId(roomId),
        new lib.DecryptionSettings(lib.TrustRequirement.Untrusted),
      );
      expect(JSON.parse(decrypted.event)).toMatchObject({ type: 'm.room.message', content: { msgtype: 'm.text', body: 'hello Alice' } });
      // A replenishes the claimed one-time key through the server.
      await a.flush();
      expect((await a.sync()).e2ee.device_one_time_keys_count).toEqual({ signed_curve25519: uploadedCount });
    } finally {
      a.machine.close();
      b.machine.close();
    }
  });
});
