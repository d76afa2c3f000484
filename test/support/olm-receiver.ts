// Test helper: a receiving todevice device with real Olm, over a real homeserver. Its keys are published with
// the existing core (ensureOlmAccount, publishKeys), its to-device events come from classic sync, the senders'
// device keys from /keys/query (saveQueriedDevices), and every encrypted event is decrypted by the commit's
// decryptor (decryptToDeviceBatch) over the opened store. Room messages decrypt with the room keys it received.
import type { MatrixClient } from '../../src/engine/matrix-client';
import { createMegolmDecryptor } from '../../src/crypto/megolm-decryptor';
import { decryptToDeviceBatch } from '../../src/crypto/olm-decrypt';
import { saveQueriedDevices } from '../../src/crypto/olm-device-keys';
import { ensureOlmAccount, publishKeys } from '../../src/crypto/olm-keys';
import type { OlmIdentity } from '../../src/crypto/olm-account';
import { loadOlm } from '../../src/crypto/olm-library';
import { PickleKey } from '../../src/crypto/pickle-key';
import { roomKeyFromOlmEvent } from '../../src/shared/olm-room-key';
import type { InboxEventInput, OlmStateStore } from '../../src/shared/olm-state';
import type { ExportedRoomKey } from '../../src/shared/room-key-protocol';
import type { RoomEvent } from '../../src/shared/wire';
import { openOlmState } from '../../src/store/olm-state';
import type { ClientStore } from '../../src/store/open-store';

export class OlmReceiver {
  private since: string | undefined;
  readonly roomKeys: ExportedRoomKey[] = [];

  private constructor(
    readonly client: MatrixClient,
    readonly userId: string,
    readonly deviceId: string,
    readonly state: OlmStateStore,
    readonly pickleKey: PickleKey,
    readonly identity: OlmIdentity,
  ) {}

  /** The device's account in `store`; its keys are published to the server unless `publish` is false. */
  static async create(client: MatrixClient, store: ClientStore, options: { publish?: boolean } = {}): Promise<OlmReceiver> {
    await loadOlm();
    const me = await client.whoami();
    if (!me.ok || me.value.deviceId === undefined) throw new Error('whoami failed');
    const state = openOlmState(store);
    const pickleKey = PickleKey.generate();
    const identity = ensureOlmAccount(state, pickleKey, { userId: me.value.userId, deviceId: me.value.deviceId }, Date.now());
    if (!identity.ok) throw new Error(identity.error.message);
    const receiver = new OlmReceiver(client, me.value.userId, me.value.deviceId, state, pickleKey, identity.value);
    if (options.publish !== false) await receiver.publish();
    return receiver;
  }

  async publish(): Promise<void> {
    const outcome = await publishKeys({ state: this.state, pickleKey: this.pickleKey, uploader: this.client, holder: 'test', nowMs: Date.now });
    if (outcome.kind !== 'published') throw new Error(`publishKeys: ${outcome.kind}`);
  }

  /**
   * Syncs until at least `count` to-device events arrived (bounded by `boundMs`), queries the keys of every sender
   * of an encrypted event, and decrypts them as the commit would; returns the rows.
   */
  async receive(count: number, boundMs = 10_000): Promise<InboxEventInput[]> {
    const events = [];
    const deadline = Date.now() + boundMs;
    while (events.length < count && Date.now() < deadline) {
      const batch = await this.client.classicSync({ ...(this.since === undefined ? {} : { since: this.since }), timeoutMs: 1000 });
      if (!batch.ok) throw new Error(`sync failed: ${JSON.stringify(batch.error)}`);
      this.since = batch.value.nextBatch;
      events.push(...batch.value.events);
    }
    const senders = [...new Set(events.filter((event) => event.type === 'm.room.encrypted').map((event) => event.sender))];
    if (senders.length > 0) {
      const queried = await this.client.queryKeys({ device_keys: Object.fromEntries(senders.map((sender) => [sender, []])) });
      if (!queried.ok) throw new Error(`keys/query failed: ${JSON.stringify(queried.error)}`);
      saveQueriedDevices(this.state, queried.value, this.identity, Date.now());
    }
    const rows = decryptToDeviceBatch({ state: this.state, pickleKey: this.pickleKey, identity: this.identity, nowMs: Date.now() }, events);
    for (const row of rows) {
      if (row.type !== 'm.room_key' || row.encryption === undefined) continue;
      const key = roomKeyFromOlmEvent(row.content, row.encryption);
      if (!key.ok) throw new Error(`room key: ${key.error}`);
      this.roomKeys.push(key.value);
    }
    return rows;
  }

  /** Syncs once with the last token, so the server deletes everything received so far. */
  async acknowledge(): Promise<void> {
    if (this.since === undefined) return;
    const batch = await this.client.classicSync({ since: this.since, timeoutMs: 0 });
    if (!batch.ok) throw new Error(`sync failed: ${JSON.stringify(batch.error)}`);
    this.since = batch.value.nextBatch;
  }

  /** Decrypts a Megolm room event with the room keys received so far. */
  async decryptRoomEvent(event: RoomEvent): Promise<unknown> {
    const decryptor = await createMegolmDecryptor('libolm', this.userId, this.deviceId);
    try {
      await decryptor.importKeys(this.roomKeys);
      return await decryptor.decrypt(event);
    } finally {
      decryptor.close();
    }
  }
}
