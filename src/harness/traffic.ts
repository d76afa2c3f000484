/**
 * The traffic generator: several sending devices, each sending uniquely tagged to-device messages in order,
 * and Megolm-encrypted room messages that trigger pushes, each preceded by the `org.todevice.room_key`
 * to-device message that shares its session (every room message starts a new session, so one lost key makes
 * exactly one message undecryptable).
 *
 * Runtime: node. Guarantees the oracle relies on:
 * - each sender sends strictly one request at a time, so the homeserver receives its messages in send order
 *   (MSC3885 keeps order per sending device; "reordered" is measured against it);
 * - a message counts as sent only when the homeserver answered 200; a failed request is retried with the same
 *   transaction ID (`sendToDevice` is idempotent per txnId, so a retry never doubles a message), bounded;
 * - tags are `s<sender>-<n>` with n counting that sender's to-device messages from 1 (oracle.ts); room keys are
 *   to-device messages like any other and are counted the same way;
 * - a room message goes out only after its key was accepted, so an undecryptable message always means a key
 *   the client lost, never one the sender failed to send.
 */
import { RoomEncryptor } from '../crypto/room-encryptor';
import type { MatrixClient, MatrixClientError } from '../engine/matrix-client';
import { DEMO_MESSAGE_TYPE } from '../shared/demo-protocol';
import type { Result } from '../shared/result';
import { ROOM_KEY_EVENT_TYPE } from '../shared/room-key-protocol';
import type { SendPlan } from './fault-schedule';
import { senderTag, type SentLog } from './oracle';

const maxSendAttempts = 8;
const retryDelayMs = 50;

export interface SendingDevice {
  client: MatrixClient;
  userId: string;
  deviceId: string;
}

/** A room message the homeserver accepted, with the session whose key was shared for it. */
export interface SentRoomEvent {
  eventId: string;
  sessionId: string;
  sender: number;
}

export interface Recipient {
  userId: string;
  deviceId: string;
}

export class Traffic {
  readonly sent: SentLog;
  sentCount = 0;
  readonly roomEvents: SentRoomEvent[] = [];
  failures: string[] = [];
  private readonly sequence: number[];
  private readonly encryptors: Array<Promise<RoomEncryptor> | undefined>;

  constructor(
    private readonly senders: readonly SendingDevice[],
    private readonly recipient: Recipient,
    private readonly roomId: string,
  ) {
    this.sent = { bySender: senders.map(() => []) };
    this.sequence = senders.map(() => 0);
    this.encryptors = senders.map(() => undefined);
  }

  close(): void {
    for (const encryptor of this.encryptors) void encryptor?.then((e) => e.close());
  }

  /** Plays the plan from `startMs` (a Date.now() value); each sender runs its own entries in order. */
  async play(plan: readonly SendPlan[], startMs: number, signal: AbortSignal): Promise<void> {
    await Promise.all(
      this.senders.map(async (_, sender) => {
        const mine = plan.filter((entry) => entry.sender === sender);
        for (const entry of mine) {
          if (signal.aborted) return;
          const waitMs = startMs + entry.atMs - Date.now();
          if (waitMs > 0) await new Promise((resolve) => setTimeout(resolve, waitMs));
          await (entry.kind === 'room' ? this.sendRoomMessage(sender) : this.sendToDevice(sender, DEMO_MESSAGE_TYPE, {}));
        }
      }),
    );
  }

  private async sendToDevice(sender: number, type: string, extra: Record<string, unknown>): Promise<string | undefined> {
    const device = this.senders[sender];
    if (device === undefined) throw new Error(`no sender ${sender}`);
    this.sequence[sender] = (this.sequence[sender] ?? 0) + 1;
    const tag = senderTag(sender, this.sequence[sender] ?? 0);
    const content = { tag, sent_at_ms: Date.now(), ...extra };
    const messages = { [this.recipient.userId]: { [this.recipient.deviceId]: content } };
    const result = await retried(() => device.client.sendToDevice(type, `race-${tag}`, messages));
    if (!result.ok) {
      this.note(`sendToDevice ${tag}: ${describe(result.error)}`);
      return undefined;
    }
    this.sent.bySender[sender]?.push(tag);
    this.sentCount += 1;
    return tag;
  }

  /** The room key first (as clients send `m.room_key` before the messages it unlocks), then the message. */
  private async sendRoomMessage(sender: number): Promise<void> {
    const device = this.senders[sender];
    if (device === undefined) throw new Error(`no sender ${sender}`);
    this.encryptors[sender] ??= RoomEncryptor.create({ userId: device.userId, deviceId: device.deviceId });
    const encryptor = await this.encryptors[sender];
    const message = await encryptor.encrypt(this.roomId, 'm.room.message', { msgtype: 'm.text', body: `push from s${sender}` });
    if (message.newRoomKey !== undefined) {
      const keyTag = await this.sendToDevice(sender, ROOM_KEY_EVENT_TYPE, { room_key: message.newRoomKey });
      if (keyTag === undefined) return;
    }
    const txnId = `race-room-s${sender}-${this.roomEvents.length}-${Date.now()}`;
    const result = await retried(() => device.client.sendRoomEvent(this.roomId, message.type, txnId, message.content));
    if (!result.ok) this.note(`room message for session ${message.sessionId}: ${describe(result.error)}`);
    else this.roomEvents.push({ eventId: result.value.eventId, sessionId: message.sessionId, sender });
  }

  private note(line: string): void {
    if (this.failures.length < 20) this.failures.push(line);
  }
}

async function retried<T>(send: () => Promise<Result<T, MatrixClientError>>): Promise<Result<T, MatrixClientError>> {
  let result = await send();
  for (let attempt = 1; attempt < maxSendAttempts && !result.ok; attempt += 1) {
    await new Promise((resolve) => setTimeout(resolve, retryDelayMs * attempt));
    result = await send();
  }
  return result;
}

function describe(error: MatrixClientError): string {
  return error.kind === 'http' ? `${error.status} ${error.errcode ?? ''}` : error.kind;
}
