/**
 * The traffic generator: several sending devices, each sending uniquely tagged to-device messages in order,
 * and Megolm-encrypted room messages that trigger pushes, each preceded by the to-device message that shares its
 * session (every room message starts a new session, so one lost key makes exactly one message undecryptable).
 * Keys travel as an Olm-encrypted `m.room_key` from each sender's own matrix-rust-sdk `OlmMachine`
 * (src/crypto/olm-machine-sender.ts).
 *
 * Runtime: node. Guarantees the oracle relies on:
 * - each sender sends strictly one request at a time, so the homeserver receives its messages in send order
 *   (MSC3885 keeps order per sending device; "reordered" is measured against it);
 * - a message counts as sent only when the homeserver answered 200; a failed request is retried with the same
 *   transaction ID (`sendToDevice` is idempotent per txnId, so a retry never doubles a message), bounded; the
 *   senders' `/keys/*` requests are retried the same way;
 * - tags are `s<sender>-<n>` with n counting that sender's tagged to-device messages from 1, and
 *   `room-key:<session_id>` for a room key (src/shared/delivery-tag.ts); both are recorded in the sender's
 *   accepted order, which is the order the oracle checks;
 * - a room message goes out only after its key was accepted, so an undecryptable message always means a key
 *   the client lost, never one the sender failed to send;
 * - each room message carries the hashes of the Olm messages its key share sent (olm-oracle.ts matches them with
 *   the Olm messages the device could not decrypt). A sender's machine makes one request at a time, so every
 *   Olm to-device request during a share belongs to that share.
 */
import { describeOlmSenderError, OlmMachineSender } from '../crypto/olm-machine-sender';
import type { OlmRequestTransport } from '../crypto/olm-request-loop';
import type { MatrixClient, MatrixClientError } from '../engine/matrix-client';
import { DEMO_MESSAGE_TYPE } from '../shared/demo-protocol';
import { ENCRYPTED_TO_DEVICE_TYPE } from '../shared/olm-wire';
import type { Result } from '../shared/result';
import type { SendPlan } from './fault-schedule';
import { sentOlmMessageHashes } from './olm-oracle';
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
  /** Hashes of the Olm messages (to-device `m.room.encrypted`) the share of this message's key sent. */
  keyMessageHashes: string[];
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
  private readonly sharing: Array<Promise<OlmMachineSender<MatrixClientError> | undefined> | undefined>;
  /** Per sender, the hashes of the Olm messages its machine sent since its current share began. */
  private readonly olmSent: string[][];

  constructor(
    private readonly senders: readonly SendingDevice[],
    private readonly recipient: Recipient,
    private readonly roomId: string,
  ) {
    this.sent = { bySender: senders.map(() => []) };
    this.sequence = senders.map(() => 0);
    this.sharing = senders.map(() => undefined);
    this.olmSent = senders.map(() => []);
  }

  close(): void {
    for (const sharing of this.sharing) void sharing?.then((s) => s?.close());
  }

  /**
   * Makes each sender's device ready before the run, as real devices exist long before anyone sends: an Olm
   * sender publishes its keys here, so the receiver can learn its device (device list changes) before the first
   * key arrives. A sender that fails here tries again at its first room message.
   */
  async prepare(): Promise<void> {
    await Promise.all(
      this.senders.map(async (device, sender) => {
        this.sharing[sender] ??= this.keySharing(device, sender);
        if ((await this.sharing[sender]) === undefined) this.sharing[sender] = undefined;
      }),
    );
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
    this.sharing[sender] ??= this.keySharing(device, sender);
    const sharing = await this.sharing[sender];
    if (sharing === undefined) {
      this.sharing[sender] = undefined;
      return;
    }
    const olmSent: string[] = [];
    this.olmSent[sender] = olmSent;
    const message = await sharing.encryptRoomMessage(this.roomId, this.recipient, 'm.room.message', { msgtype: 'm.text', body: `push from s${sender}` });
    if (!message.ok) {
      this.note(`room key from s${sender}: ${describeOlmSenderError<MatrixClientError>(message.error, describe)}`);
      return;
    }
    if (message.value.keyTag !== null) {
      this.sent.bySender[sender]?.push(message.value.keyTag);
      this.sentCount += 1;
    }
    const txnId = `race-room-s${sender}-${this.roomEvents.length}-${Date.now()}`;
    const result = await retried(() => device.client.sendRoomEvent(this.roomId, message.value.type, txnId, message.value.content));
    if (!result.ok) this.note(`room message for session ${message.value.sessionId}: ${describe(result.error)}`);
    else this.roomEvents.push({ eventId: result.value.eventId, sessionId: message.value.sessionId, sender, keyMessageHashes: [...olmSent] });
  }

  /** The sender's key sharing (an OlmMachine publishes its keys here); undefined, with a note, when that failed. */
  private async keySharing(device: SendingDevice, sender: number): Promise<OlmMachineSender<MatrixClientError> | undefined> {
    const transport = recordingOlmSends(retryingTransport(device.client), (hashes) => this.olmSent[sender]?.push(...hashes));
    const made = await OlmMachineSender.create({ userId: device.userId, deviceId: device.deviceId, transport });
    if (made.ok) return made.value;
    this.note(`key sharing for ${device.deviceId}: ${describeOlmSenderError<MatrixClientError>(made.error, describe)}`);
    return undefined;
  }

  private note(line: string): void {
    if (this.failures.length < 20) this.failures.push(line);
  }
}

/** The client's `/keys/*` and to-device requests, each retried as the traffic's own sends are. */
function retryingTransport(client: MatrixClient): OlmRequestTransport<MatrixClientError> {
  return {
    keysRequest: (endpoint, body) => retried(() => client.keysRequest(endpoint, body)),
    sendToDevice: (eventType, txnId, messages) => retried(() => client.sendToDevice(eventType, txnId, messages)),
  };
}

/** `transport`, telling `record` the Olm message hashes of every `m.room.encrypted` to-device request it sends. */
function recordingOlmSends(transport: OlmRequestTransport<MatrixClientError>, record: (hashes: string[]) => void): OlmRequestTransport<MatrixClientError> {
  return {
    keysRequest: (endpoint, body) => transport.keysRequest(endpoint, body),
    sendToDevice: (eventType, txnId, messages) => {
      if (eventType === ENCRYPTED_TO_DEVICE_TYPE) {
        for (const byDevice of Object.values(messages)) for (const content of Object.values(byDevice)) record(sentOlmMessageHashes(content));
      }
      return transport.sendToDevice(eventType, txnId, messages);
    },
  };
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
