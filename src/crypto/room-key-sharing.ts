/**
 * How a sender shares the Megolm key of each room message with the recipient device, behind one interface, so
 * the demo sender, the race harness and the bench change transport in one place (`ROOM_KEY_TRANSPORT`).
 *
 * Runtime: node. Two transports:
 * - `olm`: the real one. The sender is a matrix-rust-sdk `OlmMachine` (olm-machine-sender.ts) and the key travels
 *   as an Olm-encrypted `m.room_key`. Needs a recipient device that published its keys.
 * - `plaintext`: the key travels as an `org.todevice.room_key` to-device event (src/shared/room-key-protocol.ts),
 *   for receivers that cannot decrypt Olm yet.
 * Both give the same guarantees to the caller: the key is accepted by the server before the message is returned,
 * its delivery tag is `room-key:<session_id>` (src/shared/delivery-tag.ts), a withheld key sends nothing, and
 * every room message starts a new session by default.
 */
import { roomKeyTag } from '../shared/delivery-tag';
import type { Result } from '../shared/result';
import { err, ok } from '../shared/result';
import { ROOM_KEY_EVENT_TYPE } from '../shared/room-key-protocol';
import { OlmMachineSender, type OlmEncryptedRoomMessage, type OlmRecipient, type OlmSenderError, type OlmSenderOptions } from './olm-machine-sender';
import type { OlmRequestError } from './olm-request-loop';
import { RoomEncryptor } from './room-encryptor';

export type RoomKeyTransport = 'olm' | 'plaintext';

/** The transport every sender uses unless told otherwise. */
export const ROOM_KEY_TRANSPORT: RoomKeyTransport = 'olm';

export interface RoomKeySharing<E> {
  encryptRoomMessage(
    roomId: string,
    recipient: OlmRecipient,
    eventType: string,
    content: Record<string, unknown>,
    options?: { withholdKey?: boolean },
  ): Promise<Result<OlmEncryptedRoomMessage, OlmSenderError<E>>>;
  close(): void;
}

/** The sender for `transport`; the `olm` one publishes its device keys first. */
export async function createRoomKeySharing<E>(transport: RoomKeyTransport, options: OlmSenderOptions<E>): Promise<Result<RoomKeySharing<E>, OlmRequestError<E>>> {
  if (transport === 'olm') return OlmMachineSender.create(options);
  const encryptor = await RoomEncryptor.create({ userId: options.userId, deviceId: options.deviceId, ...(options.rotateEveryMessages === undefined ? {} : { rotateEveryMessages: options.rotateEveryMessages }) });
  return ok(new PlaintextRoomKeySharing(encryptor, options.transport));
}

class PlaintextRoomKeySharing<E> implements RoomKeySharing<E> {
  constructor(
    private readonly encryptor: RoomEncryptor,
    private readonly transport: OlmSenderOptions<E>['transport'],
  ) {}

  async encryptRoomMessage(
    roomId: string,
    recipient: OlmRecipient,
    eventType: string,
    content: Record<string, unknown>,
    options: { withholdKey?: boolean } = {},
  ): Promise<Result<OlmEncryptedRoomMessage, OlmSenderError<E>>> {
    const message = await this.encryptor.encrypt(roomId, eventType, content);
    let keyTag: string | null = null;
    if (message.newRoomKey !== undefined && options.withholdKey !== true) {
      keyTag = roomKeyTag(message.sessionId);
      const keyContent = { tag: keyTag, sent_at_ms: Date.now(), room_key: message.newRoomKey };
      // The session ID is unique, so it is a transaction ID a retry can reuse without doubling the key.
      const sent = await this.transport.sendToDevice(ROOM_KEY_EVENT_TYPE, keyTag, { [recipient.userId]: { [recipient.deviceId]: keyContent } });
      if (!sent.ok) return err({ kind: 'request-failed', request: `sendToDevice/${ROOM_KEY_EVENT_TYPE}`, error: sent.error });
    }
    return ok({ type: message.type, content: message.content, sessionId: message.sessionId, keyTag });
  }

  close(): void {
    this.encryptor.close();
  }
}
