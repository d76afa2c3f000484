/**
 * What the demo sender sends: uniquely tagged to-device messages, and Megolm-encrypted room messages, each
 * preceded by the to-device event that shares its room key.
 *
 * Runtime: node. Sends are sequential, so per-sender order on the server is the order here, and each uses a
 * fresh transaction ID (`sendToDevice` is idempotent per txnId, so a retried request would not duplicate).
 * Every room message starts a new Megolm session (rotation 1), so one lost key costs exactly one message and
 * the dashboard's counts map one to one; `withholdKey` skips sending the key, to show the harm on purpose.
 */
import { randomUUID } from 'node:crypto';
import { RoomEncryptor } from '../../crypto/room-encryptor';
import type { MatrixClient, MatrixClientError } from '../../engine/matrix-client';
import { DEMO_MESSAGE_TYPE } from '../../shared/demo-protocol';
import type { Result } from '../../shared/result';
import { err, ok } from '../../shared/result';
import { ROOM_KEY_EVENT_TYPE } from '../../shared/room-key-protocol';

export interface Recipient {
  userId: string;
  deviceId: string;
}

export interface SentRoomMessage {
  eventId: string;
  sessionId: string;
  /** The tag of the key-sharing to-device message; null when the key was withheld. */
  keyTag: string | null;
}

export class DemoTraffic {
  private sequence = 0;
  private roomSequence = 0;
  private encryptor: Promise<Result<RoomEncryptor, MatrixClientError>> | undefined;
  readonly runId = randomUUID().slice(0, 8);

  constructor(
    private readonly sender: MatrixClient,
    private readonly recipient: Recipient,
  ) {}

  /** Sends `count` tagged messages in order; stops at the first failure and says how many went out. */
  async sendToDevice(count: number): Promise<Result<{ sent: number }, MatrixClientError & { sent: number }>> {
    for (let i = 0; i < count; i += 1) {
      const sent = await this.sendOne(DEMO_MESSAGE_TYPE, {});
      if (!sent.ok) return err({ ...sent.error, sent: i });
    }
    return ok({ sent: count });
  }

  /**
   * Encrypts `text` for the room, sends its room key by to-device (unless withheld), then the `m.room.encrypted`
   * event; the homeserver pushes the latter.
   */
  async sendRoomMessage(roomId: string, text: string, options: { withholdKey?: boolean } = {}): Promise<Result<SentRoomMessage, MatrixClientError>> {
    const encryptor = await this.roomEncryptor();
    if (!encryptor.ok) return encryptor;
    const message = await encryptor.value.encrypt(roomId, 'm.room.message', { msgtype: 'm.text', body: text });
    let keyTag: string | null = null;
    if (message.newRoomKey !== undefined && options.withholdKey !== true) {
      const shared = await this.sendOne(ROOM_KEY_EVENT_TYPE, { room_key: message.newRoomKey });
      if (!shared.ok) return shared;
      keyTag = shared.value.tag;
    }
    this.roomSequence += 1;
    const sent = await this.sender.sendRoomEvent(roomId, message.type, `demo-${this.runId}-room-${this.roomSequence}`, message.content);
    return sent.ok ? ok({ eventId: sent.value.eventId, sessionId: message.sessionId, keyTag }) : sent;
  }

  close(): void {
    void this.encryptor?.then((encryptor) => encryptor.ok && encryptor.value.close());
  }

  /** The sender's encryptor, made once (its Megolm identity is the sender's user and device). */
  private async roomEncryptor(): Promise<Result<RoomEncryptor, MatrixClientError>> {
    this.encryptor ??= (async () => {
      const me = await this.sender.whoami();
      if (!me.ok) return me;
      return ok(await RoomEncryptor.create({ userId: me.value.userId, deviceId: me.value.deviceId ?? 'DEMO_SENDER' }));
    })();
    const encryptor = await this.encryptor;
    if (!encryptor.ok) this.encryptor = undefined;
    return encryptor;
  }

  private async sendOne(type: string, extra: Record<string, unknown>): Promise<Result<{ tag: string }, MatrixClientError>> {
    this.sequence += 1;
    const tag = `${this.runId}-${this.sequence}`;
    const content = { tag, sent_at_ms: Date.now(), ...extra };
    const result = await this.sender.sendToDevice(type, `demo-${tag}`, { [this.recipient.userId]: { [this.recipient.deviceId]: content } });
    return result.ok ? ok({ tag }) : result;
  }
}
