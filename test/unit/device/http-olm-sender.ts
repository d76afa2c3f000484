// Test helper: a libolm sender device that talks to a homeserver over HTTP the way a real sender does: it uploads
// its device keys, queries the receiver's device, claims one of its one-time keys, and sends Olm-encrypted
// m.room_key (and any other payload) to-device events. Megolm sessions are libolm OutboundGroupSessions, so the
// test can also make the room message a key unlocks.
import { verifyDeviceKeys } from '../../../src/crypto/olm-device-keys';
import { loadOlm, olm, type OlmOutboundGroupSession } from '../../../src/crypto/olm-library';
import type { OlmIdentity } from '../../../src/crypto/olm-account';
import type { MatrixClient } from '../../../src/engine/matrix-client';
import { MEGOLM_ALGORITHM_V1, OLM_ROOM_KEY_EVENT_TYPE } from '../../../src/shared/olm-wire';
import type { RoomEvent } from '../../../src/shared/wire';
import { LibolmPeer } from '../crypto/olm-fixture';

export interface MegolmSession {
  roomId: string;
  sessionId: string;
  outbound: OlmOutboundGroupSession;
}

export class HttpOlmSender {
  private txn = 0;
  private recipient: OlmIdentity | undefined;

  private constructor(
    readonly client: MatrixClient,
    readonly peer: LibolmPeer,
  ) {}

  /** Uploads the sender's device keys (signed) so the receiver's `/keys/query` finds them. */
  static async create(client: MatrixClient, userId: string, deviceId: string): Promise<HttpOlmSender> {
    await loadOlm();
    const peer = new LibolmPeer(userId, deviceId);
    const uploaded = await client.uploadKeys({ device_keys: peer.deviceKeys() as never });
    if (!uploaded.ok) throw new Error(`sender keys/upload failed: ${JSON.stringify(uploaded.error)}`);
    return new HttpOlmSender(client, peer);
  }

  /** Uploads `count` signed one-time keys of the sender, so the receiver can claim one (to send it an m.dummy). */
  async uploadOneTimeKeys(count: number): Promise<void> {
    const signed = this.peer.claimAnswer(count).one_time_keys[this.peer.userId]?.[this.peer.deviceId] ?? {};
    const uploaded = await this.client.uploadKeys({ one_time_keys: signed as never });
    if (!uploaded.ok) throw new Error(`sender one-time keys upload failed: ${JSON.stringify(uploaded.error)}`);
  }

  /** Queries the receiver's device and claims one of its one-time keys: the Olm session every message then uses. */
  async startSession(userId: string, deviceId: string): Promise<OlmIdentity> {
    const query = await this.client.queryKeys({ device_keys: { [userId]: [deviceId] } });
    if (!query.ok) throw new Error(`keys/query failed: ${JSON.stringify(query.error)}`);
    const verified = verifyDeviceKeys(userId, deviceId, query.value.device_keys[userId]?.[deviceId]);
    if (!verified.ok) throw new Error(`the receiver's device keys: ${verified.error}`);
    const claim = await this.client.claimKeys({ one_time_keys: { [userId]: { [deviceId]: 'signed_curve25519' } } });
    if (!claim.ok) throw new Error(`keys/claim failed: ${JSON.stringify(claim.error)}`);
    const identity = { userId, deviceId, ...verified.value };
    this.peer.startSession(identity, claim.value);
    this.recipient = identity;
    return identity;
  }

  /** Sends one Olm-encrypted to-device event of `type` to the receiver. */
  async send(type: string, content: Record<string, unknown>): Promise<void> {
    const recipient = this.recipient;
    if (recipient === undefined) throw new Error('startSession first');
    const event = this.peer.encrypt(recipient, type, content);
    this.txn += 1;
    const sent = await this.client.sendToDevice('m.room.encrypted', `olm-${this.peer.deviceId}-${this.txn}`, {
      [recipient.userId]: { [recipient.deviceId]: event.content },
    });
    if (!sent.ok) throw new Error(`sendToDevice failed: ${JSON.stringify(sent.error)}`);
  }

  /** A new Megolm session for `roomId`, its key shared with the receiver as an Olm-encrypted m.room_key. */
  async shareRoomKey(roomId: string): Promise<MegolmSession> {
    const outbound = new (olm().OutboundGroupSession)();
    outbound.create();
    await this.send(OLM_ROOM_KEY_EVENT_TYPE, { algorithm: MEGOLM_ALGORITHM_V1, room_id: roomId, session_id: outbound.session_id(), session_key: outbound.session_key() });
    return { roomId, sessionId: outbound.session_id(), outbound };
  }

  /** A Megolm room event of `session` (as `/messages` would return it). */
  megolmEvent(session: MegolmSession, body: string, eventId: string): RoomEvent {
    const ciphertext = session.outbound.encrypt(JSON.stringify({ type: 'm.room.message', content: { body }, room_id: session.roomId }));
    return {
      event_id: eventId,
      room_id: session.roomId,
      type: 'm.room.encrypted',
      sender: this.peer.userId,
      origin_server_ts: 1,
      content: { algorithm: MEGOLM_ALGORITHM_V1, sender_key: this.peer.curve25519, ciphertext, session_id: session.sessionId, device_id: this.peer.deviceId },
    };
  }

  free(): void {
    this.peer.free();
  }
}
